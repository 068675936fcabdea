package bacpac

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/testenv"
)

// TestWriter_RewriteFixtures reads each real DacFx package, writes its
// tables and rows again with the Writer, and checks that the new package
// reads back to the same tables and the same values, row by row.
func TestWriter_RewriteFixtures(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(testenv.FixturesDir(t), "*.bacpac"))
	if len(names) == 0 {
		testenv.Missing(t, "BACPAC fixtures", "place the shared fixtures in ../shared/fixtures/bacpac")
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			src, err := OpenFile(name)
			if err != nil {
				t.Fatalf("open fixture: %v", err)
			}
			defer src.Close()
			m := src.Model()

			var out bytes.Buffer
			w, err := NewWriter(&out, m, WriterOptions{PartSize: 64 << 10, TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("NewWriter: %v", err)
			}
			var total int64
			for _, tbl := range m.Tables {
				tw, err := w.Table(tbl)
				if err != nil {
					t.Fatal(err)
				}
				rs := src.Rows(tbl)
				for rs.Next() {
					if err := tw.WriteRow(rs.Values()); err != nil {
						t.Fatalf("rewrite %s: %v", tbl.Name, err)
					}
					total++
				}
				if err := rs.Err(); err != nil {
					t.Fatalf("read fixture %s: %v", tbl.Name, err)
				}
				rs.Close()
				if err := tw.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			data := out.Bytes()
			dst, err := Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("open rewritten package: %v", err)
			}
			if got := dst.Origin().TotalRows; got != total {
				t.Errorf("rewritten TotalRows = %d, want %d", got, total)
			}
			for _, want := range m.Tables {
				got := dst.Model().Table(want.Schema, want.Name)
				if got == nil {
					t.Errorf("table %s.%s missing from the rewritten model", want.Schema, want.Name)
					continue
				}
				normalizeConstraintOrder(got)
				normalizeConstraintOrder(want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("table %s.%s rewritten as\n%s\nwant\n%s",
						want.Schema, want.Name, dump(got), dump(want))
				}
				compareRows(t, src.Package, dst, want, got)
			}
		})
	}
}

// compareRows checks that table a of package pa and table b of pb hold
// the same rows.
func compareRows(t *testing.T, pa, pb *Package, a, b *Table) {
	t.Helper()
	ra, rb := pa.Rows(a), pb.Rows(b)
	defer ra.Close()
	defer rb.Close()
	cols := a.DataColumns()
	n := 0
	for ra.Next() {
		if !rb.Next() {
			t.Errorf("table %s: rewritten package ends after %d rows (%v)", a.Name, n, rb.Err())
			return
		}
		va, vb := ra.Values(), rb.Values()
		for i, c := range cols {
			if !sameValue(c, va[i], vb[i]) {
				t.Errorf("table %s row %d column %s: rewritten %s, original %s",
					a.Name, n, c.Name, short(vb[i]), short(va[i]))
			}
		}
		n++
	}
	if rb.Next() {
		t.Errorf("table %s: rewritten package has more than %d rows", a.Name, n)
	}
	for _, err := range []error{ra.Err(), rb.Err()} {
		if err != nil && !strings.Contains(err.Error(), "closed") {
			t.Errorf("table %s: %v", a.Name, err)
		}
	}
}
