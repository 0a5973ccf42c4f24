/*
 * Clean-room shim of LuCI's client-side runtime (luci.js), written for the
 * tamon test harness from the behaviour described in shared/reference/openwrt.md.
 * No OpenWrt code is copied. It implements only what luci-app-tamon uses; the
 * harness lint (lint_test.go) fails when a view uses a module or member that
 * is missing here.
 *
 * Globals: LuCI (the class the page instantiates as L), E, _, N_,
 * cbi_update_table, String.prototype.format.
 * Built-in modules: baseclass, dom, poll, request, view. Other modules (form,
 * rpc, uci, ui) are files beside this one, loaded by L.require.
 */
(function (window, document) {
	'use strict';

	/* ---- class system ------------------------------------------------- */

	function superChain(obj, key) {
		const chain = [];
		for (let p = Object.getPrototypeOf(obj); p; p = Object.getPrototypeOf(p))
			if (Object.prototype.hasOwnProperty.call(p, key))
				chain.push(p);
		return chain;
	}

	const ClassBase = function () {};
	ClassBase.prototype = {
		__init__() {},
		/* this.super('name') gives the parent's value; this.super('name', args) calls it. */
		super(key, args) {
			const chain = superChain(this, key);
			this.__sdepth__ = this.__sdepth__ || {};
			const depth = this.__sdepth__[key] || 0;
			const proto = chain[depth + 1];
			if (proto === undefined)
				return undefined;
			const val = proto[key];
			if (arguments.length < 2)
				return val;
			if (typeof val !== 'function')
				throw new TypeError('super(): ' + key + ' is not a function');
			this.__sdepth__[key] = depth + 1;
			try {
				return val.apply(this, Array.prototype.slice.call(args || []));
			} finally {
				this.__sdepth__[key] = depth;
			}
		},
		varargs(args, offset) {
			return Array.prototype.slice.call(args, offset || 0);
		}
	};

	function extend(Parent, props) {
		const Child = function () {
			if (typeof this.__init__ === 'function')
				return this.__init__.apply(this, arguments);
		};
		Child.prototype = Object.create(Parent.prototype, {
			constructor: { value: Child, writable: true, configurable: true }
		});
		for (const k of Object.keys(props || {})) {
			const d = Object.getOwnPropertyDescriptor(props, k);
			Object.defineProperty(Child.prototype, k, d);
		}
		Child.extend = function (p) { return extend(Child, p); };
		Child.singleton = function () {
			const o = Object.create(Child.prototype);
			const r = Child.apply(o, arguments);
			return (r && typeof r === 'object' && !(r instanceof Promise)) ? r : o;
		};
		Child.instantiate = function (args) { return Child.singleton.apply(null, args || []); };
		Child.isSubclass = function (C) { return C && C.prototype instanceof Child; };
		Child.__base__ = Parent;
		return Child;
	}

	const baseclass = extend(ClassBase, {});

	/* ---- dom ---------------------------------------------------------- */

	const classInstances = new WeakMap();

	const dom = extend(baseclass, {
		elem(e) { return e != null && typeof e === 'object' && 'nodeType' in e; },
		parse(s) {
			const t = document.createElement('template');
			t.innerHTML = s;
			return t.content.firstElementChild;
		},
		matches(node, sel) { return this.elem(node) && node.nodeType === 1 && node.matches(sel); },
		parent(node, sel) {
			if (!this.elem(node)) return null;
			return node.closest ? node.closest(sel) : null;
		},
		/* Strings in arrays become text nodes; a lone string is set as HTML,
		 * as LuCI does: views must not pass untrusted text that way. */
		append(node, children) {
			if (!this.elem(node)) return null;
			if (Array.isArray(children)) {
				for (const c of children) {
					if (this.elem(c))
						node.appendChild(c);
					else if (Array.isArray(c))
						this.append(node, c);
					else if (c !== null && c !== undefined)
						node.appendChild(document.createTextNode('' + c));
				}
				return node.lastChild;
			}
			if (typeof children === 'function')
				return this.append(node, children(node));
			if (this.elem(children))
				return node.appendChild(children);
			if (children !== null && children !== undefined) {
				node.innerHTML = '' + children;
				return node.lastChild;
			}
			return null;
		},
		content(node, children) {
			if (!this.elem(node)) return null;
			while (node.firstChild)
				node.removeChild(node.firstChild);
			return this.append(node, children);
		},
		attr(node, key, val) {
			if (!this.elem(node)) return;
			if (key !== null && typeof key === 'object') {
				for (const k of Object.keys(key))
					this.attr(node, k, key[k]);
				return;
			}
			if (val === null || val === undefined)
				return;
			if (typeof val === 'function') {
				node.addEventListener(key, val);
				return;
			}
			if (typeof val === 'object')
				val = JSON.stringify(val);
			node.setAttribute(key, '' + val);
		},
		create(tag, attr, children) {
			if (Array.isArray(tag)) {
				/* E([], children): a fragment */
				const frag = document.createDocumentFragment();
				this.append(frag, tag);
				if (Array.isArray(attr) || this.elem(attr))
					this.append(frag, attr);
				this.append(frag, Array.isArray(children) || this.elem(children) ? children : null);
				return frag;
			}
			if (this.elem(tag))
				return tag;
			let node;
			if (typeof tag === 'string' && tag.charAt(0) === '<')
				node = this.parse(tag);
			else
				node = document.createElement(tag);
			if (attr !== null && typeof attr === 'object' && !this.elem(attr) && !Array.isArray(attr)) {
				for (const k of Object.keys(attr))
					this.attr(node, k, attr[k]);
			} else if (attr !== undefined && attr !== null) {
				children = attr;
			}
			this.append(node, children);
			return node;
		},
		bindClassInstance(node, inst) { classInstances.set(node, inst); },
		findClassInstance(node) {
			for (let n = node; n; n = n.parentNode)
				if (classInstances.has(n))
					return classInstances.get(n);
			return null;
		},
		isEmpty(node) {
			return !this.elem(node) || node.childNodes.length === 0;
		}
	}).singleton();

	function E() { return dom.create.apply(dom, arguments); }

	/* ---- translation -------------------------------------------------- */

	/* SuperFastHash (Paul Hsieh) over UTF-8, seeded with the length, 16-bit
	 * reads little-endian, tail bytes sign-extended: the key of window.TR. */
	function sfh(s) {
		const b = new TextEncoder().encode(s);
		let len = b.length, i = 0, hash = len >>> 0, tmp;
		const rem = len & 3;
		const g16 = (o) => b[o] | (b[o + 1] << 8);
		const sc = (v) => (v > 127 ? v - 256 : v);
		for (len >>= 2; len > 0; len--) {
			hash = (hash + g16(i)) >>> 0;
			tmp = ((g16(i + 2) << 11) ^ hash) >>> 0;
			hash = ((hash << 16) ^ tmp) >>> 0;
			i += 4;
			hash = (hash + (hash >>> 11)) >>> 0;
		}
		switch (rem) {
		case 3:
			hash = (hash + g16(i)) >>> 0;
			hash = (hash ^ (hash << 16)) >>> 0;
			hash = (hash ^ (sc(b[i + 2]) << 18)) >>> 0;
			hash = (hash + (hash >>> 11)) >>> 0;
			break;
		case 2:
			hash = (hash + g16(i)) >>> 0;
			hash = (hash ^ (hash << 11)) >>> 0;
			hash = (hash + (hash >>> 17)) >>> 0;
			break;
		case 1:
			hash = (hash + sc(b[i])) >>> 0;
			hash = (hash ^ (hash << 10)) >>> 0;
			hash = (hash + (hash >>> 1)) >>> 0;
			break;
		}
		hash = (hash ^ (hash << 3)) >>> 0;
		hash = (hash + (hash >>> 5)) >>> 0;
		hash = (hash ^ (hash << 4)) >>> 0;
		hash = (hash + (hash >>> 17)) >>> 0;
		hash = (hash ^ (hash << 25)) >>> 0;
		hash = (hash + (hash >>> 6)) >>> 0;
		return ('0000000' + hash.toString(16)).slice(-8);
	}

	function translate(msgid, ctx) {
		const key = (ctx ? ctx + '\u0001' + msgid : msgid).replace(/\s+/g, ' ').trim();
		const tr = window.TR || {};
		const h = sfh(key);
		if (Object.prototype.hasOwnProperty.call(tr, h))
			return tr[h];
		if (window.__trLang && window.__trLang !== 'en') {
			window.__trMissing = window.__trMissing || [];
			if (window.__trMissing.indexOf(key) < 0)
				window.__trMissing.push(key);
		}
		return msgid;
	}
	window._ = translate;
	window.N_ = function (n, singular, plural, ctx) {
		const key = (ctx ? ctx + '\u0001' : '') + singular + '\u0002' + plural;
		const tr = window.TR || {};
		const h = sfh(key.replace(/\s+/g, ' ').trim());
		if (Object.prototype.hasOwnProperty.call(tr, h))
			return tr[h];
		return n === 1 ? translate(singular, ctx) : translate(plural, ctx);
	};
	window.__sfh = sfh;

	/* ---- String.prototype.format ------------------------------------- */

	function esc(s, attr) {
		s = String(s).replace(/&/g, '&#38;').replace(/</g, '&#60;').replace(/>/g, '&#62;');
		return attr ? s.replace(/"/g, '&#34;').replace(/'/g, '&#39;') : s.replace(/"/g, '&#34;');
	}

	String.prototype.format = function () {
		const args = arguments;
		let n = 0;
		return this.replace(/%(-?)(0?)(\d*)(?:\.(\d+))?([%sdfxXhqmt])/g, (m, left, zero, width, prec, code) => {
			if (code === '%')
				return '%';
			let v = args[n++];
			let out;
			switch (code) {
			case 's': out = (v === undefined || v === null) ? '' : String(v); break;
			case 'd': out = String(Math.trunc(Number(v) || 0)); break;
			case 'f': out = (Number(v) || 0).toFixed(prec === undefined ? 6 : +prec); break;
			case 'x': out = (Number(v) >>> 0).toString(16); break;
			case 'X': out = (Number(v) >>> 0).toString(16).toUpperCase(); break;
			case 'h': out = esc(v === undefined || v === null ? '' : v, false); break;
			case 'q': out = esc(v === undefined || v === null ? '' : v, true); break;
			case 't': {
				let s = Math.trunc(Number(v) || 0);
				const d = Math.floor(s / 86400); s %= 86400;
				const h = Math.floor(s / 3600); s %= 3600;
				const mi = Math.floor(s / 60); s %= 60;
				out = (d ? d + 'd ' : '') + (h || d ? h + 'h ' : '') + mi + 'm ' + s + 's';
				break;
			}
			case 'm': {
				const base = (width === '1024') ? 1024 : 1000;
				width = '';
				let x = Number(v) || 0, i = 0;
				const units = ['', 'K', 'M', 'G', 'T', 'P'];
				while (x >= base && i < units.length - 1) { x /= base; i++; }
				out = x.toFixed(prec === undefined ? 2 : +prec) + ' ' + units[i];
				break;
			}
			}
			if (width && out.length < +width) {
				const pad = (zero ? '0' : ' ').repeat(+width - out.length);
				out = left ? out + pad : pad + out;
			}
			return out;
		});
	};

	/* ---- request (a thin fetch wrapper with LuCI's method names) ----- */

	const Response = extend(baseclass, {
		__init__(res, text) {
			this.ok = res.ok;
			this.status = res.status;
			this.statusText = res.statusText;
			this.headers = res.headers;
			this.url = res.url;
			this.responseText = text;
		},
		text() { return this.responseText; },
		json() { return JSON.parse(this.responseText); }
	});

	const request = extend(baseclass, {
		request(url, opts) {
			opts = opts || {};
			const init = { method: opts.method || 'GET', headers: Object.assign({}, opts.headers || {}), credentials: opts.credentials ? 'include' : 'same-origin' };
			if (opts.content !== undefined) {
				if (typeof opts.content === 'object' && !(opts.content instanceof FormData)) {
					init.body = JSON.stringify(opts.content);
					init.headers['Content-Type'] = init.headers['Content-Type'] || 'application/json';
				} else {
					init.body = opts.content;
				}
			}
			if (opts.query) {
				const q = new URLSearchParams(opts.query).toString();
				if (q) url += (url.indexOf('?') < 0 ? '?' : '&') + q;
			}
			return window.fetch(url, init).then((res) => res.text().then((t) => new Response(res, t)));
		},
		get(url, opts) { return this.request(url, Object.assign({}, opts, { method: 'GET' })); },
		post(url, data, opts) { return this.request(url, Object.assign({}, opts, { method: 'POST', content: data })); }
	}).singleton();

	/* ---- poll --------------------------------------------------------- */

	const poll = extend(baseclass, {
		__init__() { this.queue = []; this.timer = null; this.tick = 0; },
		add(fn, interval) {
			if (typeof fn !== 'function')
				throw new TypeError('poll.add: not a function');
			interval = interval || (L.env && L.env.pollinterval) || 5;
			for (const e of this.queue)
				if (e.fn === fn) return false;
			this.queue.push({ fn, interval, busy: false });
			this.start();
			return true;
		},
		remove(fn) {
			const n = this.queue.length;
			this.queue = this.queue.filter((e) => e.fn !== fn);
			if (!this.queue.length) this.stop();
			return this.queue.length !== n;
		},
		start() {
			if (this.timer !== null) return false;
			this.timer = window.setInterval(() => this.step(), 1000);
			document.dispatchEvent(new CustomEvent('poll-start'));
			return true;
		},
		stop() {
			if (this.timer === null) return false;
			window.clearInterval(this.timer);
			this.timer = null;
			document.dispatchEvent(new CustomEvent('poll-stop'));
			return true;
		},
		active() { return this.timer !== null; },
		step() {
			this.tick++;
			for (const e of this.queue) {
				if (e.busy || this.tick % e.interval) continue;
				e.busy = true;
				Promise.resolve().then(e.fn).catch(L.error).finally(() => { e.busy = false; });
			}
		}
	}).singleton();

	/* ---- view --------------------------------------------------------- */

	const view = extend(baseclass, {
		__init__() {
			const vp = document.getElementById('view');
			dom.content(vp, E('div', { 'class': 'spinning' }, _('Loading view…')));
			return Promise.resolve(this.load())
				.then((data) => this.render(data))
				.then((nodes) => {
					dom.content(vp, nodes);
					dom.append(vp, this.addFooter());
					window.__viewReady = true;
					document.dispatchEvent(new CustomEvent('luci-loaded'));
				})
				.catch(L.error);
		},
		load() { return null; },
		render() { return null; },
		maps() {
			return Array.from(document.querySelectorAll('#maincontent .cbi-map')).map((n) => dom.findClassInstance(n)).filter((m) => m);
		},
		handleSave() {
			return Promise.all(this.maps().map((m) => m.save()));
		},
		handleSaveApply(ev, mode) {
			return this.handleSave(ev).then(() => L.require('ui')).then((ui) => ui.changes.apply(mode === '0'));
		},
		handleReset() {
			return Promise.all(this.maps().map((m) => m.reset()));
		},
		addFooter() {
			if (!document.querySelector('#maincontent .cbi-map'))
				return E([]);
			const btns = [];
			/* the form shows its own errors; the buttons only run the handlers */
			const run = (fn) => (ev) => Promise.resolve(fn(ev)).catch(() => null);
			if (this.handleSaveApply)
				btns.push(E('button', { 'class': 'cbi-button cbi-button-apply', 'id': 'btn-save-apply', 'click': run((ev) => this.handleSaveApply(ev, '1')) }, [_('Save & Apply')]), ' ');
			if (this.handleSave)
				btns.push(E('button', { 'class': 'cbi-button cbi-button-save', 'id': 'btn-save', 'click': run((ev) => this.handleSave(ev)) }, [_('Save')]), ' ');
			if (this.handleReset)
				btns.push(E('button', { 'class': 'cbi-button cbi-button-reset', 'id': 'btn-reset', 'click': run((ev) => this.handleReset(ev)) }, [_('Reset')]));
			return E('div', { 'class': 'cbi-page-actions' }, btns);
		}
	});

	/* ---- L ------------------------------------------------------------ */

	const builtins = { baseclass, dom, poll, request, view };
	const loaded = {};

	function parseDirectives(src) {
		const deps = [];
		const re = /^\s*(?:\/\*[\s\S]*?\*\/\s*|\/\/[^\n]*\n\s*)*(['"])([^'"\n]*)\1\s*;?/;
		let rest = src;
		for (;;) {
			const m = re.exec(rest);
			if (!m) break;
			rest = rest.slice(m[0].length);
			const d = m[2].trim();
			const rq = /^require\s+([\w.\-/]+)(?:\s+as\s+(\w+))?$/.exec(d);
			if (rq)
				deps.push({ name: rq[1], as: rq[2] || rq[1].replace(/.*[./]/, '') });
			else if (d !== 'use strict')
				break;
		}
		return deps;
	}

	const LuCI = extend(baseclass, {
		__init__(env) {
			this.env = env || {};
			this.Class = baseclass;
			this.dom = dom;
			this.view = view;
			this.Poll = poll;
			this.Request = request;
			window.L = this;
			window.addEventListener('error', (ev) => this.recordError(ev.error || ev.message));
			window.addEventListener('unhandledrejection', (ev) => this.recordError(ev.reason));
		},
		recordError(e) {
			window.__errors = window.__errors || [];
			window.__errors.push(String((e && e.stack) || e));
		},
		url() {
			const parts = Array.prototype.slice.call(arguments).filter((p) => p !== null && p !== undefined && p !== '');
			return [this.env.scriptname].concat(parts).join('/').replace(/\/+/g, '/');
		},
		resource() {
			return [this.env.resource].concat(Array.prototype.slice.call(arguments)).join('/').replace(/\/+/g, '/');
		},
		location() { return window.location.pathname.replace(this.env.scriptname, '').replace(/^\//, ''); },
		bind(fn, self) {
			const bound = Array.prototype.slice.call(arguments, 2);
			return function () { return fn.apply(self, bound.concat(Array.prototype.slice.call(arguments))); };
		},
		fcall(fn) {
			const args = Array.prototype.slice.call(arguments, 1);
			return new Promise((resolve) => resolve(fn.apply(null, args)));
		},
		resolveDefault(p, def) { return Promise.resolve(p).catch(() => def); },
		toArray(x) {
			if (x === null || x === undefined) return [];
			if (Array.isArray(x)) return x;
			if (typeof x === 'object') return [x];
			const s = String(x).trim();
			return s === '' ? [] : s.split(/\s+/);
		},
		isObject(x) { return x !== null && typeof x === 'object' && !Array.isArray(x); },
		sortedKeys(obj, key) {
			return Object.keys(obj || {}).sort((a, b) => {
				const x = key ? obj[a][key] : a, y = key ? obj[b][key] : b;
				return x < y ? -1 : x > y ? 1 : 0;
			});
		},
		raise(type, fmt) {
			const msg = fmt === undefined ? '' : String.prototype.format.apply(String(fmt), Array.prototype.slice.call(arguments, 2));
			const C = window[type] || Error;
			const e = new C(msg);
			e.name = type;
			throw e;
		},
		error(e) {
			const msg = (e && e.message) ? e.message : String(e);
			L.recordError(e);
			const vp = document.getElementById('view') || document.body;
			vp.appendChild(E('div', { 'class': 'alert-message error' }, [E('h4', {}, [_('Error')]), E('pre', {}, [msg])]));
			return Promise.reject(e);
		},
		require(name) {
			if (Object.prototype.hasOwnProperty.call(builtins, name))
				return Promise.resolve(builtins[name]);
			if (!loaded[name])
				loaded[name] = this.load(name);
			return loaded[name];
		},
		load(name) {
			const url = this.resource(name.replace(/\./g, '/') + '.js');
			return window.fetch(url, { cache: 'no-cache' }).then((res) => {
				if (!res.ok)
					throw new Error('Failed to load module ' + name + ' (' + url + '): HTTP ' + res.status);
				return res.text();
			}).then((src) => {
				const deps = parseDirectives(src);
				return Promise.all(deps.map((d) => this.require(d.name))).then((insts) => {
					let factory;
					try {
						factory = new Function(...['window', 'document', 'L'].concat(deps.map((d) => d.as)), src + '\n//# sourceURL=' + url);
					} catch (e) {
						throw new SyntaxError('Module ' + name + ': ' + e.message);
					}
					const C = factory.apply(window, [window, document, this].concat(insts));
					if (typeof C !== 'function' || !C.prototype)
						throw new TypeError('Module ' + name + ' did not return a class');
					return C.singleton ? C.singleton() : new C();
				});
			});
		}
	});

	/* ---- cbi_update_table -------------------------------------------- */

	window.cbi_update_table = function (table, data, placeholder) {
		if (typeof table === 'string')
			table = document.querySelector(table);
		if (!table) return;
		const titles = table.querySelector('.table-titles, tr');
		Array.from(table.querySelectorAll('.tr')).forEach((tr) => { if (tr !== titles) tr.parentNode.removeChild(tr); });
		const ph = table.querySelector('.tr.placeholder');
		if (ph) ph.parentNode.removeChild(ph);
		const ths = titles ? titles.querySelectorAll('.th') : [];
		(data || []).forEach((row, i) => {
			const tr = E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + (i % 2)) });
			row.forEach((cell, j) => {
				const th = ths[j];
				let val = cell;
				if (Array.isArray(cell) && cell.length === 2 && !dom.elem(cell[0]))
					val = cell[1];
				tr.appendChild(E('td', { 'class': 'td' + (th && th.classList.contains('right') ? ' right' : ''), 'data-title': th ? th.textContent : null }, val));
			});
			table.appendChild(tr);
		});
		if (!data || !data.length)
			table.appendChild(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td', 'colspan': ths.length || 1 }, [placeholder || _('No data')])));
	};

	window.LuCI = LuCI;
	window.E = E;
}(window, document));
