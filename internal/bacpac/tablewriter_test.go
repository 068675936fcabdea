package bacpac

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// noLeakedGoroutines fails t if the goroutine count has not come back to
// before within a second: every part compressor must have ended.
func noLeakedGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before,
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTableWriter_PartOrder writes one table in many parts with several
// part compressors, whose parts finish out of order, and checks that the
// zip holds them in part order and the rows read back in order.
func TestTableWriter_PartOrder(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{
		{Name: "id", Type: Type{Name: "int"}},
		{Name: "pad", Type: Type{Name: "varbinary", Max: true}},
	}}}}
	r := rand.New(rand.NewPCG(3, 4))
	for _, workers := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			before := runtime.NumGoroutine()
			const rows = 400
			data := writePackage(t, m, WriterOptions{PartSize: 20_000, PartWorkers: workers}, func(w *Writer) {
				tw, _ := w.Table(m.Tables[0])
				for i := range rows {
					// Random sizes make the parts' compression times differ.
					if err := tw.WriteRow([]any{int64(i), randBytes(r, r.IntN(12_000))}); err != nil {
						t.Fatal(err)
					}
				}
				if err := tw.Close(); err != nil {
					t.Fatal(err)
				}
			})
			noLeakedGoroutines(t, before)

			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, f := range zr.File {
				if strings.HasPrefix(f.Name, "Data/") {
					parts = append(parts, f.Name)
				}
			}
			if len(parts) < 10 {
				t.Fatalf("only %d parts", len(parts))
			}
			for i, n := range parts {
				if want := partName(m.Tables[0], i); n != want {
					t.Fatalf("zip entry %d is %s, want %s", i, n, want)
				}
			}
			pkg, err := Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			rs := pkg.Rows(pkg.Model().Tables[0])
			defer rs.Close()
			i := int64(0)
			for ; rs.Next(); i++ {
				if got := rs.Values()[0]; got != i {
					t.Fatalf("row %d has id %v", i, got)
				}
			}
			if rs.Err() != nil || i != rows {
				t.Fatalf("read %d rows, err %v", i, rs.Err())
			}
		})
	}
}

// noise returns n random bytes, which deflate cannot shrink.
func noise(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestTableWriter_FailureStopsEveryCompressor makes the output fail while
// several compressors hold parts, at several points, and checks that the
// error comes back, no goroutine is left and no spool file stays.
func TestTableWriter_FailureStopsEveryCompressor(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{
		{Name: "v", Type: Type{Name: "varbinary", Max: true}},
	}}}}
	r := rand.New(rand.NewPCG(5, 6))
	for _, limit := range []int{5_000, 60_000, 150_000, 400_000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			before := runtime.NumGoroutine()
			dir := t.TempDir()
			w, err := NewWriter(&failingWriter{limit: limit}, m,
				WriterOptions{PartSize: 40_000, PartWorkers: 4, TempDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			tw, _ := w.Table(m.Tables[0])
			var werr error
			for range 100 {
				// Fresh random bytes each row, so the parts do not shrink.
				if werr = tw.WriteRow([]any{noise(r, 30_000)}); werr != nil {
					break
				}
			}
			if werr == nil {
				werr = tw.Close()
			}
			if werr == nil || !strings.Contains(werr.Error(), "disk full") {
				t.Fatalf("write error = %v, want one mentioning disk full", werr)
			}
			if err := tw.WriteRow([]any{[]byte{1}}); err == nil {
				t.Errorf("WriteRow after a failure succeeded")
			}
			if err := w.Close(); err == nil {
				t.Errorf("Close after a failed table succeeded")
			}
			w.Abort()
			if f := spoolFiles(t, dir); len(f) != 0 {
				t.Errorf("spool files left: %v", f)
			}
			noLeakedGoroutines(t, before)
		})
	}
}

// TestTableWriter_AbortMidTable aborts the package while a table's
// compressors are busy and checks that nothing is left behind.
func TestTableWriter_AbortMidTable(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{
		{Name: "v", Type: Type{Name: "varbinary", Max: true}},
	}}}}
	r := rand.New(rand.NewPCG(7, 8))
	row := []any{randBytes(r, 50_000)}
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	w, err := NewWriter(io.Discard, m, WriterOptions{PartSize: 120_000, PartWorkers: 3, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tw, _ := w.Table(m.Tables[0])
	for range 40 {
		if err := tw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	}
	if f := spoolFiles(t, dir); len(f) != 3 {
		t.Errorf("spool files while writing: %v, want one per compressor", f)
	}
	w.Abort()
	if err := tw.Close(); err == nil {
		t.Errorf("Close after Abort succeeded")
	}
	if f := spoolFiles(t, dir); len(f) != 0 {
		t.Errorf("spool files left after Abort: %v", f)
	}
	noLeakedGoroutines(t, before)
}
