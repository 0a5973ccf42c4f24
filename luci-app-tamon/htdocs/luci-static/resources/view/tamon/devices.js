'use strict';
'require view';
'require ui';
'require tamon.api as api';
'require tamon.table as table';

/* Devices: the inventory of LAN devices; rename one in place. */

/*
 * The name cell: the name, and a pencil that turns it into an input. Saving
 * writes the UCI alias through the daemon (PUT /devices/<mac>/alias), which
 * reloads and shows the new name everywhere.
 */
function nameCell(row) {
	const cell = E('span', { 'class': 'tamon-name' });
	const show = () => {
		const name = row.alias || row.hostname;
		cell.replaceChildren(
			E('a', { 'href': table.deviceURL(row.mac), 'class': 'tamon-data' + (row.alias ? ' tamon-alias' : '') }, [name || row.mac]),
			' ',
			E('button', { 'class': 'cbi-button tamon-rename', 'title': _('Rename'), 'data-mac': row.mac, 'click': edit }, ['✎'])
		);
	};
	const edit = () => {
		const input = E('input', { 'type': 'text', 'class': 'cbi-input-text tamon-rename-input', 'maxlength': 64, 'placeholder': row.hostname || _('Name') });
		input.value = row.alias || '';
		const save = () => {
			const name = input.value.trim();
			btn.disabled = true;
			return api.put('devices/' + encodeURIComponent(row.mac) + '/alias', { name: name }).then(() => {
				row.alias = name;
				api.devices(true);
				show();
				ui.addNotification(null, E('p', {}, [name ? _('Device %s is now called "%s".').format(row.mac, name) : _('The alias of %s was removed.').format(row.mac)]), 'info');
			}).catch((e) => {
				btn.disabled = false;
				ui.addNotification(null, E('p', {}, [e.message]), 'error');
			});
		};
		input.addEventListener('keydown', (ev) => {
			if (ev.key === 'Enter') save();
			else if (ev.key === 'Escape') show();
		});
		const btn = E('button', { 'class': 'cbi-button cbi-button-save tamon-rename-save', 'click': save }, [_('Save')]);
		cell.replaceChildren(input, ' ', btn, ' ', E('button', { 'class': 'cbi-button', 'click': show }, [_('Cancel')]));
		input.focus();
	};
	show();
	return cell;
}

return view.extend({
	load() {
		return api.info();
	},

	render() {
		const t = table.create({
			kind: 'device',
			range: 'all',
			device: false,
			placeholder: _('Search names, vendors, addresses: * wildcard, ; or , for alternatives'),
			columns: [
				{ title: _('Name'), render: (r) => nameCell(r) },
				{ title: _('MAC address'), render: (r) => E('code', {}, [r.mac]) },
				{ title: _('Vendor'), render: (r) => table.text(r.vendor, 24) },
				{ title: _('Host name'), render: (r) => table.text(r.hostname, 24) },
				{ title: _('Addresses'), render: (r) => table.text((r.ipv4 || []).concat(r.ipv6 || []).join(', '), 36) },
				{ title: _('System'), render: (r) => table.text(r.os) },
				{ title: _('First seen'), render: (r) => api.dateTime(r.first_seen) },
				{ title: _('Last seen'), render: (r) => E('span', { 'title': api.dateTime(r.last_seen) }, [api.ago(r.last_seen)]) },
				{ title: _('Sent'), right: true, render: (r) => api.bytes(r.bytes_up) },
				{ title: _('Received'), right: true, render: (r) => api.bytes(r.bytes_down) }
			],
			rowClass: (r) => r.randomized ? 'tamon-randomized' : ''
		});
		return E([], [
			E('h2', {}, [_('Devices')]),
			E('p', { 'class': 'cbi-section-descr' }, [_('Every device seen on the LAN. Click the pencil to give a device a name; it is saved in the tamon configuration.')]),
			t.node
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
