#!/bin/sh
# Make sure a MariaDB server answers on 127.0.0.1:3306 for the store tests,
# and that the account they use, tamon_test (no password, all privileges),
# can log in over TCP. A server that already runs there is used as it is;
# otherwise mariadb-server is installed (apt-get) when missing and started.
#
# Debian's root@localhost logs in through the unix socket only (unix_socket
# authentication), so the tests do not use root: they read the DSN from
# TAMON_TEST_MYSQL_DSN, default "tamon_test@tcp(127.0.0.1:3306)/".
set -eu

HOST=127.0.0.1
PORT=3306

answers() {
	# mysqladmin ping exits 0 when the server runs, even if it denies access.
	if command -v mariadb-admin >/dev/null 2>&1; then
		mariadb-admin --protocol=tcp -h "$HOST" -P "$PORT" --connect-timeout=2 ping >/dev/null 2>&1
	elif command -v mysqladmin >/dev/null 2>&1; then
		mysqladmin --protocol=tcp -h "$HOST" -P "$PORT" --connect-timeout=2 ping >/dev/null 2>&1
	else
		return 1
	fi
}

client() {
	if command -v mariadb >/dev/null 2>&1; then
		mariadb "$@"
	else
		mysql "$@"
	fi
}

client_bin() {
	if command -v mariadb >/dev/null 2>&1; then
		command -v mariadb
	else
		command -v mysql
	fi
}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

if ! answers; then
	if [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
		echo "ensure-mariadb: installing mariadb-server"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
	fi
	if ! answers; then
		echo "ensure-mariadb: starting mariadbd"
		as_root mkdir -p /run/mysqld
		as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
		daemon=/usr/sbin/mariadbd
		[ -x "$daemon" ] || daemon=/usr/sbin/mysqld
		as_root start-stop-daemon --start --oknodo --background --exec "$daemon" -- \
			--user=mysql --bind-address="$HOST" --port="$PORT"
		i=0
		until answers; do
			i=$((i + 1))
			if [ "$i" -ge 60 ]; then
				echo "ensure-mariadb: no server on $HOST:$PORT after 60 s" >&2
				exit 1
			fi
			sleep 1
		done
	fi
fi

SQL="CREATE USER IF NOT EXISTS 'tamon_test'@'127.0.0.1';
CREATE USER IF NOT EXISTS 'tamon_test'@'localhost';
CREATE USER IF NOT EXISTS 'tamon_test'@'::1';
GRANT ALL PRIVILEGES ON *.* TO 'tamon_test'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'tamon_test'@'localhost';
GRANT ALL PRIVILEGES ON *.* TO 'tamon_test'@'::1';
FLUSH PRIVILEGES;"

# Root over the socket (Debian's default), else root over TCP without a
# password (a server set up that way).
if ! as_root "$(client_bin)" -uroot -e "$SQL" 2>/dev/null; then
	client --protocol=tcp -h "$HOST" -P "$PORT" -uroot -e "$SQL"
fi

if ! client --protocol=tcp -h "$HOST" -P "$PORT" -utamon_test -e 'SELECT 1' >/dev/null; then
	echo "ensure-mariadb: tamon_test cannot log in over TCP on $HOST:$PORT" >&2
	exit 1
fi
echo "ensure-mariadb: MariaDB answers on $HOST:$PORT; tests log in as tamon_test"
