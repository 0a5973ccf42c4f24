'use strict';
'require view';
'require tamon.api as api';
'require tamon.chart as chart';
'require tamon.table as table';

/* Device: one device's details, traffic, applications, visited sites per day and sessions. */

function simpleTable(id, heads, rows, empty) {
	const t = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, heads.map((h) => E('th', { 'class': 'th' + (h[1] ? ' right' : '') }, [h[0]])))
	]);
	rows.forEach((r, i) => t.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) + (r.cls ? ' ' + r.cls : '') },
		r.cells.map((c, j) => E('td', { 'class': 'td' + (heads[j] && heads[j][1] ? ' right' : ''), 'colspan': r.span || null }, [c])))));
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': heads.length }, [E('em', {}, [empty])])]));
	return t;
}

return view.extend({
	load() {
		const mac = (new URLSearchParams(window.location.search).get('mac') || '').toLowerCase();
		return api.info().then(() => {
			if (!mac || api.problem())
				return { mac: mac };
			const day = 86400000;
			return Promise.all([
				api.list('device', { mac: mac, from: 0, limit: 1 }),
				api.get('devices/' + encodeURIComponent(mac) + '/history', { from: Date.now() - 7 * day, limit: 200 }),
				api.list('app', { mac: mac, from: Date.now() - 7 * day, limit: 100 }),
				api.list('session', { mac: mac, from: 0, limit: 20 })
			]).then((r) => ({ mac: mac, device: r[0].rows[0], history: r[1].rows || [], apps: r[2].rows, sessions: r[3].rows }))
				.catch((e) => ({ mac: mac, error: e }));
		});
	},

	render(data) {
		const back = E('p', {}, [E('a', { 'href': L.url('admin', 'status', 'tamon', 'devices') }, ['« ' + _('All devices')])]);
		if (!data.mac)
			return E([], [E('h2', {}, [_('Device')]), back, E('p', {}, [_('No device was chosen.')])]);
		const problem = data.error || api.problem();
		if (problem)
			return E([], [E('h2', {}, [_('Device')]), back, api.errorBox(problem)]);
		const d = data.device || { mac: data.mac };
		const name = api.deviceName(d, d.mac);

		const info = simpleTable('tamon-device-info', [[_('Property')], [_('Value')]], [
			{ cells: [_('MAC address'), E('code', {}, [d.mac])] },
			{ cells: [_('Name'), table.text(d.alias)] },
			{ cells: [_('Host name'), table.text(d.hostname)] },
			{ cells: [_('Vendor'), table.text(d.vendor)] },
			{ cells: [_('System'), table.text(d.os)] },
			{ cells: [_('IPv4 addresses'), table.text((d.ipv4 || []).join(', '))] },
			{ cells: [_('IPv6 addresses'), table.text((d.ipv6 || []).join(', '))] },
			{ cells: [_('Randomized MAC'), d.randomized ? _('yes') : _('no')] },
			{ cells: [_('First seen'), api.dateTime(d.first_seen)] },
			{ cells: [_('Last seen'), api.dateTime(d.last_seen)] },
			{ cells: [_('Traffic'), '↑ ' + api.bytes(d.bytes_up) + '  ↓ ' + api.bytes(d.bytes_down)] }
		], '');

		const chartBox = E('div', { 'class': 'tamon-card', 'id': 'tamon-device-chart' }, [E('em', {}, [_('Loading…')])]);
		const from = Math.max(d.first_seen || 0, (d.last_seen || Date.now()) - 86400000);
		const to = Math.max(d.last_seen || Date.now(), from + 60000);
		const step = Math.max(60000, Math.ceil((to - from) / 120 / 60000) * 60000);
		api.get('series', { by: 'device', key: d.mac, from: from, to: to, step: Math.round(step / 1000) + 's' }).then((res) => {
			const s = (res.series || [])[0];
			const pts = s ? s.points : [];
			const per = (res.step_ms || step) / 1000;
			const series = [
				{ label: _('Sent'), points: pts.map((p) => [p[0], p[1] * 8 / per]), fill: true },
				{ label: _('Received'), points: pts.map((p) => [p[0], p[2] * 8 / per]), fill: true }
			];
			chartBox.replaceChildren(chart.line(series, { yFormat: api.bps, minY: 1000, xFormat: api.time.bind(api), empty: _('No traffic in this time range.') }), chart.legend(series));
		}).catch((e) => chartBox.replaceChildren(api.errorBox(e)));

		const apps = {};
		data.apps.forEach((a) => {
			const x = apps[a.app] = apps[a.app] || { app: a.app, bytes: 0, sessions: 0, last: 0, time: 0 };
			x.bytes += a.bytes;
			x.sessions += a.sessions;
			x.time += a.end_ts - a.start_ts;
			x.last = Math.max(x.last, a.end_ts);
		});
		const appRows = Object.keys(apps).map((k) => apps[k]).sort((a, b) => b.bytes - a.bytes);

		const histRows = [];
		let day = null;
		data.history.forEach((h) => {
			if (h.day !== day) {
				day = h.day;
				histRows.push({ cls: 'tamon-day', span: 5, cells: [E('strong', {}, [h.day])] });
			}
			histRows.push({ cells: [table.text(h.name, 60), api.time(h.first_seen), api.time(h.last_seen), String(h.sessions), api.bytes(h.bytes)] });
		});

		const sessRows = data.sessions.map((r) => ({ cells: [
			api.dateTime(r.start_ts), r.proto.toUpperCase(), api.endpoint(r.server_ip, r.server_port), table.text(r.host, 40),
			api.bytes(r.bytes_up + r.bytes_down), chart.timeline(r.timeline)
		] }));

		return E([], [
			E('h2', {}, [_('Device'), ': ', E('span', { 'class': 'tamon-data', 'id': 'tamon-device-name' }, [name])]),
			back,
			E('div', { 'class': 'tamon-grid2' }, [
				E('div', {}, [E('h3', {}, [_('Details')]), info]),
				E('div', {}, [E('h3', {}, [_('Traffic (last 24 hours seen)')]), chartBox])
			]),
			E('h3', {}, [_('Applications (last 7 days)')]),
			simpleTable('tamon-device-apps', [[_('Application')], [_('Sessions'), true], [_('Time used'), true], [_('Traffic'), true], [_('Last used')]],
				appRows.map((a) => ({ cells: [a.app, String(a.sessions), api.duration(a.time), api.bytes(a.bytes), api.dateTime(a.last)] })), _('No application recognised.')),
			E('h3', {}, [_('Visited sites per day (last 7 days)')]),
			simpleTable('tamon-device-history', [[_('Site')], [_('First')], [_('Last')], [_('Sessions'), true], [_('Traffic'), true]], histRows, _('No visits recorded.')),
			E('h3', {}, [_('Recent sessions'), ' ', E('a', { 'class': 'tamon-small', 'href': L.url('admin', 'status', 'tamon', 'sessions') + '?mac=' + encodeURIComponent(d.mac) + '&range=all' }, [_('all sessions »')])]),
			simpleTable('tamon-device-sessions', [[_('Start')], [_('Protocol')], [_('Server')], [_('Host')], [_('Traffic'), true], [_('Timeline')]], sessRows, _('No sessions recorded.'))
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
