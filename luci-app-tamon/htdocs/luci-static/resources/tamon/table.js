'use strict';
'require baseclass';
'require ui';
'require uci';
'require tamon.api as api';

/*
 * tamon.table: the searchable, paginated record tables of the list pages.
 * Search is the prototype's: words match anywhere, '*' is a wildcard, ';' or
 * ',' separate alternatives. Time range, device, page size and CSV download
 * sit beside it. Pages go back and forth with the API's keyset cursors.
 * Every value from the daemon enters the page as text, never as HTML.
 */

const ranges = [
	['15m', 15 * 60000], ['1h', 3600000], ['24h', 86400000],
	['7d', 7 * 86400000], ['30d', 30 * 86400000], ['all', 0]
];

function rangeLabel(key) {
	switch (key) {
	case '15m': return _('Last 15 minutes');
	case '1h': return _('Last hour');
	case '24h': return _('Last 24 hours');
	case '7d': return _('Last 7 days');
	case '30d': return _('Last 30 days');
	}
	return _('All time');
}

return baseclass.extend({
	rangeLabel: rangeLabel,
	ranges: ranges,

	/* Loads /etc/config/tamon for dissectNotice (a page still loads without it). */
	loadSettings() {
		return L.resolveDefault(uci.load('tamon'), null);
	},

	/* The notice of the TLS, HTTP and ICMP pages while the application
	 * protocols are turned off in the settings (main.dissect '0'). */
	dissectNotice() {
		if (uci.get('tamon', 'main', 'dissect') !== '0')
			return '';
		return E('div', { 'class': 'alert-message warning' }, [
			_('Application protocols are turned off in the settings: TLS, HTTP and ICMP get no new entries until they are turned on again.')
		]);
	},

	/* from (Unix ms) of a range key; 0 for all time */
	rangeFrom(key) {
		const r = ranges.filter((x) => x[0] === key)[0];
		return (r && r[1]) ? Date.now() - r[1] : 0;
	},

	rangeSelect(value, onchange, id) {
		const sel = E('select', { 'class': 'cbi-input-select', 'id': id || null, 'change': (ev) => onchange(ev.target.value) },
			ranges.map((r) => E('option', { 'value': r[0] }, [rangeLabel(r[0])])));
		sel.value = value;
		return sel;
	},

	deviceURL(mac) {
		return L.url('admin', 'status', 'tamon', 'device') + '?mac=' + encodeURIComponent(mac);
	},

	/* A link to the device page named by alias, host name or MAC. */
	deviceLink(devices, mac) {
		if (!mac)
			return E('span', { 'class': 'tamon-muted' }, ['—']);
		const d = devices[mac];
		const name = api.deviceName(d, mac);
		return E('a', { 'href': this.deviceURL(mac), 'title': mac, 'class': 'tamon-data' }, [name]);
	},

	/* Text cell content: '' -> a dash, long text cut with the whole in a tooltip. */
	text(v, max) {
		if (v === null || v === undefined || v === '')
			return E('span', { 'class': 'tamon-muted' }, ['—']);
		v = String(v);
		if (max && v.length > max)
			return E('span', { 'title': v }, [v.slice(0, max - 1) + '…']);
		return E('span', {}, [v]);
	},

	/*
	 * create(opts) -> {node, refresh()}; opts: kind (record kind), columns
	 * [{title, render(row, devices), right}], range (default '24h'),
	 * placeholder, id (element id prefix), device (show the device filter,
	 * default true), rowClass(row).
	 */
	create(opts) {
		const self = this;
		const url = new URLSearchParams(window.location.search);
		const st = {
			q: url.get('q') || '', mac: url.get('mac') || '', range: url.get('range') || opts.range || '24h',
			limit: +(url.get('limit') || 50), stack: [], cursor: '', next: '', rows: []
		};
		const id = opts.id || ('tamon-' + opts.kind);
		const search = E('input', {
			'type': 'search', 'id': id + '-search', 'class': 'cbi-input-text tamon-search', 'value': st.q,
			'placeholder': opts.placeholder || _('Search: * wildcard, ; or , for alternatives'),
			'keydown': (ev) => { if (ev.key === 'Enter') run(); }
		});
		search.value = st.q;
		const devSel = E('select', { 'class': 'cbi-input-select', 'id': id + '-device', 'change': () => run() }, [E('option', { 'value': '' }, [_('All devices')])]);
		const rangeSel = this.rangeSelect(st.range, () => run(), id + '-range');
		const sizeSel = E('select', { 'class': 'cbi-input-select', 'id': id + '-limit', 'change': () => run() },
			[25, 50, 100, 250].map((n) => E('option', { 'value': n }, [_('%d per page').format(n)])));
		sizeSel.value = String(st.limit);
		const table = E('table', { 'class': 'table tamon-table', 'id': id + '-table' }, [
			E('tr', { 'class': 'tr table-titles' }, opts.columns.map((c) => E('th', { 'class': 'th' + (c.right ? ' right' : '') }, [c.title])))
		]);
		const info = E('span', { 'class': 'tamon-pageinfo', 'id': id + '-info' });
		const newer = E('button', { 'class': 'cbi-button', 'id': id + '-newer', 'click': () => page(-1) }, ['« ' + _('Newer')]);
		const older = E('button', { 'class': 'cbi-button', 'id': id + '-older', 'click': () => page(1) }, [_('Older') + ' »']);
		const csv = E('button', { 'class': 'cbi-button cbi-button-action', 'id': id + '-csv', 'click': ui.createHandlerFn(this, () => api.download(opts.kind, params(true)).catch(showError)) }, [_('Download CSV')]);
		const msg = E('div', { 'class': 'tamon-msg' });
		let devices = {};

		function params(forCSV) {
			const p = { q: st.q, mac: st.mac, limit: forCSV ? 1000 : st.limit };
			const from = self.rangeFrom(st.range);
			p.from = from;
			if (!forCSV && st.cursor) p.before = st.cursor;
			return p;
		}

		function showError(e) {
			msg.replaceChildren(api.errorBox(e));
		}

		function render() {
			Array.from(table.querySelectorAll('.tr:not(.table-titles)')).forEach((n) => n.remove());
			st.rows.forEach((row, i) => {
				const tr = E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) + (opts.rowClass ? ' ' + opts.rowClass(row) : '') });
				opts.columns.forEach((c) => {
					let v = c.render(row, devices);
					if (v === null || v === undefined || v === '') v = E('span', { 'class': 'tamon-muted' }, ['—']);
					tr.appendChild(E('td', { 'class': 'td' + (c.right ? ' right' : ''), 'data-title': c.title }, Array.isArray(v) ? v : [v]));
				});
				table.appendChild(tr);
			});
			if (!st.rows.length)
				table.appendChild(E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': opts.columns.length }, [E('em', {}, [_('No records match.')])])]));
			const n = st.stack.length;
			info.textContent = st.rows.length
				? _('Page %d: %d records').format(n + 1, st.rows.length)
				: '';
			newer.disabled = (n === 0);
			older.disabled = (st.rows.length < st.limit || !st.next);
		}

		function load() {
			table.classList.add('tamon-loading');
			return api.list(opts.kind, params(false)).then((res) => {
				st.rows = res.rows;
				st.next = res.next;
				msg.replaceChildren();
				render();
			}).catch((e) => {
				st.rows = [];
				render();
				showError(e);
			}).finally(() => table.classList.remove('tamon-loading'));
		}

		function run() {
			st.q = search.value.trim();
			st.mac = devSel.value;
			st.range = rangeSel.value;
			st.limit = +sizeSel.value;
			st.stack = [];
			st.cursor = '';
			return load();
		}

		function page(dir) {
			if (dir > 0) {
				st.stack.push(st.cursor);
				st.cursor = st.next;
			} else {
				st.cursor = st.stack.pop() || '';
			}
			return load();
		}

		const node = E('div', { 'class': 'tamon-list', 'id': id }, [
			E('div', { 'class': 'tamon-toolbar' }, [
				search, ' ',
				E('button', { 'class': 'cbi-button cbi-button-action', 'id': id + '-go', 'click': () => run() }, [_('Search')]), ' ',
				opts.device === false ? '' : devSel, ' ', rangeSel, ' ', sizeSel, ' ', csv
			]),
			msg,
			E('div', { 'class': 'tamon-tablewrap' }, [table]),
			E('div', { 'class': 'tamon-pager' }, [newer, ' ', info, ' ', older])
		]);

		const ready = api.devices().then((d) => {
			devices = d;
			const macs = Object.keys(d).sort((a, b) => api.deviceName(d[a], a).localeCompare(api.deviceName(d[b], b)));
			macs.forEach((m) => devSel.appendChild(E('option', { 'value': m }, [api.deviceName(d[m], m) + (d[m].alias || d[m].hostname ? ' (' + m + ')' : '')])));
			if (st.mac && !d[st.mac])
				devSel.appendChild(E('option', { 'value': st.mac }, [st.mac]));
			devSel.value = st.mac;
		}).then(load);

		return { node: node, refresh: load, ready: ready, state: st };
	}
});
