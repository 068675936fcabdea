package postgres

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/engine"
)

// peakRSS returns the process's peak resident set since the last reset,
// and resets it (Linux: /proc/self/status VmHWM, /proc/self/clear_refs).
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	var kb int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return kb << 10
}

// TestBig_Memory exports and imports a table of about 1 GB and checks that
// neither keeps more than 256 MiB resident. It also logs throughput on a
// pgbench -s 10 shaped table. Set BACPORT_BIG=1 to run it (a few minutes).
func TestBig_Memory(t *testing.T) {
	if os.Getenv("BACPORT_BIG") != "1" {
		t.Skip("set BACPORT_BIG=1 to export and import a 1 GB table")
	}
	server(t)
	src := newDatabase(t)
	start := time.Now()
	execSQL(t, src, `CREATE TABLE wide (id bigint PRIMARY KEY, name text NOT NULL,
		descr text, amount numeric(14,2), created_at timestamptz NOT NULL, uid uuid NOT NULL,
		payload bytea, attrs jsonb)`)
	execSQL(t, src, `INSERT INTO wide SELECT g, 'customer-' || g,
		md5(g::text) || ' ' || md5((g*2)::text) || ' ' || md5((g*3)::text),
		((g::bigint * 7919) % 100000000) / 100.0,
		timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds',
		md5('u' || g)::uuid, decode(md5('b' || g) || md5('c' || g), 'hex'),
		jsonb_build_object('k', g, 'tag', substr(md5('t' || g), 1, 12))
		FROM generate_series(1, 2800000) AS g`)
	execSQL(t, src, `CREATE INDEX wide_created_at_idx ON wide (created_at)`)
	execSQL(t, src, `VACUUM ANALYZE wide`)
	size := query(t, src, "SELECT pg_relation_size('wide')")[0][0]
	t.Logf("built wide: %s bytes of heap in %v", size, time.Since(start).Round(time.Second))

	measure(t, src, "wide", 256<<20)

	execSQL(t, src, `CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int,
		abalance int, filler char(84))`)
	execSQL(t, src, `INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, ''
		FROM generate_series(1, 1000000) g`)
	execSQL(t, src, `DROP TABLE wide`)
	execSQL(t, src, `VACUUM ANALYZE pgbench_accounts`)
	measure(t, src, "pgbench_accounts (scale 10)", 256<<20)
}

// measure exports src to a package and imports it into a new database,
// logging time, rate and peak RSS of each, and failing past limit bytes.
func measure(t *testing.T, src engine.Config, what string, limit int64) {
	t.Helper()
	heap, _ := strconv.ParseInt(query(t, src, `SELECT sum(pg_relation_size(c.oid))
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r'`)[0][0], 10, 64)
	peakRSS(t)
	start := time.Now()
	file := exportFile(t, New().(*Driver), src)
	exp := time.Since(start)
	expRSS := peakRSS(t)
	st, _ := os.Stat(file)

	dst := newName(t)
	start = time.Now()
	rep, err := importFile(t, New().(*Driver), file, dst)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	imp := time.Since(start)
	impRSS := peakRSS(t)
	mb := float64(heap) / 1e6
	t.Logf("%s: %.0f MB heap, %d rows; export %v (%.0f MB/s, package %d MB, peak RSS %d MiB); "+
		"import %v (%.0f MB/s, peak RSS %d MiB)", what, mb, rep.Rows,
		exp.Round(time.Millisecond), mb/exp.Seconds(), st.Size()>>20, expRSS>>20,
		imp.Round(time.Millisecond), mb/imp.Seconds(), impRSS>>20)
	if expRSS > limit || impRSS > limit {
		t.Errorf("%s: peak RSS export %d MiB, import %d MiB; want both under %d MiB",
			what, expRSS>>20, impRSS>>20, limit>>20)
	}
	os.Remove(file)
}
