'use strict';
'require baseclass';
'require rpc';

/*
 * tamon.api: how the pages reach tamond (docs/api.md).
 *
 * The rpcd plugin luci.tamon says on which port the daemon listens, whether
 * it speaks TLS and whether it runs. Requests go straight to the daemon with
 * "Authorization: Bearer <LuCI session id>"; the live stream is a WebSocket
 * that authenticates in its first message and falls back to polling the
 * lists when it cannot connect. Also: formatting helpers shared by the views.
 */

const callInfo = rpc.declare({
	object: 'luci.tamon',
	method: 'info',
	expect: { '': {} }
});

/* record kind -> list route */
const routes = {
	session: 'sessions', dns: 'dns', http: 'http', tls: 'tls',
	icmp: 'icmp', app: 'apps', device: 'devices'
};

const ApiError = function (message, kind, status) {
	const e = new Error(message);
	e.kind = kind;
	e.status = status;
	return e;
};

function pad(n, w) {
	return String(n).padStart(w || 2, '0');
}

return baseclass.extend({
	routes: routes,

	/* Loads the stylesheet once and returns the daemon info (cached). */
	info() {
		if (!document.getElementById('tamon-css'))
			document.head.appendChild(E('link', { 'id': 'tamon-css', 'rel': 'stylesheet', 'href': L.resource('tamon/tamon.css') }));
		if (!this.infoPromise)
			this.infoPromise = L.resolveDefault(callInfo(), {}).then((info) => {
				if (!L.isObject(info))
					info = {};
				this.daemon = info;
				return info;
			});
		return this.infoPromise;
	},

	host() {
		const h = window.location.hostname;
		return (h.indexOf(':') >= 0) ? '[' + h + ']' : h;
	},

	/* Base URL of the API, or null when the page cannot reach it. */
	base() {
		const d = this.daemon || {};
		if (!d.port)
			return null;
		return (d.tls ? 'https:' : 'http:') + '//' + this.host() + ':' + d.port + '/api/v1/';
	},

	/* The problem that keeps the page from the daemon, or null. */
	problem() {
		const d = this.daemon || {};
		if (!d.port)
			return ApiError(_('The tamon daemon was not found: the luci.tamon plugin gave no port.'), 'missing');
		if (d.running === false)
			return ApiError(_('The tamon daemon is not running. Start it under System → Startup, or run /etc/init.d/tamon start.'), 'stopped');
		if (window.location.protocol === 'https:' && !d.tls)
			return ApiError(_('This page is served over HTTPS but the daemon speaks plain HTTP, which the browser blocks. Set the API TLS option to "auto" or "on".'), 'mixed');
		return null;
	},

	query(params) {
		const q = [];
		Object.keys(params || {}).forEach((k) => {
			const v = params[k];
			if (v !== undefined && v !== null && v !== '')
				q.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
		});
		return q.length ? '?' + q.join('&') : '';
	},

	request(method, path, params, body) {
		const p = this.problem();
		if (p)
			return Promise.reject(p);
		const init = {
			method: method,
			headers: { 'Authorization': 'Bearer ' + rpc.getSessionID() },
			cache: 'no-store'
		};
		if (body !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		return window.fetch(this.base() + path + this.query(params), init).catch(() => {
			throw ApiError(this.daemon.tls
				? _('Cannot reach the tamon daemon. If its certificate is not trusted yet, open %s once, accept the certificate, then reload this page.').format(this.base() + 'health')
				: _('Cannot reach the tamon daemon at %s.').format(this.base()), 'unreachable');
		}).then((res) => {
			if (res.status === 401)
				throw ApiError(_('Your session has expired or lacks access to tamon. Log in again.'), 'auth', 401);
			const ct = res.headers.get('Content-Type') || '';
			if (!res.ok)
				return res.text().then((t) => {
					let msg = t;
					try { msg = JSON.parse(t).error || t; } catch { /* not JSON */ }
					throw ApiError(_('The daemon answered %d: %s').format(res.status, msg), 'http', res.status);
				});
			return (ct.indexOf('json') >= 0) ? res.json() : res;
		});
	},

	get(path, params) { return this.request('GET', path, params); },
	put(path, body) { return this.request('PUT', path, {}, body); },

	/* Lists: {rows, next}. kind is a record kind or a route. */
	list(kind, params) {
		return this.get(routes[kind] || kind, params).then((res) => ({ rows: (res && res.rows) || [], next: (res && res.next) || '' }));
	},

	/* Saves the CSV of a list as a file (a link cannot carry the header). */
	download(kind, params) {
		const route = routes[kind] || kind;
		return this.get(route + '.csv', params).then((res) => res.blob()).then((blob) => {
			const a = E('a', { 'href': URL.createObjectURL(blob), 'download': 'tamon-' + route + '.csv', 'style': 'display:none' });
			document.body.appendChild(a);
			a.click();
			window.setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
		});
	},

	/* mac -> device row (cached for a minute). */
	devices(force) {
		const now = Date.now();
		if (force || !this.devicePromise || now - this.deviceTime > 60000) {
			this.deviceTime = now;
			this.devicePromise = this.list('device', { from: 0, limit: 1000 }).then((res) => {
				const m = {};
				res.rows.forEach((d) => { m[d.mac] = d; });
				return m;
			}).catch(() => ({}));
		}
		return this.devicePromise;
	},

	deviceName(d, mac) {
		if (d && d.alias) return d.alias;
		if (d && d.hostname) return d.hostname;
		return mac || (d && d.mac) || '';
	},

	/*
	 * Live records. handlers: record(kind, row), rates(data), state(mode,
	 * message) with mode 'connecting', 'ws', 'poll', 'error'. Returns
	 * {subscribe(kinds, filter), close()}.
	 */
	stream(kinds, filter, handlers) {
		const self = this;
		const st = { kinds: kinds, filter: filter || {}, closed: false, ws: null, opened: false, cursors: {}, busy: false, timer: null, retries: 0 };
		const state = (m, msg) => { if (handlers.state) handlers.state(m, msg); };

		function subscribeMsg() {
			return JSON.stringify({ type: 'subscribe', kinds: st.kinds, filter: st.filter });
		}

		function listParams(extra) {
			return Object.assign({ mac: st.filter.mac, app: st.filter.app, q: st.filter.q }, extra);
		}

		function anchor(kind) {
			st.cursors[kind] = { since: Date.now() - 1000 };
			return self.list(kind, listParams({ limit: 1, from: 0 })).then((res) => {
				if (res.next) st.cursors[kind] = { cursor: res.next };
			}).catch(() => null);
		}

		function pollOnce() {
			if (st.busy || st.closed) return Promise.resolve();
			st.busy = true;
			return Promise.all(st.kinds.map((kind) => {
				const c = st.cursors[kind];
				if (!c) return anchor(kind);
				const p = c.cursor ? listParams({ after: c.cursor, sort: '-ts', limit: 200, from: 0 }) : listParams({ from: c.since, sort: '-ts', limit: 200 });
				return self.list(kind, p).then((res) => {
					res.rows.forEach((r) => handlers.record(kind, r));
					if (res.next)
						st.cursors[kind] = { cursor: res.next };
					else if (res.rows.length)
						return anchor(kind);
				});
			})).then(() => self.get('status')).then((s) => {
				if (handlers.rates && s && s.rates)
					handlers.rates({ ts: Date.now(), total: s.rates });
				state('poll');
			}).catch((e) => state('error', e.message)).finally(() => { st.busy = false; });
		}

		function startPolling(why) {
			if (st.closed || st.timer) return;
			state('poll', why);
			Promise.all(st.kinds.map(anchor)).then(() => {
				if (st.closed) return;
				st.timer = window.setInterval(pollOnce, 2000);
			});
		}

		function connect() {
			const p = self.problem();
			if (p) { state('error', p.message); return; }
			const url = (self.daemon.tls ? 'wss://' : 'ws://') + self.host() + ':' + self.daemon.port + '/api/v1/stream';
			let ws;
			state('connecting');
			try {
				ws = new WebSocket(url);
			} catch (e) {
				startPolling(e.message);
				return;
			}
			st.ws = ws;
			const guard = window.setTimeout(() => { if (!st.opened) ws.close(); }, 5000);
			ws.onopen = () => {
				window.clearTimeout(guard);
				st.opened = true;
				st.retries = 0;
				ws.send(JSON.stringify({ type: 'auth', token: rpc.getSessionID() }));
				ws.send(subscribeMsg());
				state('ws');
			};
			ws.onmessage = (ev) => {
				let m;
				try { m = JSON.parse(ev.data); } catch { return; }
				if (!m || !m.type) return;
				if (m.type === 'rates') { if (handlers.rates) handlers.rates(m.data); }
				else if (m.type === 'error') state('error', (m.data && m.data.error) || _('Stream error'));
				else handlers.record(m.type, m.data);
			};
			ws.onclose = (ev) => {
				window.clearTimeout(guard);
				st.ws = null;
				if (st.closed) return;
				if (ev.code === 4401) { state('error', _('The stream refused this session. Log in again.')); return; }
				if (!st.opened || ++st.retries > 3) { startPolling(_('WebSocket unavailable')); return; }
				st.opened = false;
				window.setTimeout(connect, 2000);
			};
		}

		connect();
		return {
			subscribe(k, f) {
				st.kinds = k;
				st.filter = f || {};
				if (st.ws && st.opened) st.ws.send(subscribeMsg());
				if (st.timer) { st.cursors = {}; st.kinds.forEach(anchor); }
			},
			close() {
				st.closed = true;
				if (st.ws) st.ws.close();
				if (st.timer) window.clearInterval(st.timer);
			},
			mode() { return st.timer ? 'poll' : (st.opened ? 'ws' : 'connecting'); }
		};
	},

	/* ---- formatting ---------------------------------------------------- */

	bytes(n) {
		n = Number(n) || 0;
		const u = ['B', 'KB', 'MB', 'GB', 'TB'];
		let i = 0;
		while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
		return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : String(n)) + ' ' + u[i];
	},

	bps(n) {
		n = Number(n) || 0;
		const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
		let i = 0;
		while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
		return (i ? n.toFixed(n < 10 ? 2 : 1) : String(Math.round(n))) + ' ' + u[i];
	},

	time(ms) {
		if (!ms) return '';
		const d = new Date(Number(ms));
		return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
	},

	date(ms) {
		if (!ms) return '';
		const d = new Date(Number(ms));
		return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
	},

	dateTime(ms) {
		if (!ms) return '';
		return this.date(ms) + ' ' + this.time(ms);
	},

	duration(ms) {
		ms = Math.max(0, Number(ms) || 0);
		if (ms < 1000) return ms + ' ms';
		let s = Math.round(ms / 1000);
		if (s < 60) return s + ' s';
		const m = Math.floor(s / 60); s %= 60;
		if (m < 60) return m + ' min ' + s + ' s';
		return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
	},

	ago(ms) {
		const d = Date.now() - Number(ms);
		if (!ms) return '';
		if (d < 60000) return _('just now');
		if (d < 3600000) return _('%d min ago').format(Math.floor(d / 60000));
		if (d < 86400000) return _('%d h ago').format(Math.floor(d / 3600000));
		return _('%d days ago').format(Math.floor(d / 86400000));
	},

	endpoint(ip, port) {
		if (!ip) return '';
		const h = (ip.indexOf(':') >= 0) ? '[' + ip + ']' : ip;
		return port ? h + ':' + port : h;
	},

	/* An alert box for an error from request(). */
	errorBox(err) {
		const nodes = [E('p', {}, [err.message])];
		if (err.kind === 'unreachable' && this.daemon && this.daemon.tls)
			nodes.push(E('p', {}, [E('a', { 'href': this.base() + 'health', 'target': '_blank', 'rel': 'noopener' }, [_('Open the daemon\'s address to trust its certificate')])]));
		return E('div', { 'class': 'alert-message warning tamon-problem' }, nodes);
	}
});
