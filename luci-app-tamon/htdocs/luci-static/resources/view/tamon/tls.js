'use strict';
'require view';
'require tamon.api as api';
'require tamon.table as table';

/* TLS: handshakes over TCP and QUIC with SNI and client fingerprints. */

return view.extend({
	load() {
		return Promise.all([api.info(), table.loadSettings()]);
	},

	render() {
		const t = table.create({
			kind: 'tls',
			columns: [
				{ title: _('Time'), render: (r) => api.dateTime(r.ts) },
				{ title: _('Device'), render: (r, d) => table.deviceLink(d, r.client_mac) },
				{ title: _('Server name (SNI)'), render: (r) => [table.text(r.sni, 40), r.ech ? E('span', { 'class': 'tamon-badge', 'title': _('Encrypted Client Hello: the real name is hidden, this is the public one') }, ['ECH']) : ''] },
				{ title: _('Server'), render: (r) => api.endpoint(r.server_ip, r.server_port) },
				{ title: _('Transport'), render: (r) => (r.transport || 'tcp').toUpperCase() },
				{ title: _('Version'), render: (r) => table.text(r.version) },
				{ title: _('ALPN'), render: (r) => table.text(r.alpn, 20) },
				{ title: _('Fingerprint (JA4 / JA3)'), render: (r) => E('div', { 'class': 'tamon-fp' }, [
					E('code', { 'title': 'JA4' }, [r.ja4 || '—']),
					E('br'),
					E('code', { 'class': 'tamon-muted', 'title': 'JA3' }, [r.ja3 || '—'])
				]) }
			]
		});
		return E([], [
			E('h2', {}, [_('TLS handshakes')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Encrypted connections: the server name the device asked for and the fingerprint of its TLS client. JA4 is shown first: it stays the same when a browser shuffles its extensions, JA3 does not.')]),
			table.dissectNotice(),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
