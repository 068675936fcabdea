# report.sh: turns results.tsv into the summary table (sourced by run.sh; can
# also be run alone: `bench/report.sh [results.tsv]`).
#
# Medians are over the successful runs of each tool. MB/s is the source size
# (the tab-separated text of every table, as dataset.sh wrote it) over the
# median wall time. Ratios are bacport's median over the peer's median.

# Targets from the issue: group|peer -> "metric:limit ...", ratios bacport/peer.
TARGETS='pg-export|pg_dump -Fc=wall:0.6 size:1.3
pg-import|pg_restore -j 2=wall:0.9
my-export|mariadb-dump | gzip=wall:0.6
my-import|mariadb < dump.sql=wall:0.5
my-import|myloader -t 2=wall:1.0'
RSS_LIMIT_MIB=256

source_bytes() { cat "$DATA"/tsv/*.tsv 2>/dev/null | wc -c; }

report() {
    local file=$1
    local src
    src=$(source_bytes)
    echo
    echo "bacport benchmark: $DB (SCALE=$SCALE, wide $WIDE_ROWS rows), $(nproc) cores,"\
        "source $(awk -v b="$src" 'BEGIN{printf "%.1f", b / 1e6}') MB of row text"
    echo "run $(awk -F'\t' 'NR == 2 {print $1}' "$file"),"\
        "$(awk -F'\t' 'NR > 1 {print $2}' "$file" | sort -n | tail -1) round(s); medians of successful runs."
    echo "cpu = the client's process tree (for 'bacport serve': the serve process);"\
        "srv = database servers; other = the rest of the machine (noise)."
    awk -F'\t' -v src="$src" -v targets="$TARGETS" -v rsslim="$RSS_LIMIT_MIB" '
    function median(list,    a, n, i, j, t) {
        n = split(list, a, " ")
        if (n == 0) return ""
        for (i = 2; i <= n; i++) {
            t = a[i] + 0
            for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
            a[j + 1] = t
        }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function fmt(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
    function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "n/a" }
    NR == 1 { next }
    {
        k = $3 SUBSEP $4
        if (!(k in seen)) { seen[k] = 1; order[++nk] = k; grp[k] = $3; tool[k] = $4; role[k] = $5 }
        runs[k]++
        if ($14 == 0 && $15 != "mismatch") {
            ok[k]++
            wall[k] = wall[k] " " $6; cpu[k] = cpu[k] " " $9; rss[k] = rss[k] " " $10
            size[k] = size[k] " " $11; srv[k] = srv[k] " " $12; oth[k] = oth[k] " " $13
            if ($10 > maxrss[k]) maxrss[k] = $10
        }
        if ($15 == "ok") good[k]++
        if ($15 == "ok" || $15 == "mismatch") checked[k]++
        if ($5 == "bacport" && $16 != "-" && $16 != "") phases[k] = phases[k] "\n    round " $2 ": " $16
    }
    END {
        n = split(targets, tl, "\n")
        for (i = 1; i <= n; i++) { split(tl[i], kv, "="); tgt[kv[1]] = kv[2] }

        printf "\n%-14s %-22s %5s %8s %7s %7s %7s %7s %8s %8s %s\n", "group", "tool", "runs",
            "wall s", "MB/s", "cpu s", "srv s", "other s", "RSS MiB", "out MB", "checks"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            mw = median(wall[k]); m_w[k] = mw; m_c[k] = median(cpu[k]); m_r[k] = median(rss[k])
            m_s[k] = median(size[k])
            printf "%-14s %-22s %5s %8s %7s %7s %7s %7s %8s %8s %s\n",
                (grp[k] != last ? grp[k] : ""), tool[k], (ok[k] + 0) "/" runs[k],
                (mw == "" ? "failed" : sprintf("%.2f", mw)),
                (mw > 0 ? sprintf("%.0f", src / 1e6 / mw) : "-"),
                fmt(m_c[k], 1), fmt(median(srv[k]), 1), fmt(median(oth[k]), 1),
                (m_r[k] == "" ? "-" : sprintf("%.0f", m_r[k] / 1024)),
                (m_s[k] > 0 ? sprintf("%.1f", m_s[k] / 1e6) : "-"),
                (checked[k] ? (good[k] + 0) "/" checked[k] " ok" : "-")
            last = grp[k]
        }

        print "\nbacport / peer (ratios of medians; below 1 means bacport is faster or smaller):"
        nb = 0
        for (i = 1; i <= nk; i++) {
            b = order[i]
            if (role[b] != "bacport") continue
            for (j = 1; j <= nk; j++) {
                p = order[j]
                if (role[p] != "peer" || grp[p] != grp[b]) continue
                nb++
                line = sprintf("  %-14s %-14s / %-22s wall %5s  cpu %5s  rss %6s", grp[b], tool[b],
                    tool[p], ratio(m_w[b], m_w[p]), ratio(m_c[b], m_c[p]), ratio(m_r[b], m_r[p]))
                if (m_s[p] > 0) line = line sprintf("  size %5s", ratio(m_s[b], m_s[p]))
                t = tgt[grp[p] "|" tool[p]]
                if (t != "") {
                    nt = split(t, tt, " ")
                    for (q = 1; q <= nt; q++) {
                        split(tt[q], mv, ":")
                        r = mv[1] == "wall" ? ratio(m_w[b], m_w[p]) : ratio(m_s[b], m_s[p])
                        line = line sprintf("  [target %s <= %s: %s]", mv[1], mv[2],
                            r == "n/a" ? "not measured" : (r + 0 <= mv[2] + 0 ? "met" : "MISSED"))
                    }
                }
                print line
            }
        }
        if (nb == 0) print "  (no bacport rows in this run)"

        print "\nbacport peak RSS (target < " rsslim " MiB in every case):"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            if (role[k] != "bacport") continue
            printf "  %-14s %-14s max %6.0f MiB  %s\n", grp[k], tool[k], maxrss[k] / 1024,
                (maxrss[k] == "" ? "not measured" : (maxrss[k] / 1024 < rsslim ? "met" : "MISSED"))
        }

        print "\nbacport phases (as bacport reported them):"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            if (role[k] != "bacport") continue
            printf "  %s / %s:%s\n", grp[k], tool[k],
                (phases[k] == "" ? " n/a until bacport reports phases" : phases[k])
        }
    }' "$file"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    . "$(dirname "$0")/lib.sh"
    report "${1:-$BENCH_OUT/results.tsv}"
fi
