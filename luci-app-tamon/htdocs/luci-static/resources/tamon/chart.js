'use strict';
'require baseclass';

/*
 * tamon.chart: small charts drawn as hand-written SVG, no library (a router
 * serves every byte from flash; these are a few KB and follow the theme's
 * fonts). Text goes in through textContent only: labels come from traffic.
 *
 *   line(series, opts)   lines over time: [{label, color, points: [[t, v]...]}]
 *   bars(rows, opts)     horizontal bars: [{label, value, title, href}]
 *   timeline(steps, opts) a session's first packets: [dt_ms, dir, ip_len, tcp_flags]
 */

const NS = 'http://www.w3.org/2000/svg';

function S(tag, attrs, children) {
	const n = document.createElementNS(NS, tag);
	Object.keys(attrs || {}).forEach((k) => {
		if (attrs[k] !== null && attrs[k] !== undefined)
			n.setAttribute(k, String(attrs[k]));
	});
	(children || []).forEach((c) => {
		if (c === null || c === undefined) return;
		n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
	});
	return n;
}

function text(x, y, str, attrs) {
	const t = S('text', Object.assign({ x: x, y: y }, attrs || {}));
	t.textContent = str;
	return t;
}

function niceMax(v) {
	if (!(v > 0)) return 1;
	const p = Math.pow(10, Math.floor(Math.log10(v)));
	for (const m of [1, 2, 2.5, 5, 10])
		if (v <= m * p) return m * p;
	return 10 * p;
}

const palette = ['#0069d6', '#e8710a', '#2ca02c', '#9467bd', '#d62728', '#17becf', '#8c564b', '#bcbd22'];

/* TCP flag bits */
const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

return baseclass.extend({
	palette: palette,

	line(series, opts) {
		opts = opts || {};
		const W = opts.width || 600, H = opts.height || 180;
		const ML = 62, MR = 10, MT = 10, MB = 22;
		const fmtY = opts.yFormat || String, fmtX = opts.xFormat || String;
		let xmin = Infinity, xmax = -Infinity, ymax = 0;
		series.forEach((s) => s.points.forEach((p) => {
			xmin = Math.min(xmin, p[0]); xmax = Math.max(xmax, p[0]);
			ymax = Math.max(ymax, p[1]);
		}));
		const svg = S('svg', { 'class': 'tamon-chart', 'viewBox': '0 0 ' + W + ' ' + H, 'preserveAspectRatio': 'none', 'role': 'img', 'width': '100%', 'height': H });
		if (!isFinite(xmin)) {
			svg.appendChild(text(W / 2, H / 2, opts.empty || '', { 'text-anchor': 'middle', 'class': 'tamon-chart-empty' }));
			return svg;
		}
		if (xmax === xmin) xmax = xmin + 1;
		ymax = niceMax(Math.max(ymax, opts.minY || 0));
		const x = (v) => ML + (v - xmin) / (xmax - xmin) * (W - ML - MR);
		const y = (v) => MT + (1 - v / ymax) * (H - MT - MB);
		for (let i = 0; i <= 4; i++) {
			const v = ymax * i / 4;
			svg.appendChild(S('line', { x1: ML, x2: W - MR, y1: y(v), y2: y(v), 'class': 'tamon-grid' }));
			svg.appendChild(text(ML - 4, y(v) + 4, fmtY(v), { 'text-anchor': 'end', 'class': 'tamon-axis' }));
		}
		[xmin, (xmin + xmax) / 2, xmax].forEach((v, i) => {
			svg.appendChild(text(x(v), H - 6, fmtX(v), { 'text-anchor': ['start', 'middle', 'end'][i], 'class': 'tamon-axis' }));
		});
		series.forEach((s, i) => {
			const color = s.color || palette[i % palette.length];
			const pts = s.points.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ');
			if (s.fill && s.points.length) {
				const first = s.points[0], last = s.points[s.points.length - 1];
				svg.appendChild(S('polygon', { 'points': x(first[0]).toFixed(1) + ',' + y(0) + ' ' + pts + ' ' + x(last[0]).toFixed(1) + ',' + y(0), 'fill': color, 'fill-opacity': 0.15, 'stroke': 'none' }));
			}
			svg.appendChild(S('polyline', { 'points': pts, 'fill': 'none', 'stroke': color, 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke', 'data-series': s.label }));
		});
		return svg;
	},

	legend(series) {
		return E('div', { 'class': 'tamon-legend' }, series.map((s, i) => E('span', {}, [
			E('i', { 'style': 'background:' + (s.color || palette[i % palette.length]) }), ' ', s.label
		])));
	},

	bars(rows, opts) {
		opts = opts || {};
		const W = opts.width || 420, rowH = 22, H = Math.max(rows.length, 1) * rowH + 4;
		const lw = opts.labelWidth || 150;
		const fmt = opts.format || String;
		const svg = S('svg', { 'class': 'tamon-chart tamon-bars', 'viewBox': '0 0 ' + W + ' ' + H, 'width': '100%', 'height': H, 'role': 'img' });
		if (!rows.length) {
			svg.appendChild(text(W / 2, 16, opts.empty || '', { 'text-anchor': 'middle', 'class': 'tamon-chart-empty' }));
			return svg;
		}
		const max = Math.max.apply(null, rows.map((r) => r.value)) || 1;
		rows.forEach((r, i) => {
			const yy = i * rowH + 2;
			const w = Math.max(1, (W - lw - 90) * r.value / max);
			const g = S('g', { 'class': 'tamon-bar' });
			const label = String(r.label);
			g.appendChild(text(lw - 6, yy + 15, label.length > 24 ? label.slice(0, 23) + '…' : label, { 'text-anchor': 'end', 'class': 'tamon-bar-label' }));
			g.appendChild(S('rect', { x: lw, y: yy + 3, width: w.toFixed(1), height: rowH - 7, rx: 2, fill: opts.color || palette[i % palette.length] }));
			g.appendChild(text(lw + w + 6, yy + 15, fmt(r.value), { 'class': 'tamon-bar-value' }));
			const t = S('title');
			t.textContent = (r.title || label) + ': ' + fmt(r.value);
			g.appendChild(t);
			if (r.href) {
				const a = S('a', { 'href': r.href });
				a.appendChild(g);
				svg.appendChild(a);
			} else {
				svg.appendChild(g);
			}
		});
		return svg;
	},

	flagNames(f) {
		const out = [];
		if (f & SYN) out.push('SYN');
		if (f & FIN) out.push('FIN');
		if (f & RST) out.push('RST');
		if (f & PSH) out.push('PSH');
		if (f & ACK) out.push('ACK');
		return out.join(' ');
	},

	/*
	 * The first packets of a session: one bar per packet at its time, above
	 * the axis client to server, below server to client, its height the IP
	 * length; SYN green, FIN blue, RST red.
	 */
	timeline(steps, opts) {
		opts = opts || {};
		const W = opts.width || 160, H = opts.height || 28, mid = H / 2;
		const svg = S('svg', { 'class': 'tamon-chart tamon-timeline', 'viewBox': '0 0 ' + W + ' ' + H, 'width': W, 'height': H, 'role': 'img' });
		svg.appendChild(S('line', { x1: 0, x2: W, y1: mid, y2: mid, 'class': 'tamon-axis-line' }));
		if (!steps || !steps.length)
			return svg;
		const last = Math.max(1, steps[steps.length - 1][0]);
		const maxLen = Math.max(100, Math.max.apply(null, steps.map((s) => s[2])));
		const bw = Math.max(1.5, Math.min(4, W / steps.length / 2));
		/* time on a square-root scale, so the handshake is not one blob */
		const x = (dt) => 2 + Math.sqrt(dt / last) * (W - 4 - bw);
		steps.forEach((st) => {
			const dt = st[0], dir = st[1], len = st[2], fl = st[3];
			const h = Math.max(2, (mid - 1) * Math.sqrt(len / maxLen));
			let cls = (dir === 1) ? 'up' : 'down';
			if (fl & RST) cls = 'rst';
			else if (fl & SYN) cls = 'syn';
			else if (fl & FIN) cls = 'fin';
			const r = S('rect', { x: x(dt).toFixed(1), y: (dir === 1 ? mid - h : mid).toFixed(1), width: bw, height: h.toFixed(1), 'class': 'tamon-pkt tamon-pkt-' + cls });
			if (opts.titles !== false) {
				const t = S('title');
				t.textContent = '+' + dt + ' ms ' + (dir === 1 ? '↑' : '↓') + ' ' + len + ' B ' + this.flagNames(fl);
				r.appendChild(t);
			}
			svg.appendChild(r);
		});
		return svg;
	}
});
