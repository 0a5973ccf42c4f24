'use strict';
'require baseclass';
'require dom';
'require request';

/*
 * Clean-room shim of LuCI's ui module for the tamon harness: notifications,
 * the modal dialog, handler functions that disable their button while busy,
 * Save & Apply (changes.apply) and view instantiation.
 */

const changes = baseclass.extend({
	apply(checked) {
		const sid = L.env.sessionid;
		const form = (o) => Object.keys(o).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(o[k])).join('&');
		const post = (path, data) => window.fetch(L.url('admin/uci', path), {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: form(data)
		});
		const ui = L.ui;
		ui.showModal(_('Configuration') + ' – ' + _('Apply'), [E('p', { 'class': 'spinning' }, [_('Applying configuration changes…')])]);
		return post(checked ? 'apply_rollback' : 'apply_unchecked', { sid: sid }).then((res) => res.json().then((j) => {
			if (!res.ok)
				throw new Error(_('Apply request failed with status %d').format(res.status));
			if (!checked)
				return j;
			return post('confirm', { sid: sid, token: j.token }).then((r) => {
				if (!r.ok)
					throw new Error(_('Confirm request failed with status %d').format(r.status));
				return j;
			});
		})).then(() => {
			ui.hideModal();
			ui.addNotification(null, E('p', {}, [_('Configuration changes applied.')]), 'info');
			document.dispatchEvent(new CustomEvent('uci-applied'));
			window.setTimeout(() => window.location.reload(), 1500);
		}).catch((e) => {
			ui.hideModal();
			ui.addNotification(null, E('p', {}, [e.message]), 'error');
		});
	},
	setIndicator() {},
	renderChangeIndicator() {}
});

return baseclass.extend({
	__init__() {
		this.changes = new changes();
		L.ui = this;
	},

	addNotification(title, children, ...classes) {
		const mc = document.querySelector('#maincontent') || document.body;
		const msg = E('div', { 'class': 'alert-message fade-in ' + classes.join(' ') }, [
			E('div', { 'style': 'display:flex' }, [
				E('div', { 'style': 'flex:10' }, []),
				E('button', { 'class': 'btn', 'click': () => msg.remove() }, [_('Dismiss')])
			])
		]);
		const body = msg.firstChild.firstChild;
		if (title)
			body.appendChild(E('h4', {}, [title]));
		dom.append(body, children);
		mc.insertBefore(msg, mc.firstChild);
		return msg;
	},

	showModal(title, children, ...classes) {
		let overlay = document.getElementById('modal_overlay');
		if (!overlay) {
			overlay = E('div', { 'id': 'modal_overlay' }, [E('div', { 'class': 'modal', 'role': 'dialog', 'aria-modal': 'true' })]);
			document.body.appendChild(overlay);
		}
		const dlg = overlay.firstChild;
		dlg.className = 'modal ' + classes.join(' ');
		dom.content(dlg, []);
		if (title)
			dlg.appendChild(E('h4', {}, [title]));
		dom.append(dlg, children);
		document.body.classList.add('modal-overlay-active');
		return dlg;
	},

	hideModal() {
		document.body.classList.remove('modal-overlay-active');
	},

	createHandlerFn(ctx, fn, ...args) {
		if (typeof fn === 'string')
			fn = ctx[fn];
		if (typeof fn !== 'function')
			return null;
		return function (ev) {
			const btn = ev && ev.currentTarget;
			if (btn) btn.classList.add('spinning'), btn.disabled = true;
			return Promise.resolve(fn.apply(ctx, args.concat([ev]))).finally(() => {
				if (btn) btn.classList.remove('spinning'), btn.disabled = false;
			});
		};
	},

	instantiateView(path) {
		return L.require('view.' + path.replace(/\//g, '.')).catch((e) => {
			dom.content(document.getElementById('view'), E('div', { 'class': 'alert-message error' }, [e.message]));
			L.recordError(e);
		});
	}
});
