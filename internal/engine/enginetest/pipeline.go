package enginetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// runPipelineTests runs the checks that go through engine.Export and
// engine.Import.
func runPipelineTests(t *testing.T, h Harness) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, h) })
	t.Run("ImportIntoExistingEmpty", func(t *testing.T) { testImportExisting(t, h) })
	t.Run("CancelMidLoadCreated", func(t *testing.T) { testCancelImport(t, h, true) })
	t.Run("CancelMidLoadExisting", func(t *testing.T) { testCancelImport(t, h, false) })
	t.Run("SnapshotExport", func(t *testing.T) { testSnapshotExport(t, h) })
	t.Run("Fixtures", func(t *testing.T) { testFixtures(t, h) })
	t.Run("StrictFixture", func(t *testing.T) { testStrictFixture(t, h) })
	t.Run("Big", func(t *testing.T) { testBig(t, h) })
}

// ExportFile exports the database cfg names to a package file in a
// temporary directory and returns its path.
func ExportFile(t *testing.T, h Harness, cfg engine.Config) string {
	t.Helper()
	ctx := ctxFor(t)
	src, err := h.Driver.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	return exportFrom(t, src)
}

func exportFrom(t *testing.T, src engine.Source) string {
	t.Helper()
	path, _, err := tryExport(t, src, false)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return path
}

func tryExport(t *testing.T, src engine.Source, lossy bool) (string, engine.ExportReport, error) {
	t.Helper()
	ctx := ctxFor(t)
	path := filepath.Join(t.TempDir(), "export.bacpac")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create package file: %v", err)
	}
	defer f.Close()
	rep, err := engine.Export(ctx, src, f, engine.ExportOptions{
		Parallel: 2, TempDir: t.TempDir(), Server: "enginetest", Database: "source", Lossy: lossy,
	})
	if err != nil {
		return "", rep, err
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close package file: %v", err)
	}
	return path, rep, nil
}

// testRefused checks that a family of values no SQL Server type holds
// fails the export with an error that says where, and that a lossy export
// writes them as NULL, saying where it did.
func testRefused(t *testing.T, h Harness, cfg engine.Config, f Family) {
	src, err := h.Driver.OpenSource(ctxFor(t), cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	_, _, err = tryExport(t, src, false)
	if err == nil {
		t.Fatalf("export of family %s succeeded; want it refused with %q", f.Name, f.Refused)
	}
	for _, want := range f.Refused {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("export error %q does not contain %q", err, want)
		}
	}

	path, rep, err := tryExport(t, src, true)
	if err != nil {
		t.Fatalf("lossy export of family %s: %v", f.Name, err)
	}
	if len(rep.Changed) == 0 {
		t.Errorf("lossy export of family %s reports no changed column", f.Name)
	}
	for _, c := range rep.Changed {
		if c.Values < 1 || c.Column == "" || c.Reason == "" {
			t.Errorf("lossy export reports %+v; want the column, a count and a reason", c)
		}
	}
	dst := h.NewName(t)
	imp, err := ImportFile(t, h, path, dst, true)
	if err != nil {
		t.Fatalf("import of the lossy export: %v", err)
	}
	if imp.Rows != rep.Rows {
		t.Errorf("import of the lossy export loaded %d rows, the export wrote %d", imp.Rows, rep.Rows)
	}
}

// ImportFile imports a package file into the database cfg names,
// creating it when create is set, and returns the report.
func ImportFile(t *testing.T, h Harness, path string, cfg engine.Config, create bool) (engine.ImportReport, error) {
	t.Helper()
	return importFile(ctxFor(t), t, h, path, cfg, create, engine.ImportOptions{Parallel: 2})
}

func importFile(ctx context.Context, t *testing.T, h Harness, path string, cfg engine.Config,
	create bool, opts engine.ImportOptions) (engine.ImportReport, error) {
	t.Helper()
	pkg, err := bacpac.OpenFile(path)
	if err != nil {
		t.Fatalf("open package %s: %v", path, err)
	}
	defer pkg.Close()
	dst, err := h.Driver.OpenTarget(ctx, cfg, create)
	if err != nil {
		return engine.ImportReport{}, err
	}
	defer dst.Close()
	return engine.Import(ctx, pkg.Package, dst, opts)
}

func testRoundTrip(t *testing.T, h Harness) {
	for _, f := range h.Families {
		t.Run(f.Name, func(t *testing.T) {
			cfg := h.NewDatabase(t)
			for _, stmt := range f.Setup {
				h.Exec(t, cfg, stmt)
			}
			if len(f.Refused) > 0 {
				testRefused(t, h, cfg, f)
				return
			}
			before := dumpDatabase(t, h, cfg)
			path := ExportFile(t, h, cfg)

			dstCfg := h.NewName(t)
			rep, err := ImportFile(t, h, path, dstCfg, true)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			var want int64
			for _, rows := range before.rows {
				want += int64(len(rows))
			}
			if rep.Rows != want {
				t.Errorf("import report counts %d rows, the source has %d", rep.Rows, want)
			}
			compareDumps(t, before, dumpDatabase(t, h, dstCfg))
		})
	}
}

// smallPackage writes smallModel with n child rows as a package file.
func smallPackage(t *testing.T, children int) string {
	t.Helper()
	m := smallModel()
	path := filepath.Join(t.TempDir(), "small.bacpac")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create package file: %v", err)
	}
	defer f.Close()
	w, err := bacpac.NewWriter(f, m, bacpac.WriterOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, tbl := range m.Tables {
		tw, err := w.Table(tbl)
		if err != nil {
			t.Fatalf("Table: %v", err)
		}
		n := 10
		if i == 1 {
			n = children
		}
		next := rowsOf(tbl, n, nil)
		for {
			row, err := next()
			if err != nil {
				break
			}
			if err := tw.WriteRow(row); err != nil {
				t.Fatalf("WriteRow: %v", err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatalf("close table writer: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close package: %v", err)
	}
	return path
}

func testImportExisting(t *testing.T, h Harness) {
	path := smallPackage(t, 100)
	cfg := h.NewDatabase(t)
	if _, err := ImportFile(t, h, path, cfg, false); err != nil {
		t.Fatalf("Import into an existing empty database: %v", err)
	}
	if n := countRows(t, h, cfg, "child"); n != 100 {
		t.Fatalf("child has %d rows after import, want 100", n)
	}
	_, err := ImportFile(t, h, path, cfg, false)
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("second Import into the same database: got %v, want ErrNotEmpty", err)
	}
	if n := countRows(t, h, cfg, "child"); n != 100 {
		t.Fatalf("child has %d rows after a refused import, want 100", n)
	}
	_, err = ImportFile(t, h, path, cfg, true)
	if !errors.Is(err, engine.ErrDatabaseExists) {
		t.Fatalf("Import creating an existing database: got %v, want ErrDatabaseExists", err)
	}
}

func testCancelImport(t *testing.T, h Harness, create bool) {
	path := smallPackage(t, 60_000)
	var cfg engine.Config
	if create {
		cfg = h.NewName(t)
	} else {
		cfg = h.NewDatabase(t)
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	var cancelled atomic.Bool
	_, err := importFile(ctx, t, h, path, cfg, create, engine.ImportOptions{
		Parallel: 1,
		Progress: func(p engine.Progress) {
			if p.Phase == engine.PhaseData && p.Rows >= 20_000 {
				cancelled.Store(true)
				cancel()
			}
		},
	})
	if !cancelled.Load() {
		t.Fatalf("the import never reported 20,000 loaded rows (err %v)", err)
	}
	if err == nil {
		t.Fatalf("Import cancelled at 20,000 rows succeeded")
	}
	bg := ctxFor(t)
	if create {
		_, err := h.Driver.OpenSource(bg, cfg)
		if !errors.Is(err, engine.ErrNoDatabase) {
			t.Fatalf("OpenSource after a cancelled import created the database: got %v, want ErrNoDatabase", err)
		}
		return
	}
	tgt, err := h.Driver.OpenTarget(bg, cfg, false)
	if err != nil {
		t.Fatalf("OpenTarget after a cancelled import into an existing database: got %v, want it empty", err)
	}
	tgt.Close()
}

// testSnapshotExport checks that an export through the pipeline sees the
// snapshot taken at OpenSource, whatever is written afterwards.
func testSnapshotExport(t *testing.T, h Harness) {
	cfg := h.NewDatabase(t)
	h.Exec(t, cfg, "CREATE TABLE snap_a (id integer NOT NULL PRIMARY KEY, v integer NOT NULL)")
	h.Exec(t, cfg, "CREATE TABLE snap_b (id integer NOT NULL PRIMARY KEY, v integer NOT NULL)")
	h.Exec(t, cfg, "INSERT INTO snap_a (id, v) VALUES (1, 1)")
	h.Exec(t, cfg, "INSERT INTO snap_b (id, v) VALUES (1, 1)")
	ctx := ctxFor(t)
	src, err := h.Driver.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	// A transfer between the tables after the snapshot began.
	h.Exec(t, cfg, "UPDATE snap_a SET v = v - 1")
	h.Exec(t, cfg, "UPDATE snap_b SET v = v + 1")
	h.Exec(t, cfg, "INSERT INTO snap_b (id, v) VALUES (2, 5)")
	path := exportFrom(t, src)

	dst := h.NewName(t)
	if _, err := ImportFile(t, h, path, dst, true); err != nil {
		t.Fatalf("Import: %v", err)
	}
	d := dumpDatabase(t, h, dst)
	for _, tbl := range d.model.Tables {
		if got := d.rows[tbl.Schema+"."+tbl.Name]; len(got) != 1 || got[0] != "1 | 1" {
			t.Errorf("table %s after the trip: %q, want [\"1 | 1\"] (later writes leaked into the export)", tbl.Name, got)
		}
	}
}
