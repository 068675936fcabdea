# checks.sh: the correctness check run (untimed) after every import, sourced
# by dataset.sh and run.sh. Each function prints the same key=value lines for
# its engine, so a restored copy is compared with the PostgreSQL source by text.
# Amounts are summed in integer cents so SQLite's REAL storage compares exactly.

TABLES="pgbench_accounts pgbench_branches pgbench_tellers pgbench_history wide"

# check_pg DB: tables are looked up in dbo first, then public, because a
# package import may keep the SQL Server schema name.
check_pg() {
    local db=$1 t
    {
        echo "SET search_path = dbo, public;"
        for t in $TABLES; do echo "SELECT '$t.rows=' || count(*) FROM $t;"; done
        echo "SELECT 'accounts.sum_bid=' || coalesce(sum(bid), 0) FROM pgbench_accounts;"
        echo "SELECT 'wide.notes=' || count(note) || ' note_chars=' || coalesce(sum(length(note)), 0)
                 || ' payload_bytes=' || coalesce(sum(octet_length(payload)), 0)
                 || ' amount_cents=' || coalesce(sum(amount * 100)::bigint, 0) FROM wide;"
    } | psqlv -d "$db" 2>&1
}

check_my() {
    local db=$1 t
    {
        for t in $TABLES; do echo "SELECT CONCAT('$t.rows=', count(*)) FROM $t;"; done
        echo "SELECT CONCAT('accounts.sum_bid=', coalesce(sum(bid), 0)) FROM pgbench_accounts;"
        echo "SELECT CONCAT('wide.notes=', count(note), ' note_chars=', coalesce(sum(char_length(note)), 0),
                 ' payload_bytes=', coalesce(sum(length(payload)), 0),
                 ' amount_cents=', coalesce(cast(sum(amount * 100) AS SIGNED), 0)) FROM wide;"
    } | myq "$db" 2>&1
}

check_sqlite() {
    local file=$1 t
    {
        for t in $TABLES; do echo "SELECT '$t.rows=' || count(*) FROM $t;"; done
        echo "SELECT 'accounts.sum_bid=' || coalesce(sum(bid), 0) FROM pgbench_accounts;"
        echo "SELECT 'wide.notes=' || count(note) || ' note_chars=' || coalesce(sum(length(note)), 0)
                 || ' payload_bytes=' || coalesce(sum(length(payload)), 0)
                 || ' amount_cents=' || coalesce(sum(cast(round(amount * 100) AS INTEGER)), 0)
                 FROM wide;"
    } | sqlite3 -batch "$file" 2>&1
}

# verify ENGINE TARGET: compares TARGET's check with the expected figures that
# dataset.sh saved from the source. Prints "ok" or the differences; returns 1
# on a mismatch.
verify() {
    local engine=$1 target=$2 got
    got=$("check_$engine" "$target")
    if [ "$got" = "$(cat "$DATA/expected.txt")" ]; then
        echo ok
        return 0
    fi
    echo "mismatch in $engine $target:"
    diff <(cat "$DATA/expected.txt") <(echo "$got") | sed 's/^/    /'
    return 1
}
