package postgres

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
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
