'use strict';
'require view';
'require tamon.api as api';
'require tamon.table as table';

/* HTTP: plain-text web requests with their responses. */

return view.extend({
	load() {
		return Promise.all([api.info(), table.loadSettings()]);
	},

	render() {
		const t = table.create({
			kind: 'http',
			columns: [
				{ title: _('Time'), render: (r) => api.dateTime(r.ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Method'), render: (r) => r.method },
				{ title: _('Host'), render: (r) => table.text(r.host, 40) },
				{ title: _('Path'), render: (r) => table.text(r.uri, 60) },
				{ title: _('Status'), right: true, render: (r) => r.status ? String(r.status) : E('em', {}, [_('no response')]) },
				{ title: _('Content type'), render: (r) => table.text(r.content_type, 30) },
				{ title: _('User agent'), render: (r) => table.text(r.user_agent, 40) },
				{ title: _('Server'), render: (r) => api.endpoint(r.server_ip, r.server_port) }
			]
		});
		return E([], [
			E('h2', {}, [_('HTTP requests')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Unencrypted web requests: method, host, path and the server\'s answer.')]),
			table.dissectNotice(),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
