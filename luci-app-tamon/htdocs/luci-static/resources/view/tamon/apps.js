'use strict';
'require view';
'require tamon.api as api';
'require tamon.chart as chart';
'require tamon.table as table';

/* Apps: which applications each device used, and when. */

return view.extend({
	load() {
		return api.info();
	},

	render() {
		const t = table.create({
			kind: 'app',
			columns: [
				{ title: _('Start'), render: (r) => api.dateTime(r.start_ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Application'), render: (r) => E('strong', {}, [r.app]) },
				{ title: _('Main host'), render: (r) => table.text(r.host, 40) },
				{ title: _('Duration'), right: true, render: (r) => api.duration(r.end_ts - r.start_ts) },
				{ title: _('Sessions'), right: true, render: (r) => String(r.sessions) },
				{ title: _('Traffic'), right: true, render: (r) => api.bytes(r.bytes) }
			]
		});
		const box = E('div', { 'class': 'tamon-card', 'id': 'tamon-apps-top' }, [E('em', {}, [_('Loading…')])]);
		let range = '24h';
		/* Sessions no signature matched have the empty key: left out. */
		const draw = () => api.get('top', { by: 'app', metric: 'bytes', n: 11, from: table.rangeFrom(range) }).then((res) => {
			const rows = (res.rows || []).filter((r) => r.key !== '').slice(0, 10);
			box.replaceChildren(chart.bars(rows.map((r) => ({ label: r.label || r.key, value: r.bytes })), { format: api.bytes, empty: _('No application traffic in this time range.'), width: 640 }));
		}).catch((e) => box.replaceChildren(api.errorBox(e)));
		draw();
		return E([], [
			E('h2', {}, [_('Applications')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Applications are recognised from the signatures in the features file. A usage period ends when the device has not used the application for the app timeout.')]),
			E('h3', {}, [_('Top applications by traffic'), ' ', table.rangeSelect(range, (v) => { range = v; draw(); }, 'tamon-apps-range')]),
			box,
			E('h3', {}, [_('Usage periods')]),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
