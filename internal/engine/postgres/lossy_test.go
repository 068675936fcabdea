package postgres

import (
	"path/filepath"
	"testing"

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
