# measure.sh: runs one case and records what it cost (sourced by run.sh).
#
# A client case runs under GNU time: wall seconds, user and system CPU of the
# whole process tree, and the peak RSS of its largest process. A serve case
# runs a small curl driver under time, but its CPU and peak RSS are those of the
# bacport serve process: CPU from /proc/PID/stat before and after, peak RSS
# from VmHWM after writing 5 to /proc/PID/clear_refs (which resets it).
# Alongside, the CPU of the database servers (PostgreSQL's postmaster tree and
# mariadbd) and of the whole machine are recorded, so that "other" — the CPU
# used by everything else during the run — shows how noisy the run was.

CASE_GROUP=() CASE_LABEL=() CASE_ROLE=() CASE_MODE=() CASE_PREP=() CASE_CMD=()
CASE_OUT=() CASE_CHECK=()

add_case() {
    CASE_GROUP+=("$1") CASE_LABEL+=("$2") CASE_ROLE+=("$3") CASE_MODE+=("$4")
    CASE_PREP+=("$5") CASE_CMD+=("$6") CASE_OUT+=("$7") CASE_CHECK+=("$8")
}

HZ=$(getconf CLK_TCK)

machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# proc_cpu PID: user+system jiffies of PID, with its reaped children.
proc_cpu() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# server_cpu GROUP: jiffies used so far by the database server the group
# talks to: the PostgreSQL postmaster tree (live backends plus the reaped
# ones) for pg-*, mariadbd for my-*, nothing for SQLite. Other users of the
# same server count too; "other" cannot separate them.
server_cpu() {
    local tot=0 pm c v
    case $1 in
    pg-*) pm=$(pgrep -o -x postgres) ;;
    my-*) pm= ;;
    *) echo 0; return ;;
    esac
    if [ -n "$pm" ]; then
        tot=$(proc_cpu "$pm")
        for c in $(pgrep -P "$pm"); do
            v=$(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null)
            tot=$((tot + ${v:-0}))
        done
    fi
    case $1 in my-*) for c in $(pgrep -x mariadbd); do tot=$((tot + $(proc_cpu "$c"))); done ;; esac
    echo "$tot"
}

# wait_quiet: waits up to QUIET_MAX seconds for the machine to use less than
# a third of a core over one second; gives up quietly on a busy machine.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_MAX)) a b
    while [ $SECONDS -lt $deadline ]; do
        a=$(machine_busy)
        sleep 1
        b=$(machine_busy)
        [ $((b - a)) -lt $((HZ / 3)) ] && return 0
    done
    return 0
}

jiffies_to_s() { awk -v j="$1" -v hz="$HZ" 'BEGIN{printf "%.2f", j / hz}'; }

output_size() {
    local p=$1
    case $p in
    "") echo 0 ;;
    @serve:*) serve_blob_size "${p#@serve:}" ;;
    *) du -sb "$p" 2>/dev/null | awk '{print $1}' ;;
    esac
}

results_header() {
    printf 'run\tround\tgroup\ttool\trole\twall_s\tuser_s\tsys_s\tcpu_s\tpeak_rss_kb'
    printf '\tout_bytes\tserver_cpu_s\tother_cpu_s\trc\tcheck\tphases\n'
}

# run_group GROUP ROUND: runs the group's cases, rotated by ROUND.
run_group() {
    local g=$1 round=$2 idx=() i n k
    for i in "${!CASE_GROUP[@]}"; do
        [ "${CASE_GROUP[$i]}" = "$g" ] && idx+=("$i")
    done
    n=${#idx[@]}
    [ "$n" -eq 0 ] && return
    for k in $(seq 0 $((n - 1))); do
        measure_case "${idx[$(((k + round - 1) % n))]}" "$round"
    done
}

measure_case() {
    local i=$1 round=$2
    local label=${CASE_LABEL[$i]} mode=${CASE_MODE[$i]} g=${CASE_GROUP[$i]}
    local name tf logf rc b0 b1 s0 s1 v0 v1 wall u s rss cpu size check phases other srv
    name=$(echo "$g-$label" | tr -c 'A-Za-z0-9\n-' '_')
    logf=$LOGS/$name.r$round.log
    tf=$LOGS/.time

    export BENCH_ROUND=$round
    if ! bash -c "${CASE_PREP[$i]}" >"$logf" 2>&1; then
        log "$g / $label: preparation failed (see $logf)"
    fi
    # The previous run's dirty pages are the server's to write, not this
    # run's: a checkpoint now keeps them out of this run's time and CPU
    # (PostgreSQL otherwise checkpoints every max_wal_size of WAL, which
    # a whole import writes, at a moment that varies from run to run).
    case $g in pg-*) psqlq -d postgres -c CHECKPOINT >>"$logf" 2>&1 ;; esac
    sync
    wait_quiet

    [ "$mode" = serve ] && serve_reset_peak
    b0=$(machine_busy) s0=$(server_cpu "$g")
    [ "$mode" = serve ] && v0=$(proc_cpu "$SERVE_PID")
    log "$g / $label (round $round)"
    /usr/bin/time -o "$tf" -f '%e %U %S %M' bash -c "${CASE_CMD[$i]}" >>"$logf" 2>&1
    rc=$?
    [ "$mode" = serve ] && v1=$(proc_cpu "$SERVE_PID")
    b1=$(machine_busy)
    sleep 0.5 # lets finished backends be reaped into the postmaster's totals
    s1=$(server_cpu "$g")
    read -r wall u s rss < <(tail -1 "$tf")
    [[ $wall =~ ^[0-9.]+$ ]] || { wall=0 u=0 s=0 rss=0; }
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
    if [ "$mode" = serve ]; then
        cpu=$(jiffies_to_s $((v1 - v0)))
        rss=$(serve_peak_kb)
    fi
    srv=$(jiffies_to_s $((s1 - s0)))
    other=$(awk -v m="$(jiffies_to_s $((b1 - b0)))" -v c="$cpu" -v s="$srv" \
        'BEGIN{o = m - c - s; printf "%.2f", o < 0 ? 0 : o}')
    size=$(output_size "${CASE_OUT[$i]}")
    check=-
    if [ $rc -ne 0 ]; then
        check=failed
        log "  failed (exit $rc); last lines of $logf:"
        tail -5 "$logf" | sed 's/^/    /' >&2
    elif [ -n "${CASE_CHECK[$i]}" ]; then
        check=$(run_check ${CASE_CHECK[$i]})
        [ "$check" = ok ] || { echo "$check" >>"$logf"; log "  check: $check"; check=mismatch; }
    fi
    phases=-
    if [ "${CASE_ROLE[$i]}" = bacport ] && [ $rc -eq 0 ]; then
        if [ "$mode" = serve ]; then phases=$(sv_phases "$logf"); else phases=$(bacport_phases "$logf"); fi
        [ -n "$phases" ] || phases=-
    fi
    log "  wall ${wall}s cpu ${cpu}s rss $((rss / 1024))MiB out $((size / 1000000))MB server ${srv}s other ${other}s check $check"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$RUN_ID" "$round" "$g" "$label" "${CASE_ROLE[$i]}" "$wall" "$u" "$s" "$cpu" "$rss" \
        "$size" "$srv" "$other" "$rc" "$check" "$phases" >>"$RESULTS"
}

# run_check ENGINE TARGET: TARGET "@serve:NAME" is a database the service
# created, resolved by serve.sh.
run_check() {
    local engine=$1 target=$2
    case $target in @serve:*) target=$(serve_db_path "$engine" "${target#@serve:}") ;; esac
    verify "$engine" "$target" 2>&1 | head -20
}

# bacport_phases LOG: the per-phase figures bacport printed, on one line.
bacport_phases() { echo -; }
