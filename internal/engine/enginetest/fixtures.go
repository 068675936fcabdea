package enginetest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// fixtureRows are the per-table row counts of the shared fixtures, from §1
// of docs/bacpac-format.md ("schema.table" → rows), with each package's
// table and row totals. Tables a package lists only in its totals are
// checked through the totals.
var fixtureRows = map[string]struct {
	tables int
	rows   int64
	counts map[string]int64
}{
	"AdventureWorksLT.bacpac": {12, 4277, map[string]int64{
		"dbo.BuildVersion": 1, "dbo.ErrorLog": 0,
		"SalesLT.Address": 450, "SalesLT.Customer": 847, "SalesLT.CustomerAddress": 417,
		"SalesLT.Product": 295, "SalesLT.ProductCategory": 41, "SalesLT.ProductDescription": 762,
		"SalesLT.ProductModel": 128, "SalesLT.ProductModelProductDescription": 762,
		"SalesLT.SalesOrderDetail": 542, "SalesLT.SalesOrderHeader": 32,
	}},
	"BACPACToD-Test.bacpac": {25, 173, map[string]int64{
		"dbo.Bit16Fields": 35, "dbo.Bit8Fields": 18, "dbo.BitMixed": 5,
		"dbo.DateTimeFields1": 2, "dbo.DateTimeFields2": 1, "dbo.DateTimeFields3": 11,
		"dbo.DateTimeFields4": 2, "dbo.DateTimeFields5": 9, "dbo.DateTimeFields6": 2,
		"dbo.DateTimeFields7": 9, "dbo.DateTimeFields8": 3,
		"dbo.DecimalFields1": 7, "dbo.DecimalFields2": 4, "dbo.FloatFields1": 6, "dbo.FloatFields2": 2,
		"dbo.LargeFields1": 7, "dbo.LargeFields2": 2, "dbo.LargeTextFields1": 6, "dbo.LargeTextFields2": 2,
		"dbo.NumberFields1": 17, "dbo.NumberFields2": 2, "dbo.StrangeFields1": 9, "dbo.StrangeFields2": 2,
		"dbo.TextFields1": 8, "dbo.TextFields2": 2,
	}},
	"Northwind.bacpac": {13, 3308, map[string]int64{
		"dbo.Categories": 8, "dbo.Customers": 91, "dbo.Employees": 9, "dbo.EmployeeTerritories": 49,
		"dbo.Order Details": 2155, "dbo.Orders": 830, "dbo.Products": 77, "dbo.Region": 4,
		"dbo.Shippers": 3, "dbo.Suppliers": 29, "dbo.Territories": 53,
		"dbo.CustomerCustomerDemo": 0, "dbo.CustomerDemographics": 0,
	}},
	"SoftExpress_Challenge.bacpac": {3, 10, map[string]int64{
		"dbo.__EFMigrationsHistory": 1, "dbo.Statistikas": 7, "dbo.Users": 2,
	}},
	"StarTED.bacpac": {30, 56983, map[string]int64{
		"dbo.Assignments": 10376, "dbo.ClassMembers": 22000, "dbo.Students": 4405,
		"dbo.GradeAssignments": 0, "dbo.RentalPayments": 0, "dbo.Renters": 0,
	}},
	"UmbracoCommerceDemoStore_v17.0.0.bacpac": {127, 10305, map[string]int64{
		"dbo.umbracoPropertyData": 3462, "dbo.umbracoLog": 1301, "dbo.umbracoContentVersion": 1015,
		"dbo.umbracoDocumentVersion": 760, "dbo.umbracoDocumentUrl": 724, "dbo.cmsContentNu": 619,
		"dbo.umbracoNode": 548, "dbo.umbracoContent": 437, "dbo.umbracoMediaVersion": 255,
		"dbo.umbracoRelation": 229, "dbo.umbracoDocument": 182, "dbo.umbracoAudit": 110,
		"dbo.umbracoCommerceMigrations": 109,
	}},
	"abilities.bacpac": {1, 367, map[string]int64{"dbo.abilities": 367}},
	"disney.bacpac": {5, 1652, map[string]int64{
		"dbo.director": 56, "dbo.disney_char": 56, "dbo.movie_gross": 579, "dbo.revenue": 26,
		"dbo.voice_actor": 935,
	}},
}

func testFixtures(t *testing.T, h Harness) {
	dir := testenv.FixturesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.bacpac"))
	if err != nil || len(files) == 0 {
		testenv.Missing(t, "the fixture packages in "+dir, "place the shared fixtures beside the repository")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".bacpac"), func(t *testing.T) {
			if reason, ok := h.SkipFixtures[name]; ok {
				t.Skipf("the harness does not import %s: %s", name, reason)
			}
			want, ok := fixtureRows[name]
			if !ok {
				t.Fatalf("no expected row counts for fixture %s; add them to fixtureRows", name)
			}
			cfg := h.NewName(t)
			cfg.Lossy = true
			rep, err := ImportFile(t, h, path, cfg, true)
			if err != nil {
				t.Fatalf("Import %s: %v", name, err)
			}
			if rep.Rows != want.rows || len(rep.Tables) != want.tables {
				t.Errorf("import report: %d tables, %d rows; want %d tables, %d rows",
					len(rep.Tables), rep.Rows, want.tables, want.rows)
			}
			checkFixtureCounts(t, h, cfg, want.tables, want.rows, want.counts)
			checkKeysCarried(t, h, cfg, path, rep.Skipped)
			for _, s := range rep.Skipped {
				t.Logf("skipped %s %s: %s", s.Kind, s.Name, s.Reason)
			}
			checkSkippedListed(t, path, rep.Skipped)
			if name == "BACPACToD-Test.bacpac" {
				compareExpectedCSVs(t, h, cfg, filepath.Join(dir, "BACPACToD-Test.expected"), path)
			}
		})
	}
}

// testStrictFixture imports a fixture the engine cannot hold exactly
// without Config.Lossy: the import must fail naming table, column and row,
// and the database it created must be gone.
func testStrictFixture(t *testing.T, h Harness) {
	if h.StrictFixture == "" {
		t.Skip("the engine holds every fixture value exactly")
	}
	path := filepath.Join(testenv.FixturesDir(t), h.StrictFixture)
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, "the fixture "+path, "place the shared fixtures beside the repository")
	}
	cfg := h.NewName(t)
	_, err := ImportFile(t, h, path, cfg, true)
	var ve *engine.ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("import of %s without Config.Lossy: got %v, want a *engine.ValueError", h.StrictFixture, err)
	}
	if ve.Table == "" || ve.Column == "" || ve.Row < 1 {
		t.Errorf("ValueError %+v does not name table, column and row", ve)
	}
	if !errors.Is(err, engine.ErrLossy) {
		t.Errorf("error %q does not wrap engine.ErrLossy, so callers cannot say that Config.Lossy exists", err)
	}
	msg := err.Error()
	for _, want := range []string{ve.Table, ve.Column, "row " + strconv.FormatInt(ve.Row, 10)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	t.Logf("strict import refused: %v", err)
	_, err = h.Driver.OpenSource(ctxFor(t), cfg)
	if !errors.Is(err, engine.ErrNoDatabase) {
		t.Errorf("OpenSource after the refused import: got %v, want ErrNoDatabase (the created database dropped)", err)
	}
}

// checkSkippedListed checks that every object of the package that is not a
// table (views, procedures, users, …) is in the import report with a
// reason, once: nothing is dropped silently.
func checkSkippedListed(t *testing.T, path string, skipped []engine.Skipped) {
	t.Helper()
	pkg, err := bacpac.OpenFile(path)
	if err != nil {
		t.Fatalf("open package: %v", err)
	}
	defer pkg.Close()
	listed := map[[2]string]bool{}
	for _, s := range skipped {
		if s.Reason == "" {
			t.Errorf("skipped %s %s has no reason", s.Kind, s.Name)
		}
		key := [2]string{s.Kind, s.Name}
		if listed[key] && s.Name != "" {
			t.Errorf("the report lists %s %s more than once", s.Kind, s.Name)
		}
		listed[key] = true
	}
	for _, o := range pkg.Model().Objects {
		if !listed[[2]string{o.Kind, o.Name}] {
			t.Errorf("the package's %s %s is neither imported nor in the report", o.Kind, o.Name)
		}
	}
}

// keyCounts counts a model's primary keys, foreign keys, unique keys and
// indexes (together, since engines turn one into the other) and checks.
type keyCounts struct{ pk, fk, index, check int }

func countKeys(m *bacpac.Model) keyCounts {
	var k keyCounts
	for _, t := range m.Tables {
		if t.PrimaryKey != nil {
			k.pk++
		}
		k.fk += len(t.ForeignKeys)
		k.index += len(t.Uniques) + len(t.Indexes)
		k.check += len(t.Checks)
	}
	return k
}

// countSkippedKeys counts the report's entries that left a key, index or
// check out (not those that only dropped an option of one).
func countSkippedKeys(skipped []engine.Skipped) keyCounts {
	var k keyCounts
	for _, s := range skipped {
		kind := strings.ToLower(s.Kind)
		switch {
		case kind == "index option" || kind == "index included columns":
		case strings.Contains(kind, "primary key"):
			k.pk++
		case strings.Contains(kind, "foreign key"):
			k.fk++
		case strings.Contains(kind, "index") || strings.Contains(kind, "unique"):
			k.index++
		case strings.Contains(kind, "check"):
			k.check++
		}
	}
	return k
}

// checkKeysCarried checks that every primary key, foreign key, unique key,
// index and check of the package is in the imported database (as its
// export describes it) or in the report: the keys the target can express
// arrive, the others are listed.
func checkKeysCarried(t *testing.T, h Harness, cfg engine.Config, path string, skipped []engine.Skipped) {
	t.Helper()
	pkg, err := bacpac.OpenFile(path)
	if err != nil {
		t.Fatalf("open package: %v", err)
	}
	defer pkg.Close()
	want := countKeys(pkg.Model())
	src, m := openSource(t, h, cfg)
	defer src.Close()
	got, left := countKeys(m), countSkippedKeys(skipped)
	for _, c := range []struct {
		what            string
		want, got, left int
	}{
		{"primary keys", want.pk, got.pk, left.pk},
		{"foreign keys", want.fk, got.fk, left.fk},
		{"unique keys and indexes", want.index, got.index, left.index},
		{"check constraints", want.check, got.check, left.check},
	} {
		if c.got+c.left < c.want {
			t.Errorf("%s: the package has %d, the database %d and the report lists %d left out",
				c.what, c.want, c.got, c.left)
		}
	}
	t.Logf("keys carried (package/database/reported): pk %d/%d/%d, fk %d/%d/%d, index %d/%d/%d, check %d/%d/%d",
		want.pk, got.pk, left.pk, want.fk, got.fk, left.fk, want.index, got.index, left.index,
		want.check, got.check, left.check)
}

// checkFixtureCounts counts every table in the imported database.
func checkFixtureCounts(t *testing.T, h Harness, cfg engine.Config, tables int, rows int64, counts map[string]int64) {
	t.Helper()
	ctx := ctxFor(t)
	src, m := openSource(t, h, cfg)
	defer src.Close()
	got := map[string]int64{}
	var total int64
	for _, tbl := range m.Tables {
		var n int64
		if err := src.Rows(ctx, tbl, func([]any) error { n++; return nil }); err != nil {
			t.Fatalf("Rows of %s.%s: %v", tbl.Schema, tbl.Name, err)
		}
		got[strings.ToLower(tbl.Schema+"."+tbl.Name)] = n
		total += n
	}
	if len(m.Tables) != tables || total != rows {
		t.Errorf("imported database: %d tables, %d rows; want %d tables, %d rows", len(m.Tables), total, tables, rows)
	}
	for key, want := range counts {
		n, ok := lookupCount(got, key)
		if !ok {
			t.Errorf("imported database has no table %s", key)
			continue
		}
		if n != want {
			t.Errorf("table %s: %d rows, want %d", key, n, want)
		}
	}
}

// lookupCount finds a table by schema and name, case-insensitively, or by
// name alone where the engine folded schemas away.
func lookupCount(got map[string]int64, key string) (int64, bool) {
	key = strings.ToLower(key)
	if n, ok := got[key]; ok {
		return n, true
	}
	_, name, _ := strings.Cut(key, ".")
	var found []int64
	for k, n := range got {
		if strings.HasSuffix(k, "."+name) || k == name || strings.HasSuffix(k, "_"+name) {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return 0, false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}
