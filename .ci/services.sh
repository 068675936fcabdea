#!/usr/bin/env bash
# Installs and starts everything bacport's tests talk to: PostgreSQL,
# MariaDB, Azurite (npm, pinned) and Debian's Chromium. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql postgresql-client)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server mariadb-client)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
if [ ${#need_apt[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
pg_isready -h 127.0.0.1 -p 5432

# MariaDB on 127.0.0.1:3306, root with an empty password.
if ! mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; then
	mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
for _ in $(seq 1 60); do mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
mariadb -h 127.0.0.1 -uroot -e 'select version()'
mariadb -h 127.0.0.1 -uroot -e 'set global local_infile=1' || true

# Azurite, pinned: newer releases need a newer Node than this machine has.
if [ ! -x .tools/node_modules/.bin/azurite-blob ]; then
	mkdir -p .tools
	(cd .tools && npm install --no-audit --no-fund --silent azurite@3.35.0 >/dev/null)
fi
echo "azurite: $(.tools/node_modules/.bin/azurite-blob --version 2>/dev/null || echo installed)"
