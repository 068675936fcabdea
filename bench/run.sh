#!/usr/bin/env bash
# run.sh: measures bacport against the tools people use today, on the dataset
# that dataset.sh built, and prints medians and bacport/peer ratios.
#
#   SCALE=50 ROUNDS=3 bench/run.sh
#
# Each group (pg-export, pg-import, my-export, my-import, sqlite-export,
# sqlite-import) runs its tools one after the other in every round, the order
# rotated each round, so slow drifts on a shared machine hit all of them.
# Every import is followed by an untimed correctness check (checks.sh).
#
# Settings (besides those in lib.sh):
#   ROUNDS      rounds (default 3)
#   ONLY        space-separated subset of the groups above (default: all)
#   BACPORT     bacport binary (default: built from this tree into $BENCH_OUT)
#   BACPORT_MODE  serve | cli | both | none (default: serve when `bacport serve`
#               exists, else cli); serve drives jobs through the ARM API
#   PARALLEL    bacport --parallel for the cli commands (default: its own)
#   QUIET_MAX   seconds to wait for an idle machine before each run (default 20)
set -u
. "$(dirname "$0")/lib.sh"
. "$BENCH_DIR/checks.sh"
. "$BENCH_DIR/measure.sh"
. "$BENCH_DIR/serve.sh"
. "$BENCH_DIR/report.sh"

ROUNDS=${ROUNDS:-3}
GROUPS_WANTED=${ONLY:-pg-export pg-import my-export my-import sqlite-export sqlite-import}
QUIET_MAX=${QUIET_MAX:-20}
RUN_ID=$(date +%Y%m%d-%H%M%S)
FILES=$BENCH_OUT/files/$DB      # dumps and packages of this dataset; overwritten each run
LOGS=$BENCH_OUT/logs/$RUN_ID    # output of every measured command
RESULTS=$BENCH_OUT/results.tsv  # this run; a copy stays in $LOGS
RESTORE=${DB}_restore           # database (or file) every import writes into
mkdir -p "$FILES" "$LOGS"

# ---- which bacport ----------------------------------------------------------

BACPORT_CLI=0 BACPORT_SERVE=0
find_bacport() {
    if [ -z "${BACPORT:-}" ]; then
        BACPORT=$BENCH_OUT/bacport
        if have go; then
            build_bacport || { log "note: bacport does not build; its rows are skipped"; return; }
        fi
    fi
    [ -x "$BACPORT" ] || { log "note: no bacport binary at $BACPORT; its rows are skipped"; return; }
    if "$BACPORT" package export --help 2>/dev/null | grep -q -- '--source'; then
        BACPORT_CLI=1
    fi
    if "$BACPORT" serve --help 2>/dev/null | grep -q -- '--data-dir'; then
        BACPORT_SERVE=1
    fi
    local mode=${BACPORT_MODE:-auto}
    if [ "$mode" = auto ]; then
        if [ $BACPORT_SERVE = 1 ]; then mode=serve; else mode=cli; fi
    fi
    case $mode in
    serve) BACPORT_CLI=0 ;;
    cli) BACPORT_SERVE=0 ;;
    none) BACPORT_CLI=0 BACPORT_SERVE=0 ;;
    esac
    [ $BACPORT_CLI = 1 ] || [ $BACPORT_SERVE = 1 ] ||
        log "note: $BACPORT has neither 'package export/import' nor 'serve'; bacport rows skipped"
    # Jobs on bacport serve are followed by bench/follow, which polls over
    # one kept-alive connection; without it serve.sh polls with curl and
    # jq, about 40 ms of CPU a poll taken from the job being measured.
    if [ $BACPORT_SERVE = 1 ] && have go; then
        (cd "${BACPORT_SRC:-$BENCH_DIR/..}" && go build -o "$BENCH_OUT/follow" ./bench/follow) \
            2>>"$BENCH_OUT/build.log" && export SV_FOLLOW=$BENCH_OUT/follow ||
            log "note: bench/follow does not build; jobs are followed with curl (slower)"
    fi
}

# build_bacport: builds the working tree; when that does not compile (others
# may be mid-edit in a shared checkout), builds the last commit instead,
# from a `git archive` copy, and says so.
build_bacport() {
    local root
    root=$(cd "$BENCH_DIR/.." && pwd)
    log "building bacport from $root"
    BACPORT_SRC=$root
    (cd "$root" && go build -o "$BACPORT" ./cmd/bacport) 2>"$BENCH_OUT/build.log" && return 0
    have git || return 1
    local src=$BENCH_OUT/src rev
    rev=$(git -C "$root" rev-parse --short HEAD) || return 1
    log "note: the working tree does not build (see $BENCH_OUT/build.log); building commit $rev"
    rm -rf "$src" && mkdir -p "$src" &&
        git -C "$root" archive HEAD | tar -x -C "$src" &&
        (cd "$src" && go build -o "$BACPORT" ./cmd/bacport) && BACPORT_SRC=$src
}

bp() { # the bacport command line for the cli cases
    printf '%q' "$BACPORT"
}

par() { [ -n "${PARALLEL:-}" ] && printf ' --parallel %s' "$PARALLEL"; }

# ---- the cases -----------------------------------------------------------------
# add_case GROUP LABEL ROLE MODE PREP CMD OUTPUT CHECK
#   ROLE   bacport | peer
#   MODE   client (measure the command's process tree) | serve (measure the
#          bacport serve process; the command is only the curl driver)
#   OUTPUT file or directory whose size is recorded ("" for none)
#   CHECK  "ENGINE TARGET" verified after the run ("" for none)

define_cases() {
    local f=$FILES q sv
    q=$(printf '%q' "$FILES")
    sv=$(printf '%q' "$BENCH_DIR/serve.sh")

    # PostgreSQL export
    if [ $BACPORT_SERVE = 1 ]; then
        add_case pg-export "bacport serve" bacport serve "" \
            "$sv export postgres $DB pg.bacpac" "@serve:pg.bacpac" ""
    fi
    if [ $BACPORT_CLI = 1 ]; then
        add_case pg-export "bacport cli" bacport client "rm -f $q/pg.bacpac" \
            "$(bp) package export$(par) --source '$(pg_dsn "$DB")' --out $q/pg.bacpac" \
            "$f/pg.bacpac" ""
    fi
    add_case pg-export "pg_dump -Fc" peer client "rm -f $q/pg.dump" \
        "pg_dump -Fc -f $q/pg.dump $DB" "$f/pg.dump" ""
    add_case pg-export "pg_dump -Fd -j 2" peer client "rm -rf $q/pg.dir" \
        "pg_dump -Fd -j 2 -f $q/pg.dir $DB" "$f/pg.dir" ""

    # PostgreSQL import into a new database (indexes and constraints included)
    local pgprep="dropdb --if-exists $RESTORE"
    if [ $BACPORT_SERVE = 1 ]; then
        add_case pg-import "bacport serve" bacport serve \
            "$sv ensure postgres $DB pg.bacpac; $sv drop postgres $RESTORE; $pgprep" \
            "$sv import postgres $RESTORE pg.bacpac" "" "pg $RESTORE"
    fi
    if [ $BACPORT_CLI = 1 ]; then
        add_case pg-import "bacport cli" bacport client "$pgprep" \
            "$(bp) package import$(par) --in $q/pg.bacpac --target '$(pg_dsn "$RESTORE")'" \
            "" "pg $RESTORE"
    fi
    add_case pg-import "pg_restore -j 2" peer client "$pgprep && createdb $RESTORE" \
        "pg_restore -j 2 -d $RESTORE $q/pg.dump" "" "pg $RESTORE"

    # MariaDB export
    local my=$MYOPTS_STR
    if [ $BACPORT_SERVE = 1 ]; then
        add_case my-export "bacport serve" bacport serve "" \
            "$sv export mysql $DB my.bacpac" "@serve:my.bacpac" ""
    fi
    if [ $BACPORT_CLI = 1 ]; then
        add_case my-export "bacport cli" bacport client "rm -f $q/my.bacpac" \
            "$(bp) package export$(par) --source '$(my_dsn "$DB")' --out $q/my.bacpac" \
            "$f/my.bacpac" ""
    fi
    add_case my-export "mariadb-dump | gzip" peer client "rm -f $q/my.sql.gz" \
        "mariadb-dump $my --single-transaction $DB | gzip > $q/my.sql.gz" "$f/my.sql.gz" ""
    if have mydumper; then
        add_case my-export "mydumper -t 2 -c" peer client "rm -rf $q/my.mydumper" \
            "mydumper $my -t 2 -c --trx-consistency-only -B $DB -o $q/my.mydumper" \
            "$f/my.mydumper" ""
    else
        log "note: mydumper not installed; its rows are skipped"
    fi

    # MariaDB import into a new database
    local myprep="mariadb $my -e 'DROP DATABASE IF EXISTS $RESTORE'"
    if [ $BACPORT_SERVE = 1 ]; then
        add_case my-import "bacport serve" bacport serve \
            "$sv ensure mysql $DB my.bacpac; $sv drop mysql $RESTORE; $myprep" \
            "$sv import mysql $RESTORE my.bacpac" "" "my $RESTORE"
    fi
    if [ $BACPORT_CLI = 1 ]; then
        add_case my-import "bacport cli" bacport client "$myprep" \
            "$(bp) package import$(par) --in $q/my.bacpac --target '$(my_dsn "$RESTORE")'" \
            "" "my $RESTORE"
    fi
    # The issue's peer reads a plain dump.sql; it is unpacked before timing.
    add_case my-import "mariadb < dump.sql" peer client \
        "$myprep && mariadb $my -e 'CREATE DATABASE $RESTORE' &&
         { [ $q/my.sql -nt $q/my.sql.gz ] || gzip -dc $q/my.sql.gz > $q/my.sql; }" \
        "mariadb $my $RESTORE < $q/my.sql" "" "my $RESTORE"
    if have myloader; then
        add_case my-import "myloader -t 2" peer client "$myprep" \
            "myloader $my -t 2 -o -d $q/my.mydumper -B $RESTORE" "" "my $RESTORE"
    fi

    # SQLite
    local sq=$(printf '%q' "$SQLITE_DB") rs=$q/$RESTORE.sqlite
    if [ $BACPORT_SERVE = 1 ]; then
        add_case sqlite-export "bacport serve" bacport serve "" \
            "$sv export sqlite $DB sqlite.bacpac" "@serve:sqlite.bacpac" ""
        add_case sqlite-import "bacport serve" bacport serve \
            "$sv ensure sqlite $DB sqlite.bacpac; $sv drop sqlite $RESTORE; rm -f $(printf '%q' "$DATA/$RESTORE.sqlite")" \
            "$sv import sqlite $RESTORE sqlite.bacpac" "" "sqlite @serve:$RESTORE"
    fi
    if [ $BACPORT_CLI = 1 ]; then
        add_case sqlite-export "bacport cli" bacport client "rm -f $q/sqlite.bacpac" \
            "$(bp) package export$(par) --source '$(sqlite_dsn "$SQLITE_DB")' --out $q/sqlite.bacpac" \
            "$f/sqlite.bacpac" ""
        add_case sqlite-import "bacport cli" bacport client "rm -f $rs" \
            "$(bp) package import$(par) --in $q/sqlite.bacpac --target '$(sqlite_dsn "$f/$RESTORE.sqlite")'" \
            "" "sqlite $f/$RESTORE.sqlite"
    fi
    add_case sqlite-export "sqlite3 .dump | gzip" peer client "rm -f $q/sqlite.sql.gz" \
        "sqlite3 $sq .dump | gzip > $q/sqlite.sql.gz" "$f/sqlite.sql.gz" ""
    add_case sqlite-import "gzip -dc | sqlite3" peer client "rm -f $rs" \
        "gzip -dc $q/sqlite.sql.gz | sqlite3 $rs" "" "sqlite $f/$RESTORE.sqlite"
}

# ---- main ------------------------------------------------------------------------

main() {
    [ -f "$DATA/expected.txt" ] || die "no dataset for $DB: run SCALE=$SCALE bench/dataset.sh first"
    have /usr/bin/time || [ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
    log "run $RUN_ID: $DB, $ROUNDS rounds, groups: $GROUPS_WANTED"
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    find_bacport
    # The service is stopped however the run ends (error, ^C).
    trap 'serve_stop' EXIT
    trap 'exit 130' INT TERM
    if [ $BACPORT_SERVE = 1 ]; then
        serve_start || { log "note: bacport serve did not start; serve rows skipped"; BACPORT_SERVE=0; }
    fi
    define_cases
    results_header > "$RESULTS"

    local round g
    for round in $(seq 1 "$ROUNDS"); do
        for g in $GROUPS_WANTED; do
            run_group "$g" "$round"
        done
    done

    [ $BACPORT_SERVE = 1 ] && serve_stop
    cleanup_targets
    run_phases
    cp "$RESULTS" "$LOGS/results.tsv"
    report "$RESULTS"
    echo
    echo "load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -s "$PHASES_OUT" ] && { echo; cat "$PHASES_OUT"; }
    log "results: $RESULTS (logs in $LOGS)"
}

# run_phases: one profiled export and import per engine of the groups run
# (bench/phases), which charges bacport's CPU to read, encode, compress,
# upload and download, inflate, decode, load, and times the index phase.
PHASES=${PHASES:-1}
PHASES_OUT=$BENCH_OUT/phases.txt
run_phases() {
    : >"$PHASES_OUT"
    [ "$PHASES" = 1 ] || return 0
    have go || { log "note: no go command; per-phase figures skipped"; return 0; }
    local tool=$BENCH_OUT/phases src e dsn login pw
    # From the same source as bacport (the last commit when the tree did
    # not build).
    (cd "${BACPORT_SRC:-$BENCH_DIR/..}" && go build -o "$tool" ./bench/phases) 2>>"$BENCH_OUT/build.log" ||
        { log "note: bench/phases does not build; per-phase figures skipped"; return 0; }
    src=$(source_bytes)
    {
        echo "bacport per phase (one profiled run each; MB/s per core = source MB / CPU seconds of the phase):"
    } >>"$PHASES_OUT"
    for e in postgres mysql sqlite; do
        case "$e:$GROUPS_WANTED" in
        postgres:*pg-*) dsn="postgres://$PGHOST:$PGPORT/?sslmode=disable" login=$PGUSER pw= ;;
        mysql:*my-*) dsn="mysql://$MYHOST:$MYPORT/" login=$MYUSER pw=$MYPASS ;;
        sqlite:*sqlite-*) dsn="sqlite://$DATA/" login= pw= ;;
        *) continue ;;
        esac
        wait_quiet
        log "phases: $e"
        "$tool" -engine "$e" -dsn "$dsn" -login "$login" -password "$pw" -db "$DB" \
            -restore "${DB}_phases" -source-bytes "$src" >>"$PHASES_OUT" 2>"$LOGS/phases-$e.log" ||
            { log "  phases $e failed: $(tail -1 "$LOGS/phases-$e.log")"; echo "$e: failed" >>"$PHASES_OUT"; }
    done
    cp "$PHASES_OUT" "$LOGS/phases.txt"
}

cleanup_targets() {
    dropdb --if-exists "$RESTORE" 2>/dev/null
    myq -e "DROP DATABASE IF EXISTS $RESTORE" 2>/dev/null
    rm -f "$FILES/$RESTORE.sqlite" "$DATA/$RESTORE.sqlite"
}

main "$@"
