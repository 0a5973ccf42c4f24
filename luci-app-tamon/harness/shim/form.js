'use strict';
'require baseclass';
'require dom';
'require uci';
'require ui';

/*
 * Clean-room shim of LuCI's form module for the tamon harness: Map over a UCI
 * package; NamedSection, TypedSection and TableSection; the options Value,
 * Flag, ListValue, MultiValue, DynamicList and DummyValue; tabs, depends(),
 * datatypes and validate(). Widget ids follow LuCI's "widget.cbid.<config>.
 * <section>.<option>" so tests can find them.
 */

function checkDatatype(dt, v) {
	if (!dt || v === '' || v === null || v === undefined)
		return true;
	let m;
	const num = (s) => /^-?\d+$/.test(s) ? parseInt(s, 10) : NaN;
	if (dt === 'string') return true;
	if (dt === 'uinteger') return /^\d+$/.test(v);
	if (dt === 'integer') return /^-?\d+$/.test(v);
	if (dt === 'port') return /^\d+$/.test(v) && +v >= 0 && +v <= 65535;
	if (dt === 'macaddr') return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v);
	if (dt === 'hostname' || dt === 'host') return /^[a-zA-Z0-9_.:[\]-]+$/.test(v) && v.length <= 253;
	if ((m = /^range\((-?\d+),\s*(-?\d+)\)$/.exec(dt)))
		return !isNaN(num(v)) && num(v) >= +m[1] && num(v) <= +m[2];
	if ((m = /^min\((-?\d+)\)$/.exec(dt))) return !isNaN(num(v)) && num(v) >= +m[1];
	if ((m = /^max\((-?\d+)\)$/.exec(dt))) return !isNaN(num(v)) && num(v) <= +m[1];
	if ((m = /^maxlength\((\d+)\)$/.exec(dt))) return String(v).length <= +m[1];
	throw new Error('form shim: datatype "' + dt + '" is not implemented');
}

const AbstractElement = baseclass.extend({
	__init__(title, description) {
		this.title = title || '';
		this.description = description || '';
		this.children = [];
	},
	append(obj) { this.children.push(obj); return obj; },
	loadChildren(sid) { return Promise.all(this.children.map((c) => c.load(sid))); },
	renderChildren(tab, sid) {
		return Promise.all(this.children.filter((c) => tab === null || c.tab === tab).map((c) => c.render(sid)));
	},
	stripTags(s) { return String(s).replace(/<[^>]*>/g, ''); }
});

const CBIMap = AbstractElement.extend({
	__init__(config, title, description) {
		AbstractElement.prototype.__init__.call(this, title, description);
		this.config = config;
		this.readonly = false;
	},
	section(cbiClass, ...args) {
		if (!CBIAbstractSection.isSubclass(cbiClass))
			L.raise('TypeError', 'Class must be a descendant of CBIAbstractSection');
		const s = new cbiClass(this, ...args);
		this.append(s);
		return s;
	},
	load() {
		return uci.load(this.config).then(() => this.loadChildren());
	},
	render() {
		return this.load().then(() => this.renderContents());
	},
	renderContents() {
		return this.renderChildren(null).then((nodes) => {
			const node = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, []);
			if (this.title) node.appendChild(E('h2', { 'name': 'content' }, [this.title]));
			if (this.description) node.appendChild(E('div', { 'class': 'cbi-map-descr' }, [this.description]));
			dom.append(node, nodes);
			dom.bindClassInstance(node, this);
			this.root = node;
			this.checkDepends();
			return node;
		});
	},
	lookupOption(name, sid) {
		for (const s of this.children)
			for (const o of s.children)
				if (o.option === name && (sid === undefined || s.cfgsections().indexOf(sid) >= 0))
					return [o, sid];
		return null;
	},
	checkDepends() {
		for (const s of this.children)
			for (const sid of s.cfgsections())
				for (const o of s.children)
					o.updateActive(sid);
	},
	parse() {
		const errors = [];
		for (const s of this.children)
			for (const sid of s.cfgsections())
				for (const o of s.children) {
					const e = o.parse(sid);
					if (e) errors.push(e);
				}
		if (errors.length) {
			ui.addNotification(null, E('ul', {}, errors.map((e) => E('li', {}, [e]))), 'error');
			return Promise.reject(new Error(_('Some fields are invalid, cannot save values!')));
		}
		return Promise.resolve();
	},
	save(cb, silent) {
		return this.parse().then(() => {
			if (typeof cb === 'function') cb();
			return uci.save();
		}).then(() => this.reset()).catch((e) => {
			if (!silent) ui.addNotification(null, E('p', {}, [e.message]), 'error');
			throw e;
		});
	},
	reset() {
		const old = this.root;
		return this.renderContents().then((node) => {
			if (old && old.parentNode) old.parentNode.replaceChild(node, old);
			return node;
		});
	}
});

const CBIAbstractSection = AbstractElement.extend({
	__init__(map, sectionType, title, description) {
		AbstractElement.prototype.__init__.call(this, title, description);
		this.map = map;
		this.config = map.config;
		this.sectiontype = sectionType;
		this.tabs = null;
		this.tab_names = [];
		this.anonymous = false;
		this.addremove = false;
		this.optional = true;
	},
	cfgsections() { return []; },
	filter() { return true; },
	tab(name, title, description) {
		this.tabs = this.tabs || {};
		this.tabs[name] = { name, title, description };
		this.tab_names.push(name);
	},
	option(cbiClass, option, title, description) {
		if (!CBIAbstractValue.isSubclass(cbiClass))
			L.raise('TypeError', 'Class must be a descendant of CBIAbstractValue');
		const o = new cbiClass(this.map, this, option, title, description);
		this.append(o);
		return o;
	},
	taboption(tabName, ...args) {
		if (!this.tabs || !this.tabs[tabName])
			L.raise('ReferenceError', 'Associated tab not declared');
		const o = this.option(...args);
		o.tab = tabName;
		return o;
	},
	load() {
		return Promise.all(this.cfgsections().map((sid) => this.loadChildren(sid)));
	},
	renderOptions(sid) {
		if (!this.tabs)
			return this.renderChildren(null, sid).then((nodes) => E('div', { 'class': 'cbi-section-node', 'id': 'cbi-' + this.config + '-' + sid }, nodes));
		return Promise.all(this.tab_names.map((t) => this.renderChildren(t, sid))).then((panes) => {
			const menu = E('ul', { 'class': 'cbi-tabmenu' });
			const node = E('div', { 'class': 'cbi-section-node cbi-section-node-tabbed', 'id': 'cbi-' + this.config + '-' + sid }, [menu]);
			panes.forEach((nodes, i) => {
				const name = this.tab_names[i];
				const pane = E('div', { 'class': 'cbi-tab-pane', 'data-tab': name, 'style': i ? 'display:none' : '' }, nodes);
				const li = E('li', { 'class': i ? 'cbi-tab-disabled' : 'cbi-tab', 'data-tab': name }, [E('a', {
					'href': '#', 'click': (ev) => {
						ev.preventDefault();
						menu.querySelectorAll('li').forEach((x) => { x.className = (x === li) ? 'cbi-tab' : 'cbi-tab-disabled'; });
						node.querySelectorAll(':scope > .cbi-tab-pane').forEach((p) => { p.style.display = (p === pane) ? '' : 'none'; });
					}
				}, [this.tabs[name].title])]);
				menu.appendChild(li);
				node.appendChild(pane);
			});
			return node;
		});
	}
});

const CBINamedSection = CBIAbstractSection.extend({
	__init__(map, sectionId, sectionType, title, description) {
		CBIAbstractSection.prototype.__init__.call(this, map, sectionType, title, description);
		this.section = sectionId;
	},
	cfgsections() { return [this.section]; },
	render() {
		const exists = !!uci.get(this.config, this.section);
		if (!exists && !this.addremove)
			return Promise.resolve(E('div', { 'class': 'cbi-section' }, [E('em', {}, [_('This section contains no values yet')])]));
		return this.renderOptions(this.section).then((body) => E('div', { 'class': 'cbi-section', 'id': 'cbi-' + this.config + '-' + this.section }, [
			this.title ? E('h3', {}, [this.title]) : '',
			this.description ? E('div', { 'class': 'cbi-section-descr' }, [this.description]) : '',
			body
		]));
	}
});

const CBITypedSection = CBIAbstractSection.extend({
	cfgsections() {
		return uci.sections(this.config, this.sectiontype).map((s) => s['.name']).filter((sid) => this.filter(sid));
	},
	handleAdd(ev, name) {
		return this.map.save(null, true).catch(() => null).then(() => {
			uci.add(this.config, this.sectiontype, this.anonymous ? undefined : name);
			return this.map.reset();
		});
	},
	handleRemove(sid) {
		return this.map.save(null, true).catch(() => null).then(() => {
			uci.remove(this.config, sid);
			return this.map.reset();
		});
	},
	renderAddButton() {
		if (!this.addremove) return '';
		const btn = E('button', { 'class': 'cbi-button cbi-button-add', 'title': _('Add'), 'click': (ev) => { ev.preventDefault(); return this.handleAdd(ev); } }, [_('Add')]);
		return E('div', { 'class': 'cbi-section-create' }, [btn]);
	},
	render() {
		const sids = this.cfgsections();
		return Promise.all(sids.map((sid) => this.renderOptions(sid))).then((bodies) => E('div', { 'class': 'cbi-section', 'id': 'cbi-' + this.config + '-' + this.sectiontype }, [
			this.title ? E('h3', {}, [this.title]) : '',
			this.description ? E('div', { 'class': 'cbi-section-descr' }, [this.description]) : '',
			bodies.map((b, i) => E('div', { 'class': 'cbi-section-item' }, [
				this.addremove ? E('div', { 'class': 'cbi-section-remove right' }, [E('button', { 'class': 'cbi-button cbi-button-remove', 'click': (ev) => { ev.preventDefault(); return this.handleRemove(sids[i]); } }, [_('Delete')])]) : '',
				b
			])),
			sids.length ? '' : E('em', {}, [_('This section contains no values yet')]),
			this.renderAddButton()
		]));
	}
});

const CBITableSection = CBITypedSection.extend({
	render() {
		const sids = this.cfgsections();
		const opts = this.children;
		return Promise.all(sids.map((sid) => Promise.all(opts.map((o) => o.renderWidget(sid))))).then((rows) => {
			const table = E('table', { 'class': 'table cbi-section-table' }, [
				E('tr', { 'class': 'tr table-titles' }, opts.map((o) => E('th', { 'class': 'th cbi-section-table-cell' }, [o.title])).concat(this.addremove ? [E('th', { 'class': 'th' })] : []))
			]);
			rows.forEach((cells, i) => {
				const sid = sids[i];
				table.appendChild(E('tr', { 'class': 'tr cbi-section-table-row', 'id': 'cbi-' + this.config + '-' + sid, 'data-sid': sid },
					cells.map((c) => E('td', { 'class': 'td cbi-value-field' }, [c])).concat(this.addremove ? [E('td', { 'class': 'td cbi-section-table-cell nowrap cbi-section-actions' }, [
						E('button', { 'class': 'cbi-button cbi-button-remove', 'click': (ev) => { ev.preventDefault(); return this.handleRemove(sid); } }, [_('Delete')])
					])] : [])));
			});
			if (!sids.length)
				table.appendChild(E('tr', { 'class': 'tr placeholder' }, [E('td', { 'class': 'td', 'colspan': opts.length + 1 }, [E('em', {}, [_('This section contains no values yet')])])]));
			return E('div', { 'class': 'cbi-section cbi-tblsection', 'id': 'cbi-' + this.config + '-' + this.sectiontype }, [
				this.title ? E('h3', {}, [this.title]) : '',
				this.description ? E('div', { 'class': 'cbi-section-descr' }, [this.description]) : '',
				table,
				this.renderAddButton()
			]);
		});
	}
});

const CBIAbstractValue = AbstractElement.extend({
	__init__(map, section, option, title, description) {
		AbstractElement.prototype.__init__.call(this, title, description);
		this.map = map;
		this.section = section;
		this.config = map.config;
		this.option = option;
		this.rmempty = true;
		this.default = null;
		this.datatype = null;
		this.placeholder = null;
		this.keylist = [];
		this.vallist = [];
		this.deps = [];
		this.tab = null;
		this.optional = false;
		this.readonly = null;
		this.password = false;
		this.retain = false;
	},
	value(key, label) {
		this.keylist.push(String(key));
		this.vallist.push(label !== undefined ? label : String(key));
	},
	depends(field, value) {
		const d = (typeof field === 'object') ? field : { [field]: value };
		this.deps.push(d);
	},
	cbid(sid) { return 'cbid.' + this.config + '.' + sid + '.' + this.option; },
	load(sid) { return Promise.resolve(); },
	cfgvalue(sid) {
		const v = uci.get(this.config, sid, this.option);
		return (v === undefined) ? null : v;
	},
	textvalue(sid) {
		let v = this.cfgvalue(sid);
		if (v === null || v === undefined) v = this.default;
		return Array.isArray(v) ? v.join(' ') : (v === null || v === undefined ? '' : String(v));
	},
	widgetNode(sid) {
		const id = 'widget.' + this.cbid(sid);
		const root = this.map.root;
		return (root && root.querySelector('[id="' + id + '"]')) || document.getElementById(id);
	},
	formvalue(sid) {
		const n = this.widgetNode(sid);
		return n ? n.value : null;
	},
	isActive(sid) {
		if (!this.deps.length) return true;
		return this.deps.some((d) => Object.keys(d).every((k) => {
			const r = this.map.lookupOption(k, sid);
			if (!r) return false;
			const o = r[0];
			const v = o.widgetNode(sid) ? o.formvalue(sid) : o.textvalue(sid);
			return String(Array.isArray(v) ? v.join(' ') : v) === String(d[k]);
		}));
	},
	updateActive(sid) {
		const id = 'cbi-' + this.config + '-' + sid + '-' + this.option;
		const row = (this.map.root && this.map.root.querySelector('[id="' + id + '"]')) || document.getElementById(id);
		if (row) row.style.display = this.isActive(sid) ? '' : 'none';
	},
	validateValue(sid, v) {
		const list = Array.isArray(v) ? v : [v];
		for (const x of list)
			if (!checkDatatype(this.datatype, x))
				return _('Expecting: %s').format(this.datatype);
		if (typeof this.validate === 'function') {
			const r = this.validate(sid, Array.isArray(v) ? v.join(' ') : v);
			if (r !== true) return r;
		}
		return true;
	},
	validate() { return true; },
	isEmpty(v) { return v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length); },
	parse(sid) {
		if (this.readonly || this.map.readonly || !this.widgetNode(sid) && !this.widgetList)
			return null;
		const active = this.isActive(sid);
		const fv = this.formvalue(sid);
		if (!active) {
			if (!this.retain) this.remove(sid);
			return null;
		}
		const ok = this.validateValue(sid, fv);
		if (ok !== true)
			return (this.title || this.option) + ': ' + ok;
		const cv = this.cfgvalue(sid);
		if (this.isEmpty(fv) && this.rmempty) {
			if (!this.isEmpty(cv)) this.remove(sid);
			return null;
		}
		if (JSON.stringify(fv) !== JSON.stringify(cv))
			this.write(sid, fv);
		return null;
	},
	write(sid, v) { uci.set(this.config, sid, this.option, v); },
	remove(sid) { uci.unset(this.config, sid, this.option); },
	render(sid) {
		return Promise.resolve(this.renderWidget(sid)).then((w) => {
			const id = 'cbi-' + this.config + '-' + sid + '-' + this.option;
			const row = E('div', { 'class': 'cbi-value', 'id': id, 'data-name': this.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': 'widget.' + this.cbid(sid) }, [this.title]),
				E('div', { 'class': 'cbi-value-field' }, [w, this.description ? E('div', { 'class': 'cbi-value-description' }, [this.description]) : ''])
			]);
			row.addEventListener('change', () => window.setTimeout(() => this.map.checkDepends(), 0));
			return row;
		});
	},
	renderWidget(sid) { return E('span', {}, [this.textvalue(sid)]); }
});

const CBIValue = CBIAbstractValue.extend({
	renderWidget(sid) {
		const attrs = {
			'id': 'widget.' + this.cbid(sid), 'name': this.cbid(sid), 'type': this.password ? 'password' : 'text',
			'class': 'cbi-input-text', 'value': this.textvalue(sid), 'placeholder': this.placeholder
		};
		if (this.readonly || this.map.readonly) attrs.disabled = '';
		const input = E('input', attrs);
		input.value = this.textvalue(sid);
		if (!this.keylist.length)
			return input;
		const listId = 'list.' + this.cbid(sid);
		input.setAttribute('list', listId);
		return E('span', {}, [input, E('datalist', { 'id': listId }, this.keylist.map((k, i) => E('option', { 'value': k }, [this.vallist[i]])))]);
	},
	formvalue(sid) {
		const n = this.widgetNode(sid);
		return n ? n.value.trim() : null;
	}
});

const CBIFlag = CBIValue.extend({
	__init__(...args) {
		CBIValue.prototype.__init__.apply(this, args);
		this.enabled = '1';
		this.disabled = '0';
		this.default = this.disabled;
	},
	renderWidget(sid) {
		const v = this.textvalue(sid);
		const cb = E('input', { 'id': 'widget.' + this.cbid(sid), 'name': this.cbid(sid), 'type': 'checkbox', 'class': 'cbi-input-checkbox', 'value': '1' });
		cb.checked = (v === this.enabled);
		if (this.readonly || this.map.readonly) cb.disabled = true;
		return E('div', { 'class': 'cbi-checkbox' }, [cb, E('label', { 'for': 'widget.' + this.cbid(sid) })]);
	},
	formvalue(sid) {
		const n = this.widgetNode(sid);
		return n ? (n.checked ? this.enabled : this.disabled) : null;
	},
	parse(sid) {
		if (this.readonly || !this.widgetNode(sid)) return null;
		if (!this.isActive(sid)) { if (!this.retain) this.remove(sid); return null; }
		const fv = this.formvalue(sid);
		const def = this.default === null ? this.disabled : String(this.default);
		const cv = this.cfgvalue(sid);
		if (this.rmempty && fv === def) {
			if (cv !== null && cv !== undefined) this.remove(sid);
		} else if (fv !== cv) {
			this.write(sid, fv);
		}
		return null;
	}
});

const CBIListValue = CBIValue.extend({
	renderWidget(sid) {
		const v = this.textvalue(sid);
		const sel = E('select', { 'id': 'widget.' + this.cbid(sid), 'name': this.cbid(sid), 'class': 'cbi-input-select' },
			this.keylist.map((k, i) => E('option', { 'value': k }, [this.vallist[i]])));
		sel.value = this.keylist.indexOf(v) >= 0 ? v : (this.keylist[0] || '');
		if (this.readonly || this.map.readonly) sel.disabled = true;
		return sel;
	}
});

const CBIMultiValue = CBIAbstractValue.extend({
	__init__(...args) {
		CBIAbstractValue.prototype.__init__.apply(this, args);
		this.widgetList = true;
	},
	cfgvalue(sid) { return L.toArray(uci.get(this.config, sid, this.option)); },
	renderWidget(sid) {
		const cur = L.toArray(this.cfgvalue(sid).length ? this.cfgvalue(sid) : this.default);
		const keys = this.keylist.slice();
		const labels = this.vallist.slice();
		cur.forEach((c) => { if (keys.indexOf(c) < 0) { keys.push(c); labels.push(c); } });
		return E('div', { 'id': 'widget.' + this.cbid(sid), 'class': 'cbi-multivalue' }, keys.map((k, i) => {
			const cb = E('input', { 'type': 'checkbox', 'value': k, 'id': 'widget.' + this.cbid(sid) + '.' + k, 'data-key': k });
			cb.checked = cur.indexOf(k) >= 0;
			return E('label', { 'class': 'cbi-multivalue-item' }, [cb, ' ', labels[i]]);
		}));
	},
	formvalue(sid) {
		const n = this.widgetNode(sid);
		if (!n) return null;
		return Array.from(n.querySelectorAll('input[type=checkbox]')).filter((c) => c.checked).map((c) => c.value);
	}
});

const CBIDynamicList = CBIMultiValue.extend({
	renderWidget(sid) {
		const cur = L.toArray(this.cfgvalue(sid).length ? this.cfgvalue(sid) : this.default);
		const box = E('div', { 'id': 'widget.' + this.cbid(sid), 'class': 'cbi-dynlist' });
		const addItem = (v) => {
			const item = E('div', { 'class': 'item' }, [E('span', {}, [v]), ' ', E('button', { 'class': 'cbi-button cbi-button-remove', 'click': (ev) => { ev.preventDefault(); item.remove(); } }, ['×'])]);
			item.setAttribute('data-value', v);
			box.insertBefore(item, adder);
		};
		const input = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': this.placeholder });
		const adder = E('div', { 'class': 'add-item' }, [input, ' ', E('button', { 'class': 'cbi-button cbi-button-add', 'click': (ev) => {
			ev.preventDefault();
			if (input.value.trim()) { addItem(input.value.trim()); input.value = ''; }
		} }, ['+'])]);
		box.appendChild(adder);
		cur.forEach(addItem);
		return box;
	},
	formvalue(sid) {
		const n = this.widgetNode(sid);
		if (!n) return null;
		return Array.from(n.querySelectorAll('.item')).map((i) => i.getAttribute('data-value'));
	}
});

const CBIDummyValue = CBIAbstractValue.extend({
	renderWidget(sid) {
		return E('div', { 'id': 'widget.' + this.cbid(sid) }, [this.textvalue(sid)]);
	},
	parse() { return null; }
});

return baseclass.extend({
	Map: CBIMap,
	AbstractSection: CBIAbstractSection,
	NamedSection: CBINamedSection,
	TypedSection: CBITypedSection,
	TableSection: CBITableSection,
	AbstractValue: CBIAbstractValue,
	Value: CBIValue,
	Flag: CBIFlag,
	ListValue: CBIListValue,
	MultiValue: CBIMultiValue,
	DynamicList: CBIDynamicList,
	DummyValue: CBIDummyValue
});
