'use strict';
'require baseclass';

/*
 * Clean-room shim of LuCI's rpc module for the tamon harness: ubus calls as
 * JSON-RPC 2.0 {"method":"call","params":[sid, object, method, args]} to
 * L.env.ubuspath, answered {"result":[status, data]}.
 */

let seq = 1;

return baseclass.extend({
	getSessionID() { return L.env.sessionid; },
	setSessionID(sid) { L.env.sessionid = sid; },
	getBaseURL() { return L.env.ubuspath; },

	call(object, method, args) {
		const id = seq++;
		const body = { jsonrpc: '2.0', id: id, method: 'call', params: [this.getSessionID(), object, method, args || {}] };
		return window.fetch(L.env.ubuspath, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body)
		}).then((res) => {
			if (res.status === 403 && res.headers.get('X-LuCI-Login-Required') === 'yes')
				throw new Error(_('Session expired'));
			if (!res.ok)
				throw new Error('RPC call to ' + object + '/' + method + ' failed with HTTP error ' + res.status);
			return res.json();
		}).then((msg) => {
			if (msg.error)
				throw new Error('RPC call to ' + object + '/' + method + ' failed with error ' + msg.error.code + ': ' + msg.error.message);
			return msg.result;
		});
	},

	declare(opts) {
		const self = this;
		const params = opts.params || [];
		return function () {
			const callArgs = arguments;
			const args = {};
			params.forEach((p, i) => { if (callArgs[i] !== undefined) args[p] = callArgs[i]; });
			return self.call(opts.object, opts.method, args).then((result) => {
				const status = Array.isArray(result) ? result[0] : -1;
				let data = Array.isArray(result) ? result[1] : undefined;
				if (status !== 0) {
					if (opts.reject)
						throw new Error('RPC call to ' + opts.object + '/' + opts.method + ' failed with ubus code ' + status);
					return status;
				}
				if (opts.expect) {
					for (const key of Object.keys(opts.expect)) {
						const def = opts.expect[key];
						if (key !== '')
							data = (data && typeof data === 'object') ? data[key] : undefined;
						if (data === undefined || data === null ||
						    (def !== null && typeof def !== typeof data) ||
						    (Array.isArray(def) !== Array.isArray(data)))
							data = def;
						break;
					}
				}
				if (typeof opts.filter === 'function')
					data = opts.filter(data, args, ...Array.prototype.slice.call(callArgs, params.length));
				return data;
			});
		};
	}
});
