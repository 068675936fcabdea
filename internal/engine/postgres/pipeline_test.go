package postgres

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// exportFile exports a database to a package file through the pipeline.
func exportFile(t *testing.T, d *Driver, cfg engine.Config) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	src, err := d.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	name := filepath.Join(t.TempDir(), "out.bacpac")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := engine.Export(ctx, src, f, engine.ExportOptions{Database: cfg.Database}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

// importFile imports a package into a new database through the pipeline.
func importFile(t *testing.T, d *Driver, file string, cfg engine.Config) (engine.ImportReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	pkg, err := bacpac.OpenFile(file)
	if err != nil {
		t.Fatalf("open package %s: %v", file, err)
	}
	defer pkg.Close()
	tgt, err := d.OpenTarget(ctx, cfg, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer tgt.Close()
	return engine.Import(ctx, pkg.Package, tgt, engine.ImportOptions{})
}

// TestPipeline_RoundTrip sends every family through a real package file:
// the model, its extended properties and the BCP rows.
func TestPipeline_RoundTrip(t *testing.T) {
	server(t)
	src := newDatabase(t)
	for _, f := range families {
		if len(f.Refused) > 0 {
			continue // values no package can carry (TestExport_NaN)
		}
		for _, sql := range f.Setup {
			execSQL(t, src, sql)
		}
	}
	file := exportFile(t, New().(*Driver), src)
	dst := newName(t)
	rep, err := importFile(t, New().(*Driver), file, dst)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(rep.Skipped) > 0 {
		t.Errorf("same-engine import skipped %v", rep.Skipped)
	}
	_, want := dump(t, src)
	_, got := dump(t, dst)
	compareCells(t, got, want)
	compareLines(t, "schema", schemaOf(t, dst), schemaOf(t, src))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// inexactCSV reports BACPACToD-Test columns PostgreSQL holds in a lossy
// mapping: offsets (timestamptz keeps the instant only) and 100 ns digits
// (PostgreSQL keeps microseconds).
func inexactCSV(column string) bool {
	return strings.HasSuffix(column, "_7") || strings.Contains(column, "datetimeoffset") ||
		strings.Contains(column, "sql_variant")
}

// TestImport_BACPACToDCells compares the imported cells with the expected
// CSVs, reading them back through PostgreSQL's text output.
func TestImport_BACPACToDCells(t *testing.T) {
	server(t)
	dir := testenv.FixturesDir(t)
	file := filepath.Join(dir, "BACPACToD-Test.bacpac")
	dst := newName(t)
	if _, err := importFile(t, &Driver{Lossy: true}, file, dst); err != nil {
		t.Fatalf("Import: %v", err)
	}
	csvs, _ := filepath.Glob(filepath.Join(dir, "BACPACToD-Test.expected", "*.csv"))
	compared := 0
	for _, name := range csvs {
		table := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "dbo"), ".csv")
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		header := recs[0]
		cols := make([]string, len(header))
		for i, h := range header {
			cols[i] = cellExpr(t, dst, table, h)
		}
		got := query(t, dst, "SELECT "+strings.Join(cols, ", ")+" FROM public."+
			quoteIdent(table)+" ORDER BY "+quoteIdent(header[0]))
		if len(got) != len(recs)-1 {
			t.Errorf("%s: %d rows, want %d", table, len(got), len(recs)-1)
			continue
		}
		for r, want := range recs[1:] {
			for c, w := range want {
				if inexactCSV(header[c]) {
					continue
				}
				compared++
				if g := got[r][c]; !sameCell(g, w) {
					t.Errorf("%s row %d %s = %q, want %q", table, r+1, header[c], g, w)
				}
			}
		}
	}
	t.Logf("compared %d cells", compared)
}

// cellExpr renders a column the way the CSVs write it.
func cellExpr(t *testing.T, cfg engine.Config, table, col string) string {
	typ := query(t, cfg, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attname = $2`, "public."+quoteIdent(table), col)[0][0]
	q := quoteIdent(col)
	switch {
	case typ == "bytea":
		return "CASE WHEN " + q + " IS NULL THEN NULL ELSE '0x' || upper(encode(" + q + ", 'hex')) END"
	case typ == "boolean":
		return q + "::int"
	case strings.HasPrefix(typ, "timestamp(3) with time zone"):
		return "to_char(" + q + ", 'YYYY-MM-DD HH24:MI:SS.MSOF')"
	case strings.HasPrefix(typ, "timestamp(3)"):
		return "to_char(" + q + ", 'YYYY-MM-DD HH24:MI:SS.MS')"
	case typ == "uuid":
		return "upper(" + q + "::text)"
	}
	return q
}

// sameCell compares a PostgreSQL text value with a CSV cell: numbers by
// value, times with or without trailing fraction zeros.
func sameCell(got, want string) bool {
	if got == want {
		return true
	}
	trim := func(s string) string {
		if strings.Contains(s, ".") && !strings.ContainsAny(s, " :-") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	if trim(got) == trim(want) {
		return true
	}
	// timestamptz keeps the instant, not the offset (the lossy mapping).
	if w, err := time.Parse("2006-01-02 15:04:05.999999999 -07:00", want); err == nil {
		g, err := time.Parse("2006-01-02 15:04:05.999999999-07", got)
		return err == nil && g.Equal(w)
	}
	// Floats: the CSVs round to the digits .NET prints.
	if w, err := strconv.ParseFloat(want, 64); err == nil {
		if g, err := strconv.ParseFloat(got, 64); err == nil {
			digits := len(strings.TrimLeft(strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, strings.SplitN(strings.ToUpper(want), "E", 2)[0]), "0"))
			r, _ := strconv.ParseFloat(strconv.FormatFloat(g, 'g', max(digits, 1), 64), 64)
			return r == w
		}
	}
	// Times: PostgreSQL omits a zero fraction.
	return strings.TrimRight(strings.TrimRight(want, "0"), ".") == got
}

// TestExport_NaN checks that a float NaN, which no SQL Server float holds,
// fails the export naming the table, column and row.
func TestExport_NaN(t *testing.T) {
	server(t)
	src := newDatabase(t)
	execSQL(t, src, "CREATE TABLE f (id int PRIMARY KEY, d double precision)")
	execSQL(t, src, "INSERT INTO f VALUES (1, 1.5), (2, 'NaN')")
	ctx := t.Context()
	s, err := New().OpenSource(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = engine.Export(ctx, s, io.Discard, engine.ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "f") || !strings.Contains(err.Error(), `"d"`) {
		t.Fatalf("export of a NaN float: got %v, want an error naming table f, column d", err)
	}
}
