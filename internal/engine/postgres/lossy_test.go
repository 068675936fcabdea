package postgres

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

func TestCutLossy(t *testing.T) {
	cases := []struct {
		in, out string
		lossy   bool
	}{
		{"postgres://h/db", "postgres://h/db", false},
		{"postgres://h/db?lossy=true", "postgres://h/db", true},
		{"postgres://h/db?sslmode=disable&lossy=1&connect_timeout=5", "postgres://h/db?sslmode=disable&connect_timeout=5", true},
		{"postgres://h/db?lossy=false", "postgres://h/db", false},
	}
	for _, c := range cases {
		out, lossy, err := cutLossy(c.in)
		if err != nil || out != c.out || lossy != c.lossy {
			t.Errorf("cutLossy(%q) = %q, %v, %v; want %q, %v", c.in, out, lossy, err, c.out, c.lossy)
		}
	}
	if _, _, err := cutLossy("postgres://h/db?lossy=maybe"); err == nil {
		t.Errorf("lossy=maybe accepted")
	}
}

// A server DSN with lossy=true imports a package that needs the lossy
// mappings, as engine.Config.Lossy does.
func TestImport_LossyDSN(t *testing.T) {
	server(t)
	file := filepath.Join(testenv.FixturesDir(t), "BACPACToD-Test.bacpac")
	dst := newName(t)
	dst.DSN += "?lossy=true"
	rep, err := importFile(t, New().(*Driver), file, dst)
	if err != nil {
		t.Fatalf("import with lossy=true in the DSN: %v", err)
	}
	if rep.Rows != 173 {
		t.Errorf("imported %d rows, want 173", rep.Rows)
	}
}

// The lossy mapping drops the 100 ns digit rather than rounding, so the
// last instant of a day or of year 9999 stays within it.
func TestConvert_LossyTruncates(t *testing.T) {
	last := bacpac.TimeOfDay(24*time.Hour - 100)
	got, err := (&targetCol{kind: tTime}).convert(last, true)
	if err != nil || got != int64(24*time.Hour/time.Microsecond)-1 {
		t.Errorf("time 23:59:59.9999999 converts to %v, %v; want 23:59:59.999999", got, err)
	}
	end := time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
	got, err = (&targetCol{kind: tTimestamp}).convert(end, true)
	want := end.Truncate(time.Microsecond).UnixMicro() - pgEpochUnixMicros
	if err != nil || got != want {
		t.Errorf("timestamp %s converts to %v, %v; want %d (9999-12-31 23:59:59.999999)", end, got, err, want)
	}
}

// An export lists what it could only describe for PostgreSQL: an
// expression index and a check with no T-SQL form.
func TestExport_ReportsOmitted(t *testing.T) {
	server(t)
	src := newDatabase(t)
	execSQL(t, src, `CREATE TABLE tagged (id int PRIMARY KEY, name text, tags text[],
		CONSTRAINT tagged_has_a CHECK (tags @> ARRAY['a']), CONSTRAINT tagged_id CHECK (id > 0))`)
	execSQL(t, src, `CREATE INDEX tagged_lower ON tagged (lower(name))`)
	s, err := New().OpenSource(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := engine.Export(t.Context(), s, io.Discard, engine.ExportOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	got := map[string]bool{}
	for _, o := range rep.Omitted {
		got[o.Kind+" "+o.Name] = true
		if o.Reason == "" {
			t.Errorf("omitted %s %s has no reason", o.Kind, o.Name)
		}
	}
	for _, want := range []string{"check constraint dbo.tagged.tagged_has_a", "index dbo.tagged.tagged_lower"} {
		if !got[want] {
			t.Errorf("ExportReport.Omitted = %v; want it to list %s", rep.Omitted, want)
		}
	}
	if got["check constraint dbo.tagged.tagged_id"] {
		t.Errorf("the translatable check tagged_id is listed as omitted")
	}
}
