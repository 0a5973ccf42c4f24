'use strict';
'require view';
'require form';
'require rpc';
'require tamon.api as api';

/*
 * Settings: a form on /etc/config/tamon. Save & Apply commits it and procd
 * sends the daemon SIGHUP, which re-reads the file without losing data.
 */

const callDevices = rpc.declare({
	object: 'network.device',
	method: 'status',
	expect: { '': {} }
});

/* a path on the router, or empty for the default */
function absolutePath(sid, v) {
	return (!v || v.charAt(0) === '/') ? true : _('Expecting an absolute path such as /etc/tamon/features.txt');
}

return view.extend({
	load() {
		return Promise.all([L.resolveDefault(callDevices(), {}), api.info()]);
	},

	render(data) {
		const netdevs = Object.keys(data[0] || {}).filter((d) => d !== 'lo').sort();
		const info = data[1] || {};
		let s, o;

		const m = new form.Map('tamon', _('Traffic Monitor settings'),
			_('How tamond captures, where it keeps its records and how the pages reach it. Save & Apply reloads the daemon; no data is lost.'));

		s = m.section(form.NamedSection, 'main', 'tamon', _('Capture'));
		s.tab('general', _('General'));
		s.tab('limits', _('Timeouts and limits'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enabled'), _('Run the tamon daemon.'));
		o.default = '1';
		o.rmempty = false;

		o = s.taboption('general', form.MultiValue, 'interface', _('Interfaces'), _('The network devices to capture on, usually the LAN bridge.'));
		netdevs.forEach((d) => o.value(d));
		o.default = 'br-lan';
		o.rmempty = false;
		o.validate = function (sid, v) {
			return (v && v.length) ? true : _('Choose at least one interface.');
		};

		o = s.taboption('general', form.Value, 'sensor', _('Sensor name'), _('Written in every record, so that several routers can share one database. Default: the host name.'));
		o.datatype = 'maxlength(64)';
		o.placeholder = _('host name');

		o = s.taboption('general', form.Flag, 'promisc', _('Promiscuous mode'), _('Also see traffic between other devices on the segment, not only traffic through the router.'));

		o = s.taboption('general', form.Flag, 'dissect', _('Application protocols'), _('Read TLS (SNI, JA3, JA3S, JA4), HTTP, QUIC and SSDP, and log ICMP. Turn off on a router whose CPU cannot keep up: sessions, DNS, devices and applications stay.'));
		o.default = '1';
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'features', _('Features file'), _('Application signatures, one application per line.'));
		o.validate = absolutePath;
		o.placeholder = '/etc/tamon/features.txt';

		o = s.taboption('limits', form.Value, 'tcp_timeout', _('TCP timeout'), _('Seconds of silence that end a TCP session.'));
		o.datatype = 'range(1,86400)';
		o.placeholder = '300';

		o = s.taboption('limits', form.Value, 'udp_timeout', _('UDP timeout'), _('Seconds of silence that end a UDP session.'));
		o.datatype = 'range(1,86400)';
		o.placeholder = '60';

		o = s.taboption('limits', form.Value, 'app_timeout', _('Application timeout'), _('Seconds without traffic that end a period of application use.'));
		o.datatype = 'range(1,86400)';
		o.placeholder = '300';

		o = s.taboption('limits', form.Value, 'dns_timeout', _('DNS timeout'), _('Seconds to wait for an answer before a query is written as unanswered.'));
		o.datatype = 'range(1,3600)';
		o.placeholder = '10';

		o = s.taboption('limits', form.Value, 'max_flows', _('Open sessions'), _('At most this many sessions are followed at once; beyond, the longest idle is dropped.'));
		o.datatype = 'range(64,4000000)';
		o.placeholder = '65536';

		o = s.taboption('limits', form.Value, 'timeline', _('Timeline packets'), _('Packets kept in each session\'s timeline (0 to 255).'));
		o.datatype = 'range(0,255)';
		o.placeholder = '32';

		o = s.taboption('limits', form.Value, 'memory_limit_mb', _('Memory limit (MB)'), _('Soft limit for the daemon\'s memory; 0 for none.'));
		o.datatype = 'uinteger';
		o.placeholder = '56';

		s = m.section(form.NamedSection, 'storage', 'storage', _('Storage'));

		o = s.option(form.ListValue, 'driver', _('Database'));
		o.value('sqlite', _('SQLite file on the router'));
		o.value('mysql', _('MySQL or MariaDB server'));
		o.default = 'sqlite';

		o = s.option(form.Value, 'path', _('Database file'), _('In /tmp the history is lost at reboot; put it on USB storage to keep it.'));
		o.depends('driver', 'sqlite');
		o.validate = absolutePath;
		o.placeholder = '/tmp/tamon/tamon.db';

		o = s.option(form.Value, 'host', _('Server'));
		o.depends('driver', 'mysql');
		o.datatype = 'host';
		o.placeholder = '127.0.0.1';

		o = s.option(form.Value, 'port', _('Port'));
		o.depends('driver', 'mysql');
		o.datatype = 'port';
		o.placeholder = '3306';

		o = s.option(form.Value, 'user', _('User'));
		o.depends('driver', 'mysql');
		o.placeholder = 'tamon';

		o = s.option(form.Value, 'password', _('Password'));
		o.depends('driver', 'mysql');
		o.password = true;

		o = s.option(form.Value, 'database', _('Database name'));
		o.depends('driver', 'mysql');
		o.placeholder = 'tamon';

		o = s.option(form.Value, 'retention_days', _('Keep records (days)'), _('Older records are deleted; 0 keeps them all.'));
		o.datatype = 'range(0,3650)';
		o.placeholder = '30';

		o = s.option(form.Value, 'max_size_mb', _('Maximum size (MB)'), _('The oldest records are deleted above this size; 0 for no limit.'));
		o.datatype = 'uinteger';
		o.placeholder = '64';

		o = s.option(form.Value, 'spool_path', _('Spool folder'), _('Records wait here while the database cannot be reached, and are written later.'));
		o.placeholder = '/tmp/tamon/spool';

		o = s.option(form.Value, 'spool_max_mb', _('Spool size (MB)'), _('Above this size the oldest waiting records are dropped and counted.'));
		o.datatype = 'uinteger';
		o.placeholder = '16';

		s = m.section(form.NamedSection, 'api', 'api', _('API'),
			info.port ? _('The daemon answers on port %d (%s).').format(info.port, info.running ? _('running') : _('stopped')) : '');

		o = s.option(form.Value, 'listen', _('Listen on'), _('"lan:8321" listens on the LAN addresses only; an address such as 192.0.2.1:8321 pins one.'));
		o.placeholder = 'lan:8321';

		o = s.option(form.ListValue, 'tls', _('TLS'), _('"auto" uses HTTPS with the router\'s web certificate whenever the web interface uses HTTPS.'));
		o.value('auto', _('automatic'));
		o.value('on', _('on'));
		o.value('off', _('off'));
		o.default = 'auto';

		o = s.option(form.Value, 'cert', _('Certificate'), _('Default: the web interface\'s certificate.'));
		o.depends('tls', 'on');
		o.validate = absolutePath;
		o.placeholder = '/etc/uhttpd.crt';

		o = s.option(form.Value, 'key', _('Private key'));
		o.depends('tls', 'on');
		o.validate = absolutePath;
		o.placeholder = '/etc/uhttpd.key';

		o = s.option(form.Value, 'token', _('API token'), _('A static token for scripts (Authorization: Bearer …). Leave empty to allow only logged-in LuCI users.'));
		o.password = true;

		s = m.section(form.TableSection, 'alias', _('Device names'), _('Names shown instead of MAC addresses. Devices can also be renamed on the Devices page.'));
		s.anonymous = true;
		s.addremove = true;

		o = s.option(form.Value, 'mac', _('MAC address'));
		o.datatype = 'macaddr';
		o.rmempty = false;

		o = s.option(form.Value, 'name', _('Name'));
		o.rmempty = false;

		return m.render();
	}
});
