package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/testenv"
)

func fixtures(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(testenv.FixturesDir(t), "*.bacpac"))
	if err != nil || len(names) == 0 {
		testenv.Missing(t, "the .bacpac fixtures", "place them in the shared fixture folder")
	}
	return names
}

func TestPackageInspect_Fixtures(t *testing.T) {
	for _, name := range fixtures(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			code, out, stderr := run(t, "package", "inspect", name)
			if code != ExitOK {
				t.Fatalf("inspect: exit %d, stderr %q", code, stderr)
			}
			for _, want := range []string{"Written by:  DacFx ", "Checksum:    OK", "Tables (",
				"Objects not carried as tables"} {
				if !strings.Contains(out, want) {
					t.Errorf("inspect output lacks %q:\n%s", want, out)
				}
			}

			code, out, stderr = run(t, "package", "inspect", "--json", name)
			if code != ExitOK {
				t.Fatalf("inspect --json: exit %d, stderr %q", code, stderr)
			}
			var rep inspectReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("inspect --json output does not parse: %v", err)
			}
			if !rep.Checksum.OK || rep.ProductVersion == "" || len(rep.Tables) == 0 {
				t.Errorf("report %+v", rep)
			}
			if rep.DeclaredRows != nil && *rep.DeclaredRows != rep.Rows {
				t.Errorf("rows %d, declared %d", rep.Rows, *rep.DeclaredRows)
			}

			code, out, stderr = run(t, "package", "verify", name)
			if code != ExitOK || !strings.Contains(out, "OK") {
				t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, out, stderr)
			}
		})
	}
}

func TestPackageInspect_AdventureWorksObjects(t *testing.T) {
	name := filepath.Join(testenv.FixturesDir(t), "AdventureWorksLT.bacpac")
	code, out, _ := run(t, "package", "inspect", name)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"[SalesLT].[Product]", "295", "View", "[SalesLT].[vGetAllCategories]",
		"Procedure", "[dbo].[uspLogError]", "Sequence", "Source:      Microsoft SQL Azure",
		"Database:    AdventureWorksLT", "Rows:        4277 (Origin.xml declares 4277)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// damaged rewrites a fixture with one entry changed by edit.
func damaged(t *testing.T, fixture, entry string, edit func([]byte) []byte) string {
	t.Helper()
	src, err := zip.OpenReader(filepath.Join(testenv.FixturesDir(t), fixture))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range src.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == entry {
			data = edit(data)
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	zw.Close()
	out := filepath.Join(t.TempDir(), "damaged.bacpac")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPackageVerify_BadPart(t *testing.T) {
	part := "Data/dbo.NumberFields1/TableData-000-00000.BCP"
	name := damaged(t, "BACPACToD-Test.bacpac", part, func(b []byte) []byte {
		b[4] = 0x02 // a tinyint whose length prefix says 2 bytes
		return b
	})
	code, _, stderr := run(t, "package", "verify", name)
	if code != ExitFailure || !strings.Contains(stderr, part) || !strings.Contains(stderr, "at byte 4") {
		t.Errorf("verify: exit %d, stderr %q; want exit 1 naming the part and byte 4", code, stderr)
	}
	code, out, _ := run(t, "package", "inspect", name)
	if code != ExitFailure || !strings.Contains(out, "ERROR: part \""+part+"\" at byte 4") {
		t.Errorf("inspect: exit %d, output %q; want exit 1 and the table's error naming part and byte", code, out)
	}
	code, out, _ = run(t, "package", "inspect", "--json", name)
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); code != ExitFailure || err != nil {
		t.Fatalf("inspect --json: exit %d, %v:\n%s", code, err, out)
	}
	var bad *badValueReport
	for _, tr := range rep.Tables {
		if tr.BadValue != nil {
			bad = tr.BadValue
		}
	}
	if bad == nil || *bad != (badValueReport{part, 4, 1, "Field_tinyint"}) {
		t.Errorf("inspect --json badValue = %+v, want part %s, offset 4, row 1, column Field_tinyint", bad, part)
	}
}

func TestPackageInspect_ChecksumMismatch(t *testing.T) {
	name := damaged(t, "BACPACToD-Test.bacpac", "model.xml", func(b []byte) []byte {
		return bytes.Replace(b, []byte("Bit16Fields"), []byte("Bit16Fieldz"), 1)
	})
	code, out, _ := run(t, "package", "inspect", name)
	if code != ExitFailure || !strings.Contains(out, "Checksum:    MISMATCH") {
		t.Errorf("inspect: exit %d, output %q; want exit 1 and a MISMATCH verdict", code, out)
	}
	code, _, stderr := run(t, "package", "verify", name)
	if code != ExitFailure || !strings.Contains(stderr, "checksum") {
		t.Errorf("verify: exit %d, stderr %q", code, stderr)
	}
}

func TestPackageVerify_Usage(t *testing.T) {
	if code, _, _ := run(t, "package", "verify"); code != ExitUsage {
		t.Errorf("verify without a file: exit %d, want %d", code, ExitUsage)
	}
	if code, _, stderr := run(t, "package", "verify", filepath.Join(t.TempDir(), "none.bacpac")); code != ExitFailure {
		t.Errorf("verify of a missing file: exit %d (%s), want %d", code, stderr, ExitFailure)
	}
}
