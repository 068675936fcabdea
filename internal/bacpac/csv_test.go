package bacpac

import (
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFixtures_ExpectedCells compares every cell of BACPACToD-Test with the
// CSVs its author committed beside it (2,827 cells).
func TestFixtures_ExpectedCells(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "BACPACToD-Test.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := fixturePath(t, "BACPACToD-Test.expected")
	cells := 0
	for _, tbl := range f.Model().Tables {
		want := readCSV(t, filepath.Join(dir, tbl.Schema+tbl.Name+".csv"))
		cols := tbl.DataColumns()
		if got := strings.Join(want[0], ","); got != strings.Join(columnNames(cols), ",") {
			t.Errorf("%s: CSV header %q, model columns %q", tbl.Name, got, columnNames(cols))
			continue
		}
		rows := f.Rows(tbl)
		n := 0
		for rows.Next() {
			n++
			if n >= len(want) {
				t.Errorf("%s: more rows than the CSV's %d", tbl.Name, len(want)-1)
				break
			}
			for i, v := range rows.Values() {
				got := formatCell(cols[i], v)
				if got != want[n][i] {
					t.Errorf("%s row %d column %s: got %q, want %q",
						tbl.Name, n, cols[i].Name, got, want[n][i])
				}
				cells++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", tbl.Name, err)
		}
		rows.Close()
		if n != len(want)-1 {
			t.Errorf("%s: %d rows, CSV has %d", tbl.Name, n, len(want)-1)
		}
	}
	if cells != 2827 {
		t.Errorf("compared %d cells, want 2827", cells)
	}
}

func columnNames(cols []*Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read expected values: %v", err)
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return recs
}

// formatCell renders a decoded value the way the expected CSVs write it:
// NULL, 0x hex for binary types, .NET-style G15/G7 floats, the column's
// own number of fractional digits for time types.
func formatCell(c *Column, v any) string {
	if v == nil {
		return "NULL"
	}
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case Decimal:
		if c.Type.Name == "money" || c.Type.Name == "smallmoney" {
			s := x.String()
			for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
				s = s[:len(s)-1]
			}
			return s
		}
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'G', 15, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'G', 7, 32)
	case Date:
		return x.String()
	case TimeOfDay:
		return time.Time{}.Add(time.Duration(x)).Format("15:04:05" + fraction(c.Type.Scale))
	case time.Time:
		switch c.Type.Name {
		case "datetime":
			return x.Format("2006-01-02 15:04:05.000")
		case "smalldatetime":
			return x.Format("2006-01-02 15:04:05")
		case "datetimeoffset":
			return x.Format("2006-01-02 15:04:05" + fraction(c.Type.Scale) + " -07:00")
		}
		return x.Format("2006-01-02 15:04:05" + fraction(c.Type.Scale))
	case UUID:
		return x.String()
	case string:
		return x
	case []byte:
		return "0x" + strings.ToUpper(hex.EncodeToString(x))
	case Variant:
		val, err := x.Value()
		if err != nil {
			return "variant error: " + err.Error()
		}
		return formatCell(&Column{}, val)
	}
	return fmt.Sprintf("unexpected %T", v)
}

func fraction(scale int) string {
	if scale == 0 {
		return ""
	}
	return "." + strings.Repeat("0", scale)
}
