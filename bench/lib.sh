# lib.sh: settings and helpers shared by dataset.sh and run.sh (sourced, not run).
#
# Everything is driven by environment variables so the same scripts work on a
# laptop and on the shared CI-like machine:
#   SCALE       pgbench scale factor (default 50; 2 or 5 for a quick try)
#   WIDE_ROWS   rows in the wide table (default 1000000)
#   PGHOST, PGPORT, PGUSER        PostgreSQL (default 127.0.0.1, 5432, postgres)
#   MYHOST, MYPORT, MYUSER, MYPASS  MariaDB (default 127.0.0.1, 3306, root, empty)
#   BENCH_OUT   working folder for data, dumps and results (default bench/out)
#   BENCH_SCALE small: SCALE=2, WIDE_ROWS=100000, ROUNDS=1 (a quick try)

set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# BENCH_SCALE=small is the quick mode for working on the harness: a dataset
# of about 55 MB (built in ~20 s) and one round, unless set otherwise.
if [ "${BENCH_SCALE:-}" = small ]; then
    SCALE=${SCALE:-2} WIDE_ROWS=${WIDE_ROWS:-100000} ROUNDS=${ROUNDS:-1}
fi
SCALE=${SCALE:-50}
WIDE_ROWS=${WIDE_ROWS:-1000000}
DB=${DB:-bench$SCALE}
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/out}
DATA=$BENCH_OUT/data/$DB   # one folder per dataset: expected figures, copies, SQLite file
mkdir -p "$DATA"

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS=${PGOPTIONS:--c client_min_messages=warning}
MYHOST=${MYHOST:-127.0.0.1} MYPORT=${MYPORT:-3306} MYUSER=${MYUSER:-root} MYPASS=${MYPASS:-}

# Client options for every MariaDB tool (mariadb, mariadb-dump, mydumper, myloader
# take the same long options for these).
MYOPTS=(--host="$MYHOST" --port="$MYPORT" --user="$MYUSER")
[ -n "$MYPASS" ] && MYOPTS+=(--password="$MYPASS")
MYOPTS_STR="--host=$MYHOST --port=$MYPORT --user=$MYUSER${MYPASS:+ --password=$MYPASS}"

# DSNs for bacport, one per engine.
pg_dsn() { echo "postgres://$PGUSER@$PGHOST:$PGPORT/$1?sslmode=disable"; }
my_dsn() { echo "mysql://$MYUSER${MYPASS:+:$MYPASS}@$MYHOST:$MYPORT/$1"; }
sqlite_dsn() { echo "sqlite://$1"; }   # $1 is an absolute path, so this gives sqlite:///…

SQLITE_DB=$DATA/$DB.sqlite
export SCALE WIDE_ROWS DB BENCH_OUT

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psqlv() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }   # one value per line, no decoration
myq() { mariadb "${MYOPTS[@]}" --batch --skip-column-names "$@"; }

have() { command -v "$1" >/dev/null 2>&1; }
