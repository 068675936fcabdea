package bacpac

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bacport/bacport/internal/testenv"
)

// fixtureRows are the per-table row counts of §1 of the format note, with
// the number of data parts when there is more than one. Tables missing from
// a map must be empty.
var fixtureRows = map[string]struct {
	total  int64
	tables map[string]int64 // "schema.table" → rows
	parts  map[string]int   // "schema.table" → parts, when more than one
}{
	"AdventureWorksLT.bacpac": {total: 4277, tables: map[string]int64{
		"dbo.BuildVersion": 1, "SalesLT.Address": 450, "SalesLT.Customer": 847,
		"SalesLT.CustomerAddress": 417, "SalesLT.Product": 295,
		"SalesLT.ProductCategory": 41, "SalesLT.ProductDescription": 762,
		"SalesLT.ProductModel": 128, "SalesLT.ProductModelProductDescription": 762,
		"SalesLT.SalesOrderDetail": 542, "SalesLT.SalesOrderHeader": 32,
	}},
	"BACPACToD-Test.bacpac": {total: 173, tables: map[string]int64{
		"dbo.Bit16Fields": 35, "dbo.Bit8Fields": 18, "dbo.BitMixed": 5,
		"dbo.DateTimeFields1": 2, "dbo.DateTimeFields2": 1, "dbo.DateTimeFields3": 11,
		"dbo.DateTimeFields4": 2, "dbo.DateTimeFields5": 9, "dbo.DateTimeFields6": 2,
		"dbo.DateTimeFields7": 9, "dbo.DateTimeFields8": 3,
		"dbo.DecimalFields1": 7, "dbo.DecimalFields2": 4,
		"dbo.FloatFields1": 6, "dbo.FloatFields2": 2,
		"dbo.LargeFields1": 7, "dbo.LargeFields2": 2,
		"dbo.LargeTextFields1": 6, "dbo.LargeTextFields2": 2,
		"dbo.NumberFields1": 17, "dbo.NumberFields2": 2,
		"dbo.StrangeFields1": 9, "dbo.StrangeFields2": 2,
		"dbo.TextFields1": 8, "dbo.TextFields2": 2,
	}},
	"SoftExpress_Challenge.bacpac": {total: 10,
		tables: map[string]int64{
			"dbo.__EFMigrationsHistory": 1, "dbo.Statistikas": 7, "dbo.Users": 2,
		},
		parts: map[string]int{"dbo.Statistikas": 2, "dbo.Users": 2},
	},
	"abilities.bacpac": {total: 367,
		tables: map[string]int64{"dbo.abilities": 367},
		parts:  map[string]int{"dbo.abilities": 2},
	},
	"UmbracoCommerceDemoStore_v17.0.0.bacpac": {total: 10305,
		tables: map[string]int64{
			"dbo.umbracoPropertyData": 3462, "dbo.umbracoLog": 1301,
			"dbo.umbracoContentVersion": 1015, "dbo.umbracoDocumentVersion": 760,
			"dbo.umbracoDocumentUrl": 724, "dbo.cmsContentNu": 619,
			"dbo.umbracoNode": 548, "dbo.umbracoContent": 437,
			"dbo.umbracoMediaVersion": 255, "dbo.umbracoRelation": 229,
			"dbo.umbracoDocument": 182, "dbo.umbracoAudit": 110,
			"dbo.umbracoCommerceMigrations": 109,
		},
		parts: map[string]int{
			"dbo.umbracoPropertyData": 6, "dbo.umbracoLog": 2, "dbo.umbracoDocumentUrl": 2,
		},
	},
}

// umbracoOthers is how many Umbraco tables outside fixtureRows hold rows:
// §1 names only the largest and says the other 63 hold 1 to 56 rows.
const umbracoOthers = 63

func fixturePath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(testenv.FixturesDir(t), name)
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "fixture "+name, "place it in the shared fixture folder")
	}
	return p
}

func TestFixtures_RowCounts(t *testing.T) {
	for name, want := range fixtureRows {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := OpenFile(fixturePath(t, name))
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			defer f.Close()
			if got := f.Origin().TotalRows; got != want.total {
				t.Errorf("Origin TotalRows = %d, want %d", got, want.total)
			}
			counts, err := f.Verify(context.Background(), nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var total int64
			others := 0
			for _, c := range counts {
				key := c.Table.Schema + "." + c.Table.Name
				total += c.Rows
				exp, listed := want.tables[key]
				switch {
				case listed && c.Rows != exp:
					t.Errorf("%s: %d rows, want %d", key, c.Rows, exp)
				case !listed && name == "UmbracoCommerceDemoStore_v17.0.0.bacpac":
					if c.Rows > 56 {
						t.Errorf("%s: %d rows, want at most 56", key, c.Rows)
					}
					if c.Rows > 0 {
						others++
					}
				case !listed && c.Rows != 0:
					t.Errorf("%s: %d rows, want an empty table", key, c.Rows)
				}
				if wp := want.parts[key]; wp > 0 && c.Parts != wp {
					t.Errorf("%s: %d parts, want %d", key, c.Parts, wp)
				}
				if c.Rows == 0 && c.Parts != 0 {
					t.Errorf("%s: empty table with %d parts", key, c.Parts)
				}
			}
			if total != want.total {
				t.Errorf("decoded %d rows, want %d", total, want.total)
			}
			if name == "UmbracoCommerceDemoStore_v17.0.0.bacpac" && others != umbracoOthers {
				t.Errorf("%d smaller tables with rows, want %d", others, umbracoOthers)
			}
		})
	}
}

func TestFixtures_ChecksumAndOrigin(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "BACPACToD-Test.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o := f.Origin()
	if !f.Checksum().OK() {
		t.Errorf("checksum verdict %+v, want a match", f.Checksum())
	}
	if o.ProductVersion != "16.0.6403.0" || o.ModelSchemaVersion != "2.9" ||
		o.ObjectCounts["SimpleColumn"] != 417 || o.SourceDatabaseSize != 13152 {
		t.Errorf("origin = %+v", o)
	}
	if o.Start.IsZero() || o.ServerName() == "" {
		t.Errorf("start %v server %q", o.Start, o.ServerName())
	}
}

func TestVerify_ErrorKinds(t *testing.T) {
	var de *DataError
	err := error(&DataError{Part: "p", Offset: 3, Err: ErrTruncated})
	if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) {
		t.Fatalf("DataError does not unwrap: %v", err)
	}
}

func TestParseOrigin_VariantB(t *testing.T) {
	// The .NET Core build writes no ExportStatistics.
	const doc = "\ufeff" + `<?xml version="1.0" encoding="utf-8"?>
<DacOrigin xmlns="http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02">
  <PackageProperties><Version>3.1.0.0</Version><ContainsExportedData>true</ContainsExportedData>
    <StreamVersions><Version StreamName="Data">2.0.0.0</Version></StreamVersions></PackageProperties>
  <Operation><Start>2020-06-01T10:00:00.1234567+07:00</Start><ProductVersion>15.0.4745.1</ProductVersion></Operation>
  <Checksums><Checksum Uri="/model.xml">ab</Checksum></Checksums>
  <ModelSchemaVersion>3.5</ModelSchemaVersion>
  <DataPhaseTables>dbo.b, dbo.a</DataPhaseTables>
</DacOrigin>`
	o, err := parseOrigin(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if o.TotalRows != -1 || o.SourceDatabaseSize != -1 || o.ModelChecksum() != "ab" ||
		!o.ContainsExportedData || o.StreamVersions["Data"] != "2.0.0.0" ||
		o.Start.IsZero() || !slices.Equal(o.DataPhaseTables, []string{"dbo.b", "dbo.a"}) {
		t.Errorf("origin = %+v", o)
	}
	for _, bad := range []string{"", "<Other/>", "<DacOrigin><ExportStatistics><TableRowCountTotalTag>x</TableRowCountTotalTag>",
		"<DacOrigin><ExportStatistics><TableRowCountTotalTag>x</TableRowCountTotalTag></ExportStatistics></DacOrigin>"} {
		if _, err := parseOrigin(strings.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("parseOrigin(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestRows_ConcurrentTables(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "UmbracoCommerceDemoStore_v17.0.0.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		mu    sync.Mutex
		total int64
		wg    sync.WaitGroup
	)
	for _, tbl := range f.Model().Tables {
		wg.Go(func() {
			rows := f.Rows(tbl)
			defer rows.Close()
			for rows.Next() {
			}
			if err := rows.Err(); err != nil {
				t.Errorf("%s: %v", tbl.Name, err)
			}
			mu.Lock()
			total += rows.Count()
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 10305 {
		t.Errorf("read %d rows concurrently, want 10305", total)
	}
}
