#!/usr/bin/env bash
# dataset.sh: builds the benchmark dataset in PostgreSQL, MariaDB and SQLite.
#
#   SCALE=50 bench/dataset.sh      # the full dataset (a few minutes)
#   SCALE=2 WIDE_ROWS=100000 bench/dataset.sh   # a quick one for trying the harness
#
# PostgreSQL gets `pgbench -i -s $SCALE` plus the wide table (sql/pg_wide.sql);
# MariaDB and SQLite get the same rows, copied from PostgreSQL. Each engine is
# skipped when it already holds the expected row counts; REBUILD=1 forces a
# rebuild. The servers are used as they are: this script never restarts or
# reconfigures them. Settings: see lib.sh.
set -eu
. "$(dirname "$0")/lib.sh"
. "$BENCH_DIR/checks.sh"

ensure_tools() {
    # command -> Debian package
    local want="sqlite3:sqlite3 zstd:zstd pigz:pigz mydumper:mydumper /usr/bin/time:time
                hyperfine:hyperfine curl:curl jq:jq"
    local missing=() pair
    for pair in $want; do
        have "${pair%%:*}" || missing+=("${pair#*:}")
    done
    for pair in psql:postgresql-client pgbench:postgresql-contrib mariadb:mariadb-client; do
        have "${pair%%:*}" || missing+=("${pair#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
        log "missing tools (install them): ${missing[*]}"
        return
    fi
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
        log "could not install all of: ${missing[*]} (the harness skips what is absent)"
}

pg_ready() {
    [ "${REBUILD:-0}" = 1 ] && return 1
    local got
    got=$(psqlv -d "$DB" -c "SELECT (SELECT count(*) FROM pgbench_accounts) || ' ' ||
                                    (SELECT count(*) FROM wide)" 2>/dev/null) || return 1
    [ "$got" = "$((SCALE * 100000)) $WIDE_ROWS" ]
}

build_pg() {
    if pg_ready; then log "postgres: $DB is ready"; return; fi
    log "postgres: creating $DB (pgbench -i -s $SCALE, wide $WIDE_ROWS rows)"
    dropdb --if-exists "$DB"
    createdb "$DB"
    pgbench -i -q -s "$SCALE" "$DB" >/dev/null 2>&1 || die "pgbench -i failed"
    psqlq -d "$DB" -v rows="$WIDE_ROWS" -f "$BENCH_DIR/sql/pg_wide.sql"
    rm -f "$DATA/tsv.done"
}

# Tab-separated copies (PostgreSQL text COPY format: \N is NULL, backslash
# escapes), which is also LOAD DATA's default format.
export_tsv() {
    if [ -f "$DATA/tsv.done" ] && [ "$(cat "$DATA/tsv.done")" = "$DB $WIDE_ROWS" ]; then return; fi
    log "postgres: writing tab-separated copies to $DATA/tsv"
    mkdir -p "$DATA/tsv"
    local t
    for t in branches tellers accounts history; do
        psqlq -d "$DB" -c "\\copy pgbench_$t TO '$DATA/tsv/$t.tsv'"
    done
    # Timestamps as UTC wall-clock text, bytes as plain hex.
    psqlq -d "$DB" -c "\\copy (SELECT id, name, note, amount,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
        uid, encode(payload, 'hex'), attrs FROM wide ORDER BY id) TO '$DATA/tsv/wide.tsv'"
    echo "$DB $WIDE_ROWS" > "$DATA/tsv.done"
}

build_my() {
    if [ "${REBUILD:-0}" != 1 ] && [ -f "$DATA/mariadb.done" ] &&
        [ "$(check_my "$DB")" = "$(cat "$DATA/expected.txt")" ]; then
        log "mariadb: $DB is ready"
        return
    fi
    log "mariadb: loading $DB"
    local d=$DATA/tsv
    {
        echo "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB; USE $DB;"
        cat "$BENCH_DIR/sql/my_schema.sql"
        echo "SET unique_checks = 0; SET foreign_key_checks = 0;"
        for t in branches tellers accounts history; do
            echo "LOAD DATA LOCAL INFILE '$d/$t.tsv' INTO TABLE pgbench_$t;"
        done
        echo "LOAD DATA LOCAL INFILE '$d/wide.tsv' INTO TABLE wide
                (id, name, note, amount, created_at, uid, @payload, attrs)
                SET payload = UNHEX(@payload);"
        echo "ANALYZE TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, wide;"
    } | mariadb "${MYOPTS[@]}" --local-infile=1 >/dev/null
    verify my "$DB" >/dev/null || die "mariadb copy of $DB does not match: $(verify my "$DB")"
    touch "$DATA/mariadb.done"
}

# SQLite: the big pgbench table through the CLI's .import; the rest as INSERT
# statements that PostgreSQL writes, so NULLs and BLOBs come across exactly.
build_sqlite() {
    if [ "${REBUILD:-0}" != 1 ] && [ -f "$SQLITE_DB" ] &&
        [ "$(check_sqlite "$SQLITE_DB")" = "$(cat "$DATA/expected.txt")" ]; then
        log "sqlite: $SQLITE_DB is ready"
        return
    fi
    log "sqlite: loading $SQLITE_DB"
    rm -f "$SQLITE_DB" "$SQLITE_DB-journal" "$SQLITE_DB-wal"
    {
        cat "$BENCH_DIR/sql/sqlite_schema.sql"
        echo "BEGIN;"
        echo ".mode tabs"
        echo ".import $DATA/tsv/accounts.tsv pgbench_accounts"
        psqlv -d "$DB" -c "\\copy (
            SELECT format('INSERT INTO pgbench_branches VALUES(%s,%s,%s);',
                          bid, bbalance, quote_nullable(filler)) FROM pgbench_branches
            UNION ALL
            SELECT format('INSERT INTO pgbench_tellers VALUES(%s,%s,%s,%s);',
                          tid, bid, tbalance, quote_nullable(filler)) FROM pgbench_tellers
            UNION ALL
            SELECT format('INSERT INTO pgbench_history VALUES(%s,%s,%s,%s,%s,%s);',
                          tid, bid, aid, delta, quote_nullable(mtime::text),
                          quote_nullable(filler)) FROM pgbench_history) TO STDOUT"
        psqlv -d "$DB" -c "\\copy (
            SELECT format('INSERT INTO wide VALUES(%s,%s,%s,%s,%s,%s,%s,%s);',
                   id, quote_literal(name), quote_nullable(note), coalesce(amount::text, 'NULL'),
                   quote_literal(to_char(created_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')),
                   quote_literal(uid::text),
                   coalesce('X''' || encode(payload, 'hex') || '''', 'NULL'),
                   quote_nullable(attrs::text))
            FROM wide ORDER BY id) TO STDOUT"
        echo "COMMIT;"
        echo "CREATE INDEX wide_created_at_idx ON wide (created_at);"
        echo "ANALYZE;"
    } | sqlite3 -batch "$SQLITE_DB" >/dev/null
    verify sqlite "$SQLITE_DB" >/dev/null ||
        die "sqlite copy of $DB does not match: $(verify sqlite "$SQLITE_DB")"
}

main() {
    local t0=$SECONDS
    ensure_tools
    build_pg
    check_pg "$DB" > "$DATA/expected.txt"
    log "expected figures: $(tr '\n' ' ' < "$DATA/expected.txt")"
    export_tsv
    build_my
    build_sqlite
    log "dataset $DB ready in $((SECONDS - t0)) s (data in $DATA)"
}

main "$@"
