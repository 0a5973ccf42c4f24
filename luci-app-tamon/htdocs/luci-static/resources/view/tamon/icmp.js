'use strict';
'require view';
'require tamon.api as api';
'require tamon.table as table';

/* ICMP: pings with their round-trip time, errors with the packet they quote. */

function typeName(family, type, code) {
	const v4 = {
		0: _('Echo reply'), 3: _('Destination unreachable'), 4: _('Source quench'), 5: _('Redirect'),
		8: _('Echo request'), 11: _('Time exceeded'), 12: _('Parameter problem'), 13: _('Timestamp request'), 14: _('Timestamp reply')
	};
	const v6 = {
		1: _('Destination unreachable'), 2: _('Packet too big'), 3: _('Time exceeded'), 4: _('Parameter problem'),
		128: _('Echo request'), 129: _('Echo reply'), 133: _('Router solicitation'), 134: _('Router advertisement'),
		135: _('Neighbor solicitation'), 136: _('Neighbor advertisement'), 143: _('Multicast listener report')
	};
	const n = (family === 6 ? v6 : v4)[type];
	const base = n || _('Type %d').format(type);
	return code ? base + ' (' + _('code %d').format(code) + ')' : base;
}

return view.extend({
	load() {
		return Promise.all([api.info(), table.loadSettings()]);
	},

	render() {
		const t = table.create({
			kind: 'icmp',
			columns: [
				{ title: _('Time'), render: (r) => api.dateTime(r.ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Family'), render: (r) => 'IPv' + r.family },
				{ title: _('Source'), render: (r) => r.src_ip },
				{ title: _('Destination'), render: (r) => r.dst_ip },
				{ title: _('Message'), render: (r) => typeName(r.family, r.icmp_type, r.icmp_code) },
				{ title: _('Echo ID / sequence'), render: (r) => (r.echo_id || r.echo_seq) ? r.echo_id + ' / ' + r.echo_seq : '' },
				{ title: _('Round trip'), right: true, render: (r) => (r.rtt_ms >= 0) ? r.rtt_ms + ' ms' : '' },
				{ title: _('Quoted packet'), render: (r) => table.text(r.quoted, 50) }
			]
		});
		return E([], [
			E('h2', {}, [_('ICMP messages')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Pings with their round-trip time, and error messages with the packet they refer to.')]),
			table.dissectNotice(),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
