'use strict';
'require view';
'require tamon.api as api';
'require tamon.table as table';

/*
 * Live: records as the daemon writes them, over the WebSocket stream (or by
 * polling the lists when it cannot connect). Filter by device, kind and
 * text; pause keeps what arrives for later.
 */

const MAX_ROWS = 200;

function kindLabel(k) {
	switch (k) {
	case 'session': return _('Session');
	case 'dns': return _('DNS');
	case 'http': return _('HTTP');
	case 'tls': return _('TLS');
	case 'icmp': return _('ICMP');
	case 'app': return _('App');
	case 'device': return _('Device');
	}
	return k;
}

function summary(kind, r) {
	switch (kind) {
	case 'session':
		return r.proto.toUpperCase() + ' ' + api.endpoint(r.server_ip, r.server_port) + (r.host ? ' ' + r.host : '') +
			'  ↑' + api.bytes(r.bytes_up) + ' ↓' + api.bytes(r.bytes_down) + (r.app ? '  [' + r.app + ']' : '');
	case 'dns':
		return r.query + ' ' + r.qtype + ' → ' + (r.rcode || '?') + ((r.answers || []).length ? ' ' + r.answers.map((a) => a.data).slice(0, 3).join(', ') : '');
	case 'http':
		return r.method + ' ' + r.host + r.uri + (r.status ? ' → ' + r.status : '');
	case 'tls':
		return (r.sni || api.endpoint(r.server_ip, r.server_port)) + ' ' + (r.version || '') + ' ' + (r.ja4 || '');
	case 'icmp':
		return 'ICMPv' + r.family + ' ' + r.icmp_type + '/' + r.icmp_code + ' ' + r.src_ip + ' → ' + r.dst_ip + (r.rtt_ms >= 0 ? ' ' + r.rtt_ms + ' ms' : '');
	case 'app':
		return r.app + (r.host ? ' (' + r.host + ')' : '') + ' ' + api.bytes(r.bytes);
	case 'device':
		return api.deviceName(r, r.mac) + ' ' + (r.ipv4 || []).join(', ');
	}
	return '';
}

function timeOf(kind, r) {
	return (kind === 'session' || kind === 'app') ? r.end_ts : (kind === 'device' ? r.last_seen : r.ts);
}

return view.extend({
	load() {
		return api.info().then(() => api.problem() ? {} : api.devices());
	},

	render(devices) {
		const problem = api.problem();
		if (problem)
			return E([], [E('h2', {}, [_('Live')]), api.errorBox(problem)]);
		const kinds = ['session', 'dns', 'http', 'tls', 'icmp', 'app', 'device'];
		const st = { paused: false, held: [], count: 0 };
		const devSel = E('select', { 'class': 'cbi-input-select', 'id': 'tamon-live-device' }, [E('option', { 'value': '' }, [_('All devices')])]
			.concat(Object.keys(devices).map((m) => E('option', { 'value': m }, [api.deviceName(devices[m], m)]))));
		const text = E('input', { 'type': 'search', 'class': 'cbi-input-text tamon-search', 'id': 'tamon-live-q', 'placeholder': _('Filter: * wildcard, ; or , for alternatives') });
		const boxes = kinds.map((k) => {
			const cb = E('input', { 'type': 'checkbox', 'value': k, 'id': 'tamon-live-kind-' + k });
			cb.checked = true;
			return E('label', { 'class': 'tamon-kind' }, [cb, ' ', kindLabel(k)]);
		});
		const stateBox = E('span', { 'class': 'tamon-state', 'id': 'tamon-live-state' }, [_('Connecting…')]);
		const counter = E('span', { 'class': 'tamon-count', 'id': 'tamon-live-count' }, ['0']);
		const pause = E('button', { 'class': 'cbi-button', 'id': 'tamon-live-pause' }, [_('Pause')]);
		const feed = E('table', { 'class': 'table tamon-feed', 'id': 'tamon-live-feed' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, [_('Time')]), E('th', { 'class': 'th' }, [_('Kind')]),
				E('th', { 'class': 'th' }, [_('Device')]), E('th', { 'class': 'th' }, [_('Details')])
			])
		]);
		const empty = E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': 4 }, [E('em', {}, [_('Waiting for records…')])])]);
		feed.appendChild(empty);

		const selectedKinds = () => boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value);
		const filter = () => ({ mac: devSel.value, q: text.value.trim() });

		const addRow = (kind, r) => {
			if (empty.parentNode) empty.remove();
			const mac = r.client_mac || r.mac;
			const tr = E('tr', { 'class': 'tr tamon-live-row tamon-kind-' + kind, 'data-kind': kind }, [
				E('td', { 'class': 'td' }, [api.time(timeOf(kind, r))]),
				E('td', { 'class': 'td' }, [E('span', { 'class': 'tamon-badge tamon-badge-' + kind }, [kindLabel(kind)])]),
				E('td', { 'class': 'td' }, [table.deviceLink(devices, mac)]),
				E('td', { 'class': 'td tamon-data' }, [summary(kind, r)])
			]);
			const first = feed.querySelector('.tamon-live-row');
			feed.insertBefore(tr, first || null);
			const rows = feed.querySelectorAll('.tamon-live-row');
			for (let i = MAX_ROWS; i < rows.length; i++) rows[i].remove();
		};

		const onRecord = (kind, r) => {
			if (kind === 'device' && r.mac) devices[r.mac] = r;
			st.count++;
			counter.textContent = String(st.count);
			if (st.paused) {
				st.held.push([kind, r]);
				if (st.held.length > MAX_ROWS) st.held.shift();
				pause.textContent = _('Resume (%d new)').format(st.held.length);
				return;
			}
			addRow(kind, r);
		};

		const stream = api.stream(selectedKinds(), filter(), {
			record: onRecord,
			state: (mode, m) => {
				const label = {
					connecting: _('Connecting…'),
					ws: _('Live (WebSocket)'),
					poll: _('Live (polling every 2 s)'),
					error: _('Error')
				}[mode] || mode;
				stateBox.textContent = label + (m && mode === 'error' ? ': ' + m : '');
				stateBox.className = 'tamon-state tamon-state-' + mode;
				stateBox.setAttribute('data-mode', mode);
			}
		});
		this.stream = stream;

		const resubscribe = () => stream.subscribe(selectedKinds(), filter());
		devSel.addEventListener('change', resubscribe);
		text.addEventListener('change', resubscribe);
		text.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') resubscribe(); });
		boxes.forEach((b) => b.firstChild.addEventListener('change', resubscribe));
		pause.addEventListener('click', () => {
			st.paused = !st.paused;
			if (!st.paused) {
				st.held.forEach((x) => addRow(x[0], x[1]));
				st.held = [];
			}
			pause.textContent = st.paused ? _('Resume') : _('Pause');
		});
		window.addEventListener('beforeunload', () => stream.close());

		return E([], [
			E('h2', {}, [_('Live')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Sessions, lookups, web requests and handshakes as they happen. The newest is at the top; at most 200 are kept on the page.')]),
			E('div', { 'class': 'tamon-toolbar' }, [devSel, ' ', text, ' ', pause, ' ',
				E('button', { 'class': 'cbi-button', 'id': 'tamon-live-clear', 'click': () => {
					feed.querySelectorAll('.tamon-live-row').forEach((n) => n.remove());
					st.held = [];
				} }, [_('Clear')])]),
			E('div', { 'class': 'tamon-toolbar' }, boxes),
			E('p', {}, [stateBox, ' · ', _('Records received:'), ' ', counter]),
			feed
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
