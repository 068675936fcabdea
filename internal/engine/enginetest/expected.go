package enginetest

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// compareExpectedCSVs compares every cell of the imported BACPACToD-Test
// database with the expected CSVs (SQL Server's own text of each value),
// except the columns the harness declares inexact.
func compareExpectedCSVs(t *testing.T, h Harness, cfg engine.Config, dir, pkgPath string) {
	t.Helper()
	pkg, err := bacpac.OpenFile(pkgPath)
	if err != nil {
		t.Fatalf("open package: %v", err)
	}
	defer pkg.Close()
	src, m := openSource(t, h, cfg)
	defer src.Close()

	compared, skipped := 0, 0
	for _, orig := range pkg.Model().Tables {
		table := orig.Schema + "." + orig.Name
		records, err := csv.NewReader(bytes.NewReader(
			readFile(t, filepath.Join(dir, orig.Schema+orig.Name+".csv")))).ReadAll()
		if err != nil {
			t.Fatalf("read expected CSV of %s: %v", table, err)
		}
		got := findTable(m, orig.Name)
		if got == nil {
			t.Errorf("imported database has no table %s", table)
			continue
		}
		rows, cols := rowsByID(t, src, got)
		header := records[0]
		for _, rec := range records[1:] {
			row, ok := rows[rec[0]]
			if !ok {
				t.Errorf("%s: no row with ID %s", table, rec[0])
				continue
			}
			for i, name := range header {
				if h.Inexact != nil && h.Inexact(table, name) {
					skipped++
					continue
				}
				ci, ok := cols[strings.ToLower(name)]
				if !ok {
					t.Errorf("%s: imported table has no column %s", table, name)
					continue
				}
				oc := columnOf(orig, name)
				if err := cellMatches(rec[i], row[ci], oc.Type, h.Lossy); err != nil {
					t.Errorf("%s ID %s column %s (%s): %v", table, rec[0], name, typeString(oc.Type), err)
				}
				compared++
			}
		}
	}
	t.Logf("BACPACToD-Test: %d cells equal the expected CSVs, %d not compared (declared inexact)", compared, skipped)
}

func columnOf(t *bacpac.Table, name string) *bacpac.Column {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return &bacpac.Column{Name: name}
}

// rowsByID reads a table into rows keyed by the canonical text of their
// first column, with a column index by lower-case name.
func rowsByID(t *testing.T, src engine.Source, tbl *bacpac.Table) (map[string][]any, map[string]int) {
	t.Helper()
	cols := map[string]int{}
	for i, c := range tbl.DataColumns() {
		cols[strings.ToLower(c.Name)] = i
	}
	rows := map[string][]any{}
	err := src.Rows(ctxFor(t), tbl, func(row []any) error {
		rows[canonical(row[0])] = append([]any(nil), row...)
		return nil
	})
	if err != nil {
		t.Fatalf("Rows of %s: %v", tbl.Name, err)
	}
	return rows, cols
}

// cellMatches compares a value read back from the engine with SQL Server's
// text of it. typ is the column's type in the package; lossy says which
// documented lossy mappings the import used.
func cellMatches(want string, got any, typ bacpac.Type, lossy LossyMappings) error {
	if want == "NULL" {
		if got != nil {
			return fmt.Errorf("got %s, want NULL", canonical(got))
		}
		return nil
	}
	if got == nil {
		return fmt.Errorf("got NULL, want %q", want)
	}
	ok := false
	switch x := got.(type) {
	case bacpac.Variant:
		v, err := x.Value()
		if err != nil {
			return fmt.Errorf("decode sql_variant: %w", err)
		}
		return cellMatches(want, v, bacpac.Type{}, LossyMappings{})
	case int64:
		ok = strconv.FormatInt(x, 10) == want
	case bool:
		ok = (want == "1") == x && (want == "1" || want == "0")
	case bacpac.Decimal:
		d, err := bacpac.ParseDecimal(want)
		ok = err == nil && d.Cmp(x) == 0
	case float32:
		ok = floatMatches(want, float64(x), 7)
	case float64:
		digits := 15
		if typ.Name == "real" || typ.Name == "float" && typ.Precision > 0 && typ.Precision <= 24 {
			digits = 7
		}
		ok = floatMatches(want, x, digits)
	case string:
		// An engine without a uuid type holds a uniqueidentifier as text.
		ok = x == want || typ.Name == "uniqueidentifier" && strings.EqualFold(x, want)
	case []byte:
		if typ.Name == "sql_variant" {
			// Held as SQL Server's own serialization in a binary column.
			return cellMatches(want, bacpac.Variant(x), typ, lossy)
		}
		ok = "0x"+strings.ToUpper(hex.EncodeToString(x)) == want
	case bacpac.UUID:
		ok = x.String() == strings.ToUpper(want)
	case bacpac.Date:
		ok = x.String() == want
	case bacpac.TimeOfDay:
		ok = timeMatches(want, time.Time{}.Add(time.Duration(x)), "15:04:05", timeRule{micro: lossy.Microseconds})
	case time.Time:
		ok = timeMatches(want, x, "2006-01-02 15:04:05", timeRule{
			micro:     lossy.Microseconds,
			byInstant: lossy.OffsetToUTC && typ.Name == "datetimeoffset",
		})
	default:
		return fmt.Errorf("got %T, which the CSV comparison does not know", got)
	}
	if !ok {
		return fmt.Errorf("got %s, want %q", canonical(got), want)
	}
	return nil
}

// floatMatches compares at the number of significant digits SQL Server
// prints (15 for float, 7 for real).
func floatMatches(want string, got float64, digits int) bool {
	w, err := strconv.ParseFloat(want, 64)
	if err != nil {
		return false
	}
	if math.IsInf(got, 0) || math.IsNaN(got) {
		return false
	}
	return strconv.FormatFloat(w, 'g', digits, 64) == strconv.FormatFloat(got, 'g', digits, 64)
}

// timeRule is how a time cell is compared under the lossy mappings.
type timeRule struct {
	byInstant bool // the offset is not kept: compare instants
	micro     bool // 100 ns digits are not kept: compare to the microsecond
}

// timeMatches compares a time with SQL Server's text of it, rounded to the
// fractional digits the text shows. An offset suffix must match too,
// unless the rule compares by instant.
func timeMatches(want string, got time.Time, layout string, rule timeRule) bool {
	clock := layout == "15:04:05"
	body, zone := want, ""
	if i := strings.LastIndex(want, " "); i > 10 || (clock && i > 0) {
		body, zone = want[:i], want[i+1:]
	}
	digits := 0
	if _, frac, ok := strings.Cut(body, "."); ok {
		digits = len(frac)
		layout += "." + strings.Repeat("9", digits)
	}
	w, err := time.Parse(layout, body)
	if err != nil {
		return false
	}
	if zone != "" {
		z, err := time.Parse("-07:00", zone)
		if err != nil {
			return false
		}
		_, wantOff := z.Zone()
		_, gotOff := got.Zone()
		switch {
		case rule.byInstant:
			w = w.Add(-time.Duration(wantOff) * time.Second)
			got = got.UTC()
		case wantOff != gotOff:
			return false
		}
	}
	// Compare wall clocks, on one day for a time of day.
	g := time.Date(got.Year(), got.Month(), got.Day(), got.Hour(), got.Minute(),
		got.Second(), got.Nanosecond(), time.UTC)
	if clock {
		g = time.Date(2000, 1, 1, g.Hour(), g.Minute(), g.Second(), g.Nanosecond(), time.UTC)
		w = time.Date(2000, 1, 1, w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	}
	if rule.micro && digits > 6 {
		d := g.Sub(w)
		return d > -time.Microsecond && d < time.Microsecond
	}
	return g.Round(time.Duration(math.Pow10(9 - digits))).Equal(w)
}
