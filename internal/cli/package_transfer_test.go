package cli

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// A real package goes into SQLite and back out through the two commands,
// with the report listing what SQLite did not receive.
func TestPackageTransfer_SQLiteRoundTrip(t *testing.T) {
	fixture := filepath.Join(testenv.FixturesDir(t), "AdventureWorksLT.bacpac")
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "awlt.sqlite")

	code, out, errb := run(t, "package", "import", "--in", fixture, "--target", db)
	if code != ExitOK {
		t.Fatalf("import: exit %d, stderr %q", code, errb)
	}
	for _, want := range []string{"Imported 12 tables, 4277 rows", "Not carried",
		"SqlView", "views are T-SQL queries"} {
		if !strings.Contains(out, want) {
			t.Errorf("import report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errb, "imported SalesLT.Customer: 847 rows") {
		t.Errorf("import progress lacks the Customer table:\n%s", errb)
	}

	pkgPath := filepath.Join(dir, "out.bacpac")
	code, _, errb = run(t, "package", "export", "--source", db, "--out", pkgPath)
	if code != ExitOK {
		t.Fatalf("export: exit %d, stderr %q", code, errb)
	}
	if !strings.Contains(errb, "Exported 12 tables, 4277 rows") {
		t.Errorf("export summary missing:\n%s", errb)
	}
	pkg, err := bacpac.OpenFile(pkgPath)
	if err != nil {
		t.Fatalf("open the exported package: %v", err)
	}
	defer pkg.Close()
	if n := len(pkg.Model().Tables); n != 12 {
		t.Errorf("exported package has %d tables, want 12", n)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// The same file again: refused without --force, the file untouched.
	before, _ := os.Stat(pkgPath)
	code, _, errb = run(t, "package", "export", "--source", db, "--out", pkgPath)
	if code != ExitUsage || !strings.Contains(errb, "--force") {
		t.Errorf("export over an existing file: exit %d, stderr %q; want exit 2 naming --force", code, errb)
	}
	if after, _ := os.Stat(pkgPath); after.ModTime() != before.ModTime() || after.Size() != before.Size() {
		t.Errorf("the refused export changed %s", pkgPath)
	}

	// Into the same, now full, database with --existing: refused, kept.
	code, _, errb = run(t, "package", "import", "--in", pkgPath, "--target", db, "--existing")
	if code != ExitFailure || !strings.Contains(errb, engine.ErrNotEmpty.Error()) {
		t.Errorf("import into a full database: exit %d, stderr %q; want exit 1, %q", code, errb, engine.ErrNotEmpty)
	}
	code, _, errb = run(t, "package", "import", "--in", pkgPath, "--target", db)
	if code != ExitFailure || !strings.Contains(errb, "--existing") {
		t.Errorf("import creating an existing database: exit %d, stderr %q; want exit 1 mentioning --existing", code, errb)
	}

	// -o json (or --json) prints the report, skipped objects included.
	code, out, errb = run(t, "package", "import", "--in", fixture, "-o", "json",
		"--target", "sqlite://"+filepath.Join(dir, "again.sqlite"))
	if code != ExitOK {
		t.Fatalf("import -o json: exit %d, stderr %q", code, errb)
	}
	var rep struct {
		Rows    int64
		Skipped []struct{ Kind, Name, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("import --json output is not JSON: %v\n%s", err, out)
	}
	if rep.Rows != 4277 || len(rep.Skipped) == 0 {
		t.Errorf("import --json: %d rows, %d skipped; want 4277 rows and the skipped objects", rep.Rows, len(rep.Skipped))
	}
}

// Infinities, which SQL Server floats lack, fail the export naming the
// row and the --lossy option; with it they become NULL and are listed.
func TestPackageTransfer_ExportLossy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inf.sqlite")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE m (id INTEGER PRIMARY KEY, v DOUBLE)",
		"INSERT INTO m VALUES (1, 2.5), (2, 1e999)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("exec %q: %v", q, err)
		}
	}
	db.Close()
	out := filepath.Join(dir, "m.bacpac")
	code, _, errb := run(t, "package", "export", "--source", "sqlite://"+path, "--out", out)
	if code != ExitFailure || !strings.Contains(errb, "row 2") || !strings.Contains(errb, "--lossy") {
		t.Errorf("export of an infinity: exit %d, stderr %q; want exit 1 naming row 2 and --lossy", code, errb)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the failed export left %s", out)
	}
	code, _, errb = run(t, "package", "export", "--source", "sqlite://"+path, "--out", out, "--lossy")
	if code != ExitOK || !strings.Contains(errb, "changed dbo.m.v: 1 values") {
		t.Errorf("lossy export: exit %d, stderr %q; want exit 0 listing the changed column", code, errb)
	}
}

func TestPackageTransfer_Errors(t *testing.T) {
	dir := t.TempDir()
	const secret = "S3cret-cli-transfer-91"
	t.Setenv(passwordEnv, secret)
	cases := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"package", "export", "--source", "oracle://x/y", "--out", filepath.Join(dir, "a.bacpac")},
			ExitUsage, `scheme "oracle": not supported`},
		{[]string{"package", "export", "--out", filepath.Join(dir, "a.bacpac")}, ExitUsage, "required flag"},
		{[]string{"package", "export", "--source", "postgres://admin@127.0.0.1:1/shop?connect_timeout=5",
			"--out", filepath.Join(dir, "b.bacpac")}, ExitFailure, engine.ErrUnreachable.Error() + ": "},
		{[]string{"package", "export", "--source", "postgres://admin@127.0.0.1:1/shop?connect_timeout=5",
			"--out", filepath.Join(dir, "b.bacpac")}, ExitFailure, "check the host and port"},
		{[]string{"package", "export", "--source", "sqlite://" + filepath.Join(dir, "missing.sqlite"),
			"--out", filepath.Join(dir, "c.bacpac")}, ExitFailure, "check the database name"},
		{[]string{"package", "import", "--in", filepath.Join(dir, "none.bacpac"),
			"--target", "sqlite://" + filepath.Join(dir, "x.sqlite")}, ExitFailure, "open package"},
	}
	for _, c := range cases {
		code, _, errb := run(t, c.args...)
		if code != c.code || !strings.Contains(errb, c.say) {
			t.Errorf("bacport %s: exit %d, stderr %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, errb, c.code, c.say)
		}
		if strings.Contains(errb, secret) {
			t.Errorf("bacport %s: stderr holds the password: %q", strings.Join(c.args, " "), errb)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed commands left files behind: %v", entries)
	}
}

// A package PostgreSQL cannot hold exactly fails by default, naming the
// place and the --lossy option and keeping nothing; with --lossy it loads.
func TestPackageTransfer_Lossy(t *testing.T) {
	fixture := filepath.Join(testenv.FixturesDir(t), "BACPACToD-Test.bacpac")
	server := os.Getenv("BACPORT_TEST_POSTGRES")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres"
	}
	d, err := engine.Lookup(server)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Ping(ctx, engine.Config{DSN: server}); err != nil {
		testenv.Missing(t, "PostgreSQL ("+err.Error()+")", "start it (.ci/services.sh) or set BACPORT_TEST_POSTGRES")
	}
	var b [5]byte
	rand.Read(b[:])
	cfg := engine.Config{DSN: server, Database: "bacport_cli_" + hex.EncodeToString(b[:])}
	t.Cleanup(func() { d.DropDatabase(context.Background(), cfg) })

	args := []string{"package", "import", "--in", fixture, "--target", server, "--database", cfg.Database}
	code, _, errb := run(t, args...)
	if code != ExitFailure {
		t.Fatalf("strict import: exit %d, stderr %q; want exit 1", code, errb)
	}
	for _, want := range []string{"table dbo.", "column ", "row ", "--lossy", "nothing was kept"} {
		if !strings.Contains(errb, want) {
			t.Errorf("strict import error lacks %q: %s", want, errb)
		}
	}
	names, err := d.Databases(t.Context(), engine.Config{DSN: server})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == cfg.Database {
			t.Errorf("database %s is left after the failed import", n)
		}
	}
	code, out, errb := run(t, append(args, "--lossy")...)
	if code != ExitOK || !strings.Contains(out, "Imported 25 tables, 173 rows") {
		t.Errorf("lossy import: exit %d, stdout %q, stderr %q", code, out, errb)
	}
}
