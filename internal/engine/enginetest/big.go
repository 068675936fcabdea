package enginetest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// bigBytes is the size of the row values of the big table, the "1 GB
// table" of the memory requirement.
const bigBytes = 1 << 30

// bigRSSLimit is the peak resident set an import or export of the big
// table may reach.
const bigRSSLimit = 256 << 20

// testBig imports a package holding one table of 1 GiB of row values into
// the engine and exports it again, failing when either keeps more than
// 256 MiB resident, and logs the rates. It runs only with BACPORT_BIG=1,
// since it takes minutes.
func testBig(t *testing.T, h Harness) {
	if os.Getenv("BACPORT_BIG") != "1" {
		t.Skip("set BACPORT_BIG=1 to import and export a 1 GiB table")
	}
	start := time.Now()
	path, rows := bigPackage(t)
	st, _ := os.Stat(path)
	t.Logf("built the package: %d rows, %d MiB of values, %d MiB compressed, in %v",
		rows, bigBytes>>20, st.Size()>>20, time.Since(start).Round(time.Second))

	cfg := h.NewName(t)
	peakRSS(t)
	start = time.Now()
	rep, err := ImportFile(t, h, path, cfg, true)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	imp, impRSS := time.Since(start), peakRSS(t)
	if rep.Rows != rows {
		t.Errorf("imported %d rows, want %d", rep.Rows, rows)
	}
	os.Remove(path)

	start = time.Now()
	out := ExportFile(t, h, cfg)
	exp, expRSS := time.Since(start), peakRSS(t)
	mib := float64(bigBytes >> 20)
	t.Logf("%s: import %v (%.0f MiB/s of values, peak RSS %d MiB); export %v (%.0f MiB/s, peak RSS %d MiB)",
		h.Driver.Name(), imp.Round(time.Millisecond), mib/imp.Seconds(), impRSS>>20,
		exp.Round(time.Millisecond), mib/exp.Seconds(), expRSS>>20)
	if impRSS > bigRSSLimit || expRSS > bigRSSLimit {
		t.Errorf("peak RSS: import %d MiB, export %d MiB; want both under %d MiB",
			impRSS>>20, expRSS>>20, bigRSSLimit>>20)
	}
	os.Remove(out)
}

// bigPackage writes a package with one table of bigBytes of row values.
func bigPackage(t *testing.T) (string, int64) {
	t.Helper()
	tbl := &bacpac.Table{
		Schema: "dbo", Name: "big",
		Columns: []*bacpac.Column{
			{Name: "id", Type: bacpac.Type{Name: "bigint"}},
			{Name: "name", Type: bacpac.Type{Name: "nvarchar", Length: 100}},
			{Name: "descr", Type: bacpac.Type{Name: "nvarchar", Max: true}, Nullable: true},
			{Name: "amount", Type: bacpac.Type{Name: "decimal", Precision: 14, Scale: 2}},
			{Name: "created", Type: bacpac.Type{Name: "datetime2", Scale: 6}},
			{Name: "payload", Type: bacpac.Type{Name: "varbinary", Length: 64}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_big", Columns: []bacpac.IndexColumn{{Name: "id"}}},
	}
	m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}
	path := filepath.Join(t.TempDir(), "big.bacpac")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create package file: %v", err)
	}
	defer f.Close()
	w, err := bacpac.NewWriter(f, m, bacpac.WriterOptions{TempDir: t.TempDir(), Level: 1})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	tw, err := w.Table(tbl)
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := make([]byte, 48)
	var n, size int64
	row := make([]any, 6)
	for size < bigBytes {
		n++
		for i := range payload {
			payload[i] = byte(n >> (i % 8 * 8))
		}
		name := "customer-" + strconv.FormatInt(n, 10)
		descr := fmt.Sprintf("%016x %016x %016x %016x", n*7919, n*104729, n*1299709, n*15485863)
		row[0], row[1], row[2] = n, name, descr
		row[3] = bacpac.NewDecimal(n*7919%100_000_000, 2)
		row[4] = base.Add(time.Duration(n) * 17 * time.Second)
		row[5] = payload
		if err := tw.WriteRow(row); err != nil {
			t.Fatalf("WriteRow: %v", err)
		}
		size += int64(8+len(name)+len(descr)+17+8) + int64(len(payload))
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close table: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close package: %v", err)
	}
	return path, n
}

// peakRSS returns the process's peak resident set since the last call and
// resets it (Linux: VmHWM in /proc/self/status, reset through
// /proc/self/clear_refs).
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status to read the peak RSS from: %v", err)
	}
	defer f.Close()
	var kb int64
	sc := bufio.NewScanner(io.Reader(f))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("reset the peak RSS: %v (the next figure includes earlier peaks)", err)
	}
	return kb << 10
}
