package mysql

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// fixtureTotals are the row totals of §1 of docs/bacpac-format.md.
var fixtureTotals = map[string]int64{
	"AdventureWorksLT.bacpac":                 4277,
	"BACPACToD-Test.bacpac":                   173,
	"Northwind.bacpac":                        3308,
	"SoftExpress_Challenge.bacpac":            10,
	"StarTED.bacpac":                          56983,
	"UmbracoCommerceDemoStore_v17.0.0.bacpac": 10305,
	"abilities.bacpac":                        367,
	"disney.bacpac":                           1652,
}

// importPackage loads every table of a package straight through the
// Target, the way the import pipeline does, and returns the rows loaded
// per table and what the target skipped.
func importPackage(t *testing.T, pkg *bacpac.Package, cfg engine.Config) (map[*bacpac.Table]int64, []engine.Skipped) {
	t.Helper()
	ctx := t.Context()
	tgt, err := New().OpenTarget(ctx, cfg, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer tgt.Close()
	m := pkg.Model()
	if err := tgt.CreateTables(ctx, m); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	loaded := map[*bacpac.Table]int64{}
	for _, tb := range m.Tables {
		rows := pkg.Rows(tb)
		n, err := tgt.Load(ctx, tb, func() ([]any, error) {
			if rows.Next() {
				return rows.Values(), nil
			}
			if err := rows.Err(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		})
		rows.Close()
		if err != nil {
			t.Fatalf("Load %s.%s: %v", tb.Schema, tb.Name, err)
		}
		loaded[tb] = n
	}
	skipped, err := tgt.Finish(ctx, m)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return loaded, skipped
}

// TestTarget_Fixtures imports every shared fixture package and checks the
// row counts against §1 of the format note and against the tables.
func TestTarget_Fixtures(t *testing.T) {
	dir := testenv.FixturesDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read fixtures: %v", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".bacpac") {
			continue
		}
		t.Run(strings.TrimSuffix(e.Name(), ".bacpac"), func(t *testing.T) {
			f, err := bacpac.OpenFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatalf("open %s: %v", e.Name(), err)
			}
			defer f.Close()
			cfg := newName(t)
			// The packages hold datetimeoffset values and 100-ns digits,
			// which need the documented lossy mappings.
			cfg.DSN += "?datetimeoffset=utc&fraction=truncate"
			loaded, skipped := importPackage(t, f.Package, cfg)
			for _, s := range skipped {
				t.Logf("skipped %s %s: %s", s.Kind, s.Name, s.Reason)
			}
			db := openDB(t, cfg)
			defer db.Close()
			var total int64
			tg := &target{names: map[[2]string]string{}}
			tg.assignNames(f.Model())
			for tb, n := range loaded {
				var count int64
				name := tg.tableName(tb.Schema, tb.Name)
				if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+
					quoteIdent(name)).Scan(&count); err != nil {
					t.Fatalf("count %s: %v", name, err)
				}
				if count != n {
					t.Errorf("table %s holds %d rows, Load reported %d", name, count, n)
				}
				total += count
			}
			if want, ok := fixtureTotals[e.Name()]; ok && total != want {
				t.Errorf("imported %d rows, want %d", total, want)
			}
		})
	}
}
