'use strict';
'require view';
'require ui';
'require tamon.api as api';
'require tamon.chart as chart';
'require tamon.table as table';

/* Sessions: TCP and UDP conversations, each with its packet timeline. */

function endReason(r) {
	switch (r) {
	case 'fin': return _('closed');
	case 'rst': return _('reset');
	case 'timeout': return _('idle timeout');
	case 'evicted': return _('evicted');
	case 'eof': return _('end of capture');
	case 'shutdown': return _('shutdown');
	case '': return _('open');
	}
	return r;
}

function showTimeline(row) {
	const tl = row.timeline || [];
	const big = chart.timeline(tl, { width: 640, height: 120 });
	const list = E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, [
			E('th', { 'class': 'th right' }, [_('Time')]), E('th', { 'class': 'th' }, [_('Direction')]),
			E('th', { 'class': 'th right' }, [_('IP length')]), E('th', { 'class': 'th' }, [_('TCP flags')])
		])
	].concat(tl.map((s) => E('tr', { 'class': 'tr' }, [
		E('td', { 'class': 'td right' }, ['+' + s[0] + ' ms']),
		E('td', { 'class': 'td' }, [s[1] === 1 ? _('client → server') : _('server → client')]),
		E('td', { 'class': 'td right' }, [s[2] + ' B']),
		E('td', { 'class': 'td' }, [chart.flagNames(s[3])])
	]))));
	ui.showModal(_('Packet timeline'), [
		E('p', { 'class': 'tamon-data' }, [row.proto.toUpperCase() + ' ' + api.endpoint(row.client_ip, row.client_port) + ' → ' + api.endpoint(row.server_ip, row.server_port) + (row.host ? ' (' + row.host + ')' : '')]),
		E('p', { 'class': 'tamon-legend' }, [
			E('span', {}, [E('i', { 'class': 'tamon-pkt-up' }), ' ', _('client → server')]),
			E('span', {}, [E('i', { 'class': 'tamon-pkt-down' }), ' ', _('server → client')]),
			E('span', {}, [E('i', { 'class': 'tamon-pkt-syn' }), ' SYN']),
			E('span', {}, [E('i', { 'class': 'tamon-pkt-fin' }), ' FIN']),
			E('span', {}, [E('i', { 'class': 'tamon-pkt-rst' }), ' RST'])
		]),
		big,
		E('div', { 'class': 'tamon-scroll' }, [list]),
		E('div', { 'class': 'right' }, [E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, [_('Close')])])
	]);
}

return view.extend({
	load() {
		return api.info();
	},

	render() {
		const t = table.create({
			kind: 'session',
			columns: [
				{ title: _('Start'), render: (r) => api.dateTime(r.start_ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Protocol'), render: (r) => r.proto.toUpperCase() },
				{ title: _('Client'), render: (r) => api.endpoint(r.client_ip, r.client_port) },
				{ title: _('Server'), render: (r) => api.endpoint(r.server_ip, r.server_port) },
				{ title: _('Host'), render: (r) => table.text(r.host, 40) },
				{ title: _('Application'), render: (r) => table.text(r.app) },
				{ title: _('Duration'), right: true, render: (r) => api.duration(r.end_ts - r.start_ts) },
				{ title: _('Sent'), right: true, render: (r) => E('span', { 'title': _('%d packets').format(r.pkts_up) }, [api.bytes(r.bytes_up)]) },
				{ title: _('Received'), right: true, render: (r) => E('span', { 'title': _('%d packets').format(r.pkts_down) }, [api.bytes(r.bytes_down)]) },
				{ title: _('End'), render: (r) => endReason(r.end_reason) },
				{ title: _('Timeline'), render: (r) => E('a', { 'href': '#', 'class': 'tamon-tl-link', 'title': _('Show the packet timeline'), 'click': (ev) => { ev.preventDefault(); showTimeline(r); } }, [chart.timeline(r.timeline, { titles: false })]) }
			]
		});
		return E([], [
			E('h2', {}, [_('Sessions')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('TCP and UDP conversations of the LAN devices. The timeline shows the first packets of each: up from the device, down to it, taller for bigger packets; SYN green, FIN blue, RST red.')]),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
