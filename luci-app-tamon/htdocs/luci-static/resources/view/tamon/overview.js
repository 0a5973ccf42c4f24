'use strict';
'require view';
'require poll';
'require tamon.api as api';
'require tamon.chart as chart';
'require tamon.table as table';

/*
 * Overview: capture health, live throughput, top devices and applications
 * now and today, open sessions and new devices. Refreshed in place by poll:
 * status every 2 s, the rest every 30 s.
 */

function card(title, id, body) {
	return E('div', { 'class': 'tamon-card', 'id': id }, [E('h4', {}, [title]), body]);
}

function kv(pairs) {
	return E('table', { 'class': 'tamon-kv' }, pairs.map((p) => E('tr', {}, [E('th', {}, [p[0]]), E('td', {}, [p[1]])])));
}

function midnight() {
	const d = new Date();
	d.setHours(0, 0, 0, 0);
	return d.getTime();
}

return view.extend({
	load() {
		return api.info();
	},

	render() {
		const problem = api.problem();
		if (problem)
			return E([], [E('h2', {}, [_('Traffic Monitor')]), api.errorBox(problem)]);

		const msg = E('div', { 'id': 'tamon-overview-msg' });
		const health = E('div', { 'class': 'tamon-cards', 'id': 'tamon-health' }, [E('em', {}, [_('Loading…')])]);
		const offload = E('div', { 'id': 'tamon-offload' });
		const live = E('div', { 'class': 'tamon-card', 'id': 'tamon-live-chart' });
		const hour = E('div', { 'class': 'tamon-card', 'id': 'tamon-hour-chart' });
		const tops = {};
		['devnow', 'devtoday', 'appnow', 'apptoday'].forEach((k) => { tops[k] = E('div', { 'id': 'tamon-top-' + k }); });
		const active = E('div', { 'id': 'tamon-active' });
		const fresh = E('div', { 'id': 'tamon-new-devices' });
		const samples = [];
		let devices = {};

		const drawLive = () => {
			const series = [
				{ label: _('Upload'), points: samples.map((s) => [s[0], s[1]]), fill: true },
				{ label: _('Download'), points: samples.map((s) => [s[0], s[2]]), fill: true }
			];
			live.replaceChildren(E('h4', {}, [_('Live throughput')]),
				chart.line(series, { height: 150, yFormat: api.bps, minY: 1000, xFormat: api.time.bind(api), empty: _('Waiting for data…') }),
				chart.legend(series));
		};

		const refreshStatus = () => api.get('status').then((st) => {
			msg.replaceChildren();
			const cap = st.capture || {}, eng = st.engine || {}, store = st.store || {}, rates = st.rates || {};
			const dis = eng.dissect || {};
			const decodeErrors = Object.keys(cap.decode_errors || {}).reduce((n, k) => n + (cap.decode_errors[k] || 0), 0);
			health.replaceChildren(
				card(_('Capture'), 'tamon-card-capture', kv([
					[_('Interfaces'), (cap.interfaces || []).join(', ')],
					[_('Frames'), String(cap.frames || 0)],
					[_('Dropped by the kernel'), String(cap.kernel_drops || 0)],
					[_('Dropped by tamon'), String(cap.queue_drops || 0)],
					[_('Undecodable frames'), String(decodeErrors)]
				])),
				card(_('Engine'), 'tamon-card-engine', kv([
					[_('Open sessions'), String(eng.sessions_open || 0)],
					[_('Ended sessions'), String(eng.sessions_ended || 0)],
					[_('Records'), String(eng.records || 0)],
					[_('TLS and QUIC hellos read'), String((dis.tls_hellos || 0) + (dis.quic_hellos || 0))],
					[_('Not dissected for lack of room'), String((dis.skipped_sessions || 0) + (dis.skipped_buffers || 0) + (dis.http_pipeline_overflow || 0))],
					[_('Running for'), api.duration((st.uptime_s || 0) * 1000)]
				])),
				card(_('Storage'), 'tamon-card-store', kv([
					[_('Database'), store.driver || '—'],
					[_('Connected'), store.connected ? _('yes') : _('no')],
					[_('Waiting to be written'), String(store.queue || 0)],
					[_('Last error'), store.last_error || '—']
				])),
				card(_('Now'), 'tamon-card-now', kv([
					[_('Upload'), api.bps(rates.up_bps)],
					[_('Download'), api.bps(rates.down_bps)],
					[_('Sensor'), st.sensor || '—'],
					[_('Version'), st.version || '—']
				]))
			);
			const off = cap.offload || {};
			if (off.software || off.hardware || off.vendor_hnat || off.advice) {
				offload.replaceChildren(E('div', { 'class': 'alert-message warning', 'id': 'tamon-offload-warning' }, [
					E('h4', {}, [_('Flow offloading hides traffic from tamon')]),
					E('p', {}, [_('Offloaded connections bypass the router\'s CPU after their first packets, so their sessions and byte counts are incomplete. Turn off software and hardware flow offloading under Network → Firewall to see all traffic.')]),
					off.advice ? E('p', { 'class': 'tamon-data' }, [off.advice]) : ''
				]));
			} else {
				offload.replaceChildren();
			}
			samples.push([Date.now(), rates.up_bps || 0, rates.down_bps || 0]);
			while (samples.length > 90) samples.shift();
			drawLive();
		}).catch((e) => msg.replaceChildren(api.errorBox(e)));

		/* Traffic without a device (no MAC) or an application (no signature
		 * matched) has the empty key: left out of the top five. */
		const topChart = (box, title, by, from, fmtLabel) => api.get('top', { by: by, metric: 'bytes', n: 6, from: from }).then((res) => {
			box.replaceChildren(E('h4', {}, [title]), chart.bars((res.rows || []).filter((r) => r.key !== '').slice(0, 5).map((r) => ({
				label: fmtLabel ? fmtLabel(r) : (r.label || r.key), value: r.bytes, title: r.key,
				href: by === 'device' ? table.deviceURL(r.key) : null
			})), { format: api.bytes, empty: _('No traffic yet.'), width: 460, labelWidth: 160 }));
		});

		const refreshSlow = () => api.devices(true).then((d) => {
			devices = d;
			const now = Date.now();
			const devLabel = (r) => r.label || api.deviceName(devices[r.key], r.key);
			return Promise.all([
				topChart(tops.devnow, _('Top devices, last 5 minutes'), 'device', now - 300000, devLabel),
				topChart(tops.devtoday, _('Top devices today'), 'device', midnight(), devLabel),
				topChart(tops.appnow, _('Top applications, last 5 minutes'), 'app', now - 300000),
				topChart(tops.apptoday, _('Top applications today'), 'app', midnight()),
				api.get('series', { by: 'total', step: '60s', from: now - 3600000, to: now }).then((res) => {
					const s = (res.series || [])[0];
					const pts = s ? s.points : [];
					const per = (res.step_ms || 60000) / 1000;
					const series = [
						{ label: _('Upload'), points: pts.map((p) => [p[0], p[1] * 8 / per]), fill: true },
						{ label: _('Download'), points: pts.map((p) => [p[0], p[2] * 8 / per]), fill: true }
					];
					hour.replaceChildren(E('h4', {}, [_('Throughput, last hour')]),
						chart.line(series, { height: 150, yFormat: api.bps, minY: 1000, xFormat: api.time.bind(api), empty: _('No traffic in the last hour.') }),
						chart.legend(series));
				}),
				api.get('active').then((res) => {
					const rows = (res.rows || []).slice().sort((a, b) => (b.bytes_up + b.bytes_down) - (a.bytes_up + a.bytes_down)).slice(0, 10);
					const t = E('table', { 'class': 'table', 'id': 'tamon-active-table' }, [E('tr', { 'class': 'tr table-titles' }, [
						E('th', { 'class': 'th' }, [_('Device')]), E('th', { 'class': 'th' }, [_('Protocol')]),
						E('th', { 'class': 'th' }, [_('Server')]), E('th', { 'class': 'th' }, [_('Host')]),
						E('th', { 'class': 'th right' }, [_('Traffic')]), E('th', { 'class': 'th' }, [_('Timeline')])
					])]);
					rows.forEach((r, i) => t.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) }, [
						E('td', { 'class': 'td' }, [table.deviceLink(devices, r.client_mac)]),
						E('td', { 'class': 'td' }, [r.proto.toUpperCase()]),
						E('td', { 'class': 'td' }, [api.endpoint(r.server_ip, r.server_port)]),
						E('td', { 'class': 'td' }, [table.text(r.host, 40)]),
						E('td', { 'class': 'td right' }, [api.bytes(r.bytes_up + r.bytes_down)]),
						E('td', { 'class': 'td' }, [chart.timeline(r.timeline)])
					])));
					if (!rows.length)
						t.appendChild(E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': 6 }, [E('em', {}, [_('No open sessions.')])])]));
					active.replaceChildren(E('h3', {}, [_('Open sessions'), ' ', E('span', { 'class': 'tamon-count' }, ['(' + (res.rows || []).length + ')'])]), t);
				}),
				Promise.resolve().then(() => {
					const list = Object.keys(devices).map((m) => devices[m]).filter((x) => x.first_seen > now - 86400000)
						.sort((a, b) => b.first_seen - a.first_seen).slice(0, 10);
					const t = E('table', { 'class': 'table', 'id': 'tamon-new-table' }, [E('tr', { 'class': 'tr table-titles' }, [
						E('th', { 'class': 'th' }, [_('Device')]), E('th', { 'class': 'th' }, [_('Vendor')]),
						E('th', { 'class': 'th' }, [_('Addresses')]), E('th', { 'class': 'th' }, [_('First seen')])
					])]);
					list.forEach((x, i) => t.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) }, [
						E('td', { 'class': 'td' }, [table.deviceLink(devices, x.mac)]),
						E('td', { 'class': 'td' }, [table.text(x.vendor)]),
						E('td', { 'class': 'td' }, [table.text((x.ipv4 || []).concat(x.ipv6 || []).join(', '), 50)]),
						E('td', { 'class': 'td' }, [api.ago(x.first_seen)])
					])));
					if (!list.length)
						t.appendChild(E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': 4 }, [E('em', {}, [_('No new devices in the last 24 hours.')])])]));
					fresh.replaceChildren(E('h3', {}, [_('New devices (last 24 hours)')]), t);
				})
			]);
		}).catch((e) => msg.replaceChildren(api.errorBox(e)));

		drawLive();
		refreshStatus();
		refreshSlow();
		poll.add(refreshStatus, 2);
		poll.add(refreshSlow, 30);

		return E([], [
			E('h2', {}, [_('Traffic Monitor')]),
			msg,
			offload,
			health,
			E('div', { 'class': 'tamon-grid2' }, [live, hour]),
			E('div', { 'class': 'tamon-grid2' }, [
				E('div', { 'class': 'tamon-card' }, [tops.devnow]), E('div', { 'class': 'tamon-card' }, [tops.devtoday]),
				E('div', { 'class': 'tamon-card' }, [tops.appnow]), E('div', { 'class': 'tamon-card' }, [tops.apptoday])
			]),
			active,
			fresh
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
