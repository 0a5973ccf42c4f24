'use strict';
'require view';
'require tamon.api as api';
'require tamon.table as table';

/* DNS: queries of the LAN devices with their answers. */

return view.extend({
	load() {
		return api.info();
	},

	render() {
		const t = table.create({
			kind: 'dns',
			columns: [
				{ title: _('Time'), render: (r) => api.dateTime(r.ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Client'), render: (r) => r.client_ip },
				{ title: _('Query'), render: (r) => table.text(r.query, 60) },
				{ title: _('Type'), render: (r) => r.qtype },
				{ title: _('Result'), render: (r) => r.rcode ? r.rcode : E('em', {}, [_('no answer')]) },
				{ title: _('Answers'), render: (r) => table.text((r.answers || []).map((a) => a.data).join(', '), 80) },
				{ title: _('Server'), render: (r) => r.server_ip },
				{ title: _('Response time'), right: true, render: (r) => (r.rtt_ms >= 0) ? r.rtt_ms + ' ms' : '' }
			]
		});
		return E([], [
			E('h2', {}, [_('DNS queries')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Name lookups of the LAN devices, each paired with its answer.')]),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
