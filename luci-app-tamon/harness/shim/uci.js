'use strict';
'require baseclass';
'require rpc';

/*
 * Clean-room shim of LuCI's uci module for the tamon harness. Values are
 * loaded through ubus "uci get", changed locally, and written by save()
 * through "uci add/set/delete" into the session's staging area; apply()
 * commits them (rpcd's "uci apply").
 */

const callGet = rpc.declare({ object: 'uci', method: 'get', params: ['config'], expect: { values: {} }, reject: true });
const callAdd = rpc.declare({ object: 'uci', method: 'add', params: ['config', 'type', 'name', 'values'], expect: { section: '' }, reject: true });
const callSet = rpc.declare({ object: 'uci', method: 'set', params: ['config', 'section', 'values'], reject: true });
const callDelete = rpc.declare({ object: 'uci', method: 'delete', params: ['config', 'section', 'options'], reject: true });
const callApply = rpc.declare({ object: 'uci', method: 'apply', params: ['timeout', 'rollback'], reject: true });
const callChanges = rpc.declare({ object: 'uci', method: 'changes', expect: { changes: {} } });

let newSeq = 0;

return baseclass.extend({
	__init__() {
		this.state = { values: {}, creates: {}, changes: {}, deletes: {} };
		this.loaded = {};
	},

	createSID(conf) {
		return 'new' + (++newSeq).toString(16).padStart(6, '0');
	},

	load(packages) {
		const list = L.toArray(packages);
		return Promise.all(list.map((p) => {
			if (this.loaded[p]) return p;
			return callGet(p).then((values) => { this.state.values[p] = values; this.loaded[p] = true; return p; });
		}));
	},

	unload(packages) {
		for (const p of L.toArray(packages)) {
			delete this.state.values[p];
			delete this.state.creates[p];
			delete this.state.changes[p];
			delete this.state.deletes[p];
			delete this.loaded[p];
		}
	},

	section(conf, sid) {
		const c = this.state.creates[conf];
		if (c && c[sid]) return c[sid];
		if (this.state.deletes[conf] && this.state.deletes[conf][sid] === true) return null;
		const v = this.state.values[conf];
		return v ? v[sid] || null : null;
	},

	sections(conf, type, cb) {
		const out = [];
		const v = Object.assign({}, this.state.values[conf] || {}, this.state.creates[conf] || {});
		for (const sid of Object.keys(v)) {
			const s = this.section(conf, sid);
			if (!s || (type && s['.type'] !== type)) continue;
			out.push(this.merged(conf, sid));
		}
		out.sort((a, b) => (a['.index'] || 0) - (b['.index'] || 0));
		if (typeof cb === 'function')
			out.forEach((s) => cb.call(this, s, s['.name']));
		return out;
	},

	merged(conf, sid) {
		const base = this.section(conf, sid);
		if (!base) return null;
		const s = Object.assign({}, base);
		const ch = (this.state.changes[conf] || {})[sid] || {};
		const del = (this.state.deletes[conf] || {})[sid] || {};
		for (const k of Object.keys(del)) delete s[k];
		Object.assign(s, ch);
		return s;
	},

	get(conf, sid, opt) {
		const s = this.merged(conf, sid);
		if (!s) return null;
		if (opt === undefined || opt === null) return s;
		return s[opt];
	},

	get_first(conf, type, opt) {
		const list = this.sections(conf, type);
		if (!list.length) return null;
		return opt === undefined ? list[0] : list[0][opt];
	},

	set(conf, sid, opt, val) {
		if (!this.section(conf, sid)) return;
		if (val === null || val === undefined || val === '' || (Array.isArray(val) && !val.length)) {
			this.unset(conf, sid, opt);
			return;
		}
		const ch = this.state.changes;
		ch[conf] = ch[conf] || {};
		ch[conf][sid] = ch[conf][sid] || {};
		ch[conf][sid][opt] = Array.isArray(val) ? val.slice() : String(val);
		const del = (this.state.deletes[conf] || {})[sid];
		if (del && del !== true) delete del[opt];
	},

	unset(conf, sid, opt) {
		const ch = ((this.state.changes[conf] || {})[sid]) || {};
		delete ch[opt];
		const d = this.state.deletes;
		d[conf] = d[conf] || {};
		if (d[conf][sid] === true) return;
		d[conf][sid] = d[conf][sid] || {};
		d[conf][sid][opt] = true;
	},

	add(conf, type, name) {
		const sid = name || this.createSID(conf);
		const c = this.state.creates;
		c[conf] = c[conf] || {};
		c[conf][sid] = { '.type': type, '.name': sid, '.anonymous': !name, '.create': name || true, '.index': 1000 + newSeq };
		return sid;
	},

	remove(conf, sid) {
		const c = this.state.creates[conf];
		if (c && c[sid]) { delete c[sid]; return; }
		const d = this.state.deletes;
		d[conf] = d[conf] || {};
		d[conf][sid] = true;
	},

	changes() { return callChanges(); },

	save() {
		const tasks = [];
		const pkgs = {};
		for (const conf of Object.keys(this.state.deletes))
			for (const sid of Object.keys(this.state.deletes[conf])) {
				const d = this.state.deletes[conf][sid];
				if (this.state.creates[conf] && this.state.creates[conf][sid]) continue;
				tasks.push(() => callDelete(conf, sid, d === true ? undefined : Object.keys(d)));
				pkgs[conf] = true;
			}
		for (const conf of Object.keys(this.state.creates))
			for (const sid of Object.keys(this.state.creates[conf])) {
				const s = this.state.creates[conf][sid];
				const values = Object.assign({}, (this.state.changes[conf] || {})[sid] || {});
				tasks.push(() => callAdd(conf, s['.type'], s['.anonymous'] ? undefined : sid, values));
				if (this.state.changes[conf]) delete this.state.changes[conf][sid];
				pkgs[conf] = true;
			}
		for (const conf of Object.keys(this.state.changes))
			for (const sid of Object.keys(this.state.changes[conf])) {
				const v = this.state.changes[conf][sid];
				if (!Object.keys(v).length) continue;
				tasks.push(() => callSet(conf, sid, v));
				pkgs[conf] = true;
			}
		let p = Promise.resolve();
		tasks.forEach((t) => { p = p.then(t); });
		return p.then(() => {
			const list = Object.keys(pkgs).concat(Object.keys(this.loaded));
			this.unload(list);
			return this.load(list);
		}).then(() => Object.keys(pkgs));
	},

	apply(timeout) {
		return callApply(timeout, false);
	}
});
