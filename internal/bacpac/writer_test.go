package bacpac

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// typeCase is one column type of the property test with a generator of
// its values and the value a reader should return for a written one.
type typeCase struct {
	ty  Type
	gen func(r *rand.Rand, edge int) any // edge 0: random; 1, 2: min, max
}

var (
	minDate = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// randString mixes ASCII, Latin, CJK and non-BMP characters up to n
// UTF-16 code units.
func randString(r *rand.Rand, n int) string {
	alphabet := []string{"a", "Z", "0", " ", "'", "£", "ő", "ไ", "中", "😀", "𝄞", "\t", "<", "]"}
	var b strings.Builder
	units := 0
	want := r.IntN(n + 1)
	for units < want {
		s := alphabet[r.IntN(len(alphabet))]
		u := 1
		if s == "😀" || s == "𝄞" {
			u = 2
		}
		if units+u > want {
			break
		}
		b.WriteString(s)
		units += u
	}
	return b.String()
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, r.IntN(n+1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randDecimal(r *rand.Rand, p, s int, edge int) Decimal {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	var u *big.Int
	switch edge {
	case 1:
		u = new(big.Int).Sub(limit, big.NewInt(1))
		u.Neg(u)
	case 2:
		u = new(big.Int).Sub(limit, big.NewInt(1))
	default:
		digits := make([]byte, 1+r.IntN(p))
		for i := range digits {
			digits[i] = byte('0' + r.IntN(10))
		}
		u, _ = new(big.Int).SetString(string(digits), 10)
		if r.IntN(2) == 0 {
			u.Neg(u)
		}
	}
	return Decimal{Unscaled: u, Scale: s}
}

// scaleUnit is the nanoseconds of one step of a time scale.
func scaleUnit(scale int) int64 {
	u := int64(100)
	for i := scale; i < 7; i++ {
		u *= 10
	}
	return u
}

// randTime returns a random UTC time in [lo, hi) on a multiple of unit
// nanoseconds; the span may exceed what a time.Duration holds.
func randTime(r *rand.Rand, lo, hi time.Time, unit int64) time.Time {
	const sec = int64(time.Second)
	if unit >= sec {
		steps := (hi.Unix() - lo.Unix()) / (unit / sec)
		return time.Unix(lo.Unix()+r.Int64N(steps)*(unit/sec), 0).UTC()
	}
	secs := r.Int64N(hi.Unix() - lo.Unix())
	return time.Unix(lo.Unix()+secs, r.Int64N(sec/unit)*unit).UTC()
}

func intCase(name string, lo, hi int64) typeCase {
	return typeCase{Type{Name: name}, func(r *rand.Rand, edge int) any {
		switch edge {
		case 1:
			return lo
		case 2:
			return hi
		}
		if name == "bigint" {
			return int64(r.Uint64())
		}
		return lo + r.Int64N(hi-lo+1)
	}}
}

func decimalCase(name string, p, s int) typeCase {
	return typeCase{Type{Name: name, Precision: p, Scale: s}, func(r *rand.Rand, edge int) any {
		return randDecimal(r, p, s, edge)
	}}
}

func temporalCase(name string, scale int, lo, hi time.Time, zone bool) typeCase {
	unit := scaleUnit(scale)
	return typeCase{Type{Name: name, Scale: scale}, func(r *rand.Rand, edge int) any {
		v := randTime(r, lo, hi, unit)
		switch edge {
		case 1:
			v = lo
		case 2:
			v = hi.Add(-time.Duration(unit))
		}
		if zone {
			off := (r.IntN(28*60+1) - 14*60) * 60
			if edge == 1 {
				off = 14 * 3600 // keeps the UTC instant in range
			}
			if edge == 2 {
				off = -14 * 3600
			}
			v = v.In(time.FixedZone("", off))
			if edge != 0 {
				v = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), v.Location())
			}
		}
		return v
	}}
}

func stringCase(name string, length int, max bool) typeCase {
	n := length
	if max || n == 0 {
		n = 200
	}
	return typeCase{Type{Name: name, Length: length, Max: max}, func(r *rand.Rand, edge int) any {
		switch edge {
		case 1:
			return ""
		case 2:
			if length > 0 {
				return strings.Repeat("😀", length/2) + strings.Repeat("x", length%2)
			}
		}
		return randString(r, n)
	}}
}

func bytesCase(name string, length int, max bool) typeCase {
	n := length
	if max || n == 0 {
		n = 300
	}
	return typeCase{Type{Name: name, Length: length, Max: max}, func(r *rand.Rand, edge int) any {
		switch edge {
		case 1:
			return []byte{}
		case 2:
			if length > 0 {
				return bytes.Repeat([]byte{0xff}, length)
			}
		}
		return randBytes(r, n)
	}}
}

// allTypes covers every type of §4.
func allTypes() []typeCase {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	return []typeCase{
		intCase("tinyint", 0, 255),
		intCase("smallint", math.MinInt16, math.MaxInt16),
		intCase("int", math.MinInt32, math.MaxInt32),
		intCase("bigint", math.MinInt64, math.MaxInt64-1),
		{Type{Name: "bit"}, func(r *rand.Rand, edge int) any { return r.IntN(2) == 1 }},
		decimalCase("decimal", 38, 0),
		decimalCase("decimal", 38, 10),
		decimalCase("decimal", 38, 38),
		decimalCase("numeric", 5, 2),
		decimalCase("decimal", 1, 0),
		{Type{Name: "money"}, func(r *rand.Rand, edge int) any {
			switch edge {
			case 1:
				return Decimal{Unscaled: big.NewInt(math.MinInt64), Scale: 4}
			case 2:
				return Decimal{Unscaled: big.NewInt(math.MaxInt64), Scale: 4}
			}
			return Decimal{Unscaled: big.NewInt(r.Int64() - r.Int64()), Scale: 4}
		}},
		{Type{Name: "smallmoney"}, func(r *rand.Rand, edge int) any {
			switch edge {
			case 1:
				return Decimal{Unscaled: big.NewInt(math.MinInt32), Scale: 4}
			case 2:
				return Decimal{Unscaled: big.NewInt(math.MaxInt32), Scale: 4}
			}
			return Decimal{Unscaled: big.NewInt(int64(int32(r.Uint32()))), Scale: 4}
		}},
		{Type{Name: "real"}, func(r *rand.Rand, edge int) any {
			switch edge {
			case 1:
				return float32(-math.MaxFloat32)
			case 2:
				return float32(math.MaxFloat32)
			}
			return float32(r.NormFloat64() * 1e6)
		}},
		{Type{Name: "float", Precision: 53}, func(r *rand.Rand, edge int) any {
			switch edge {
			case 1:
				return -math.MaxFloat64
			case 2:
				return math.SmallestNonzeroFloat64
			}
			return r.NormFloat64() * 1e100
		}},
		{Type{Name: "date"}, func(r *rand.Rand, edge int) any {
			switch edge {
			case 1:
				return Date{1, 1, 1}
			case 2:
				return Date{9999, 12, 31}
			}
			return DateOf(randTime(r, minDate, maxDate, int64(24*time.Hour)))
		}},
		{Type{Name: "time", Scale: 7}, timeGen(7)},
		{Type{Name: "time", Scale: 0}, timeGen(0)},
		{Type{Name: "time", Scale: 3}, timeGen(3)},
		temporalCase("datetime2", 7, minDate, maxDate.Add(24*time.Hour), false),
		temporalCase("datetime2", 0, minDate, maxDate.Add(24*time.Hour), false),
		temporalCase("datetime2", 4, minDate, maxDate.Add(24*time.Hour), false),
		temporalCase("datetimeoffset", 7, minDate.Add(24*time.Hour), maxDate, true),
		temporalCase("datetimeoffset", 2, minDate.Add(24*time.Hour), maxDate, true),
		{Type{Name: "datetime"}, func(r *rand.Rand, edge int) any {
			lo, hi := day(1753, 1, 1), day(9999, 12, 31).Add(24*time.Hour-3333333)
			switch edge {
			case 1:
				return lo
			case 2:
				return time.Date(9999, 12, 31, 23, 59, 59, 997e6, time.UTC)
			}
			return randTime(r, lo, hi, int64(time.Millisecond))
		}},
		{Type{Name: "smalldatetime"}, func(r *rand.Rand, edge int) any {
			lo, hi := day(1900, 1, 1), day(2079, 6, 6).Add(24*time.Hour)
			switch edge {
			case 1:
				return lo
			case 2:
				return hi.Add(-time.Minute)
			}
			return randTime(r, lo, hi, int64(time.Minute))
		}},
		{Type{Name: "uniqueidentifier"}, func(r *rand.Rand, edge int) any {
			var u UUID
			for i := range u {
				u[i] = byte(r.Uint32())
			}
			return u
		}},
		stringCase("char", 10, false),
		stringCase("varchar", 50, false),
		stringCase("nchar", 5, false),
		stringCase("nvarchar", 100, false),
		stringCase("varchar", 0, true),
		stringCase("nvarchar", 0, true),
		stringCase("text", 0, false),
		stringCase("ntext", 0, false),
		{Type{Name: "xml"}, func(r *rand.Rand, edge int) any {
			if edge == 1 {
				return ""
			}
			return "<r a=\"" + fmt.Sprint(r.IntN(1000)) + "\">x😀</r>"
		}},
		bytesCase("binary", 8, false),
		bytesCase("varbinary", 30, false),
		bytesCase("varbinary", 0, true),
		bytesCase("image", 0, false),
		bytesCase("geography", 0, false),
		bytesCase("geometry", 0, false),
		bytesCase("hierarchyid", 0, false),
		{Type{Name: "sql_variant"}, func(r *rand.Rand, edge int) any {
			// An int variant: base type 0x38, no property bytes, 4 bytes.
			v := Variant{0x38, 0, 0, 0, 0, 0}
			for i := 2; i < 6; i++ {
				v[i] = byte(r.Uint32())
			}
			return v
		}},
	}
}

func timeGen(scale int) func(r *rand.Rand, edge int) any {
	unit := scaleUnit(scale)
	return func(r *rand.Rand, edge int) any {
		switch edge {
		case 1:
			return TimeOfDay(0)
		case 2:
			return TimeOfDay(int64(24*time.Hour) - unit)
		}
		return TimeOfDay(r.Int64N(int64(24*time.Hour)/unit) * unit)
	}
}

// propertyTable builds a table with every type twice (nullable and NOT
// NULL) plus a rowversion, and n rows of values for it.
func propertyTable(r *rand.Rand, name string) (*Table, []typeCase) {
	t := &Table{Schema: "dbo", Name: name}
	var cases []typeCase
	for i, tc := range allTypes() {
		for _, nullable := range []bool{true, false} {
			t.Columns = append(t.Columns, &Column{
				Name:     fmt.Sprintf("c%d_%s_%v", i, tc.ty.Name, nullable),
				Type:     tc.ty,
				Nullable: nullable,
			})
			cases = append(cases, tc)
		}
	}
	t.Columns = append(t.Columns, &Column{Name: "rv", Type: Type{Name: "rowversion"}})
	cases = append(cases, typeCase{Type{Name: "rowversion"}, func(r *rand.Rand, edge int) any {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}})
	return t, cases
}

func genRow(r *rand.Rand, t *Table, cases []typeCase, i int) []any {
	row := make([]any, len(cases))
	for j, tc := range cases {
		c := t.Columns[j]
		edge := 0
		switch i % 7 {
		case 1:
			edge = 1
		case 2:
			edge = 2
		}
		if c.Nullable && (i%7 == 3 || r.IntN(6) == 0) {
			continue
		}
		row[j] = tc.gen(r, edge)
	}
	return row
}

// wantValue is what a reader returns for a written value: fixed-length
// character and binary types come back padded.
func wantValue(c *Column, v any) any {
	switch x := v.(type) {
	case string:
		if c.Type.Name == "char" || c.Type.Name == "nchar" {
			n := len(utf16Units(x))
			return x + strings.Repeat(" ", c.Type.Length-n)
		}
	case []byte:
		if c.Type.Name == "binary" {
			return append(bytes.Clone(x), make([]byte, c.Type.Length-len(x))...)
		}
	}
	return v
}

func utf16Units(s string) []uint16 {
	var u []uint16
	for _, r := range s {
		if r >= 0x10000 {
			u = append(u, 0, 0)
		} else {
			u = append(u, 0)
		}
	}
	return u
}

// sameValue compares a read value with the wanted one.
func sameValue(c *Column, want, got any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case Decimal:
		g, ok := got.(Decimal)
		return ok && g.Cmp(w) == 0
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	case Variant:
		g, ok := got.(Variant)
		return ok && bytes.Equal(g, w)
	case time.Time:
		g, ok := got.(time.Time)
		if !ok {
			return false
		}
		if c.Type.Name == "datetime" {
			// datetime keeps 1/300 s; compare what both encode to.
			ce, _ := newColEncoder(c)
			a, _ := ce.append(nil, w)
			b, _ := ce.append(nil, g)
			return bytes.Equal(a, b)
		}
		_, wo := w.Zone()
		_, gotOff := g.Zone()
		return g.Equal(w) && wo == gotOff
	}
	return want == got
}

// writePackage writes m with rows from fill, returning the package bytes.
func writePackage(t *testing.T, m *Model, opts WriterOptions, fill func(w *Writer)) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, m, opts)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	fill(w)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// TestWriter_PropertyRoundTrip writes random rows of every type, with NULLs,
// empty values, minimum and maximum values, (max) values over 1 MiB and
// non-BMP text, and reads them back with the package reader.
func TestWriter_PropertyRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))

	m := &Model{}
	var tables []*Table
	var cases [][]typeCase
	for i := range 3 {
		tbl, tc := propertyTable(r, fmt.Sprintf("Prop%d", i))
		m.Tables = append(m.Tables, tbl)
		tables = append(tables, tbl)
		cases = append(cases, tc)
	}
	rows := make([][][]any, len(tables))
	for i, tbl := range tables {
		for j := range 150 {
			rows[i] = append(rows[i], genRow(r, tbl, cases[i], j))
		}
	}
	// (max) values over 1 MiB, in the first table.
	big := rows[0][5]
	for j, c := range tables[0].Columns {
		switch {
		case c.Type.Max && c.Type.Name != "varbinary":
			big[j] = strings.Repeat("ab😀", 300_000)
		case c.Type.Max:
			big[j] = bytes.Repeat([]byte{1, 2, 3}, 400_000)
		case c.Type.Name == "ntext" || c.Type.Name == "xml":
			big[j] = "<x>" + strings.Repeat("ő", 600_000) + "</x>"
		case c.Type.Name == "image":
			big[j] = bytes.Repeat([]byte{9}, 1_100_000)
		}
	}

	data := writePackage(t, m, WriterOptions{PartSize: 256 << 10, TempDir: t.TempDir()}, func(w *Writer) {
		var wg sync.WaitGroup
		for i, tbl := range tables {
			wg.Go(func() {
				tw, err := w.Table(tbl)
				if err != nil {
					t.Errorf("Table(%s): %v", tbl.Name, err)
					return
				}
				for j, row := range rows[i] {
					if err := tw.WriteRow(row); err != nil {
						t.Errorf("WriteRow %d of %s: %v", j, tbl.Name, err)
						return
					}
				}
				if err := tw.Close(); err != nil {
					t.Errorf("Close %s: %v", tbl.Name, err)
				}
			})
		}
		wg.Wait()
	})

	pkg, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for i, tbl := range tables {
		rt := pkg.Model().Table(tbl.Schema, tbl.Name)
		if rt == nil {
			t.Fatalf("table %s missing from the read model", tbl.Name)
		}
		if n := len(pkg.Parts(rt)); n < 2 {
			t.Errorf("table %s has %d parts, want several at PartSize 256 KiB", tbl.Name, n)
		}
		rs := pkg.Rows(rt)
		j := 0
		for rs.Next() {
			if j >= len(rows[i]) {
				t.Fatalf("table %s: more rows read than written", tbl.Name)
			}
			got := rs.Values()
			for k, c := range tbl.Columns {
				want := wantValue(c, rows[i][j][k])
				if !sameValue(c, want, got[k]) {
					t.Errorf("table %s row %d column %s: got %s, want %s",
						tbl.Name, j, c.Name, short(got[k]), short(want))
				}
			}
			j++
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("read table %s: %v", tbl.Name, err)
		}
		rs.Close()
		if j != len(rows[i]) {
			t.Errorf("table %s: read %d rows, wrote %d", tbl.Name, j, len(rows[i]))
		}
	}
	if got := pkg.Origin().TotalRows; got != 450 {
		t.Errorf("Origin TotalRows = %d, want 450", got)
	}
	counts, err := pkg.Verify(context.Background(), nil)
	if err != nil {
		t.Errorf("Verify: %v", err)
	}
	for _, c := range counts {
		if c.Rows != 150 {
			t.Errorf("Verify counts %d rows in %s, want 150", c.Rows, c.Table.Name)
		}
	}
}

func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// TestWriter_ZipLayout checks the package with the standard library's zip
// reader: entry order and methods of §2.2 variant A, the exact
// [Content_Types].xml, the relationships and the model checksum.
func TestWriter_ZipLayout(t *testing.T) {
	m := &Model{Tables: []*Table{
		{Schema: "dbo", Name: "Order Details", Columns: []*Column{
			{Name: "id", Type: Type{Name: "int"}},
			{Name: "note", Type: Type{Name: "nvarchar", Length: 200}, Nullable: true},
		}},
		{Schema: "sales", Name: "Empty", Columns: []*Column{{Name: "id", Type: Type{Name: "int"}}}},
	}}
	data := writePackage(t, m, WriterOptions{PartSize: 4096, Source: ServerInfo{Database: "shop"}}, func(w *Writer) {
		tw, err := w.Table(m.Tables[0])
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			if err := tw.WriteRow([]any{int64(i), fmt.Sprintf("note %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		tw, _ = w.Table(m.Tables[1])
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	})

	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %s (CRC checked): %v", f.Name, err)
		}
		files[f.Name] = b
		wantMethod := zip.Deflate
		if f.Name == "_rels/.rels" || f.Name == "Origin.xml" {
			wantMethod = zip.Store
		}
		if f.Method != wantMethod || f.Flags != 0 {
			t.Errorf("%s: method %d flags %#x, want method %d flags 0", f.Name, f.Method, f.Flags, wantMethod)
		}
	}
	order := strings.Join(names, "\n")
	wantOrder := regexp.MustCompile(`^model\.xml\nDacMetadata\.xml\n\[Content_Types\]\.xml\n` +
		`(Data/dbo\.Order%20Details/TableData-\d{3}-00000\.BCP\n){2,}_rels/\.rels\nOrigin\.xml$`)
	if !wantOrder.MatchString(order) {
		t.Fatalf("entry order:\n%s\nwant model.xml, DacMetadata.xml, [Content_Types].xml, parts, _rels/.rels, Origin.xml", order)
	}
	// Parts are compressed by two goroutines (DefaultPartWorkers) but must
	// still enter the package in part order: 000, 001, … without gaps.
	for i, n := range names[3 : len(names)-2] {
		if want := fmt.Sprintf("Data/dbo.Order%%20Details/TableData-%03d-00000.BCP", i); n != want {
			t.Errorf("part %d is %s, want %s", i, n, want)
		}
	}
	if got := string(files["[Content_Types].xml"]); got != contentTypesXML ||
		!strings.HasPrefix(got, "\ufeff<?xml") {
		t.Errorf("[Content_Types].xml = %q", got)
	}
	rels := string(files["_rels/.rels"])
	for _, n := range names[3 : len(names)-2] {
		target := `Target="/` + n + `"`
		if c := strings.Count(rels, target); c != 2 {
			t.Errorf("_rels/.rels covers %s %d times, want 2", n, c)
		}
	}
	if !strings.Contains(rels, `Type="table=Order Details"`) || !strings.Contains(rels, `Type="schema=dbo"`) {
		t.Errorf("_rels/.rels lacks the table/schema types: %.300s", rels)
	}
	if regexp.MustCompile(`Id="R[0-9a-f]{16}"`).FindAllString(rels, -1) == nil {
		t.Errorf("_rels/.rels ids are not R + 16 hex digits")
	}
	sum := sha256.Sum256(files["model.xml"])
	origin := string(files["Origin.xml"])
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); !strings.Contains(origin, want) {
		t.Errorf("Origin.xml lacks the model checksum %s", want)
	}
	for _, want := range []string{"<TableRowCountTotalTag>1000</TableRowCountTotalTag>",
		"<Table>2</Table>", "<SimpleColumn>3</SimpleColumn>", "<Schema>1</Schema>"} {
		if !strings.Contains(origin, want) {
			t.Errorf("Origin.xml lacks %s:\n%s", want, origin)
		}
	}
	if !strings.Contains(string(files["DacMetadata.xml"]), "<Name>shop</Name>") {
		t.Errorf("DacMetadata.xml = %s", files["DacMetadata.xml"])
	}
	if bytes.HasPrefix(files["model.xml"], []byte("\ufeff")) {
		t.Errorf("model.xml starts with a BOM")
	}

	// The reader maps the parts to the table and counts all rows.
	pkg, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rs := pkg.Rows(pkg.Model().Table("dbo", "Order Details"))
	n := 0
	for rs.Next() {
		if got := rs.Values()[0]; got != int64(n) {
			t.Fatalf("row %d id = %v", n, got)
		}
		n++
	}
	if rs.Err() != nil || n != 1000 {
		t.Errorf("read %d rows, err %v; want 1000", n, rs.Err())
	}
}

// TestWriter_RejectsAndContinues checks that a bad value names table, row
// and column, and that the table can go on.
func TestWriter_RejectsAndContinues(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{
		{Name: "id", Type: Type{Name: "tinyint"}},
	}}}}
	var gotErr error
	data := writePackage(t, m, WriterOptions{}, func(w *Writer) {
		tw, _ := w.Table(m.Tables[0])
		tw.WriteRow([]any{int64(1)})
		gotErr = tw.WriteRow([]any{int64(256)})
		tw.WriteRow([]any{int64(2)})
		tw.Close()
	})
	if !errors.Is(gotErr, ErrInvalidValue) ||
		gotErr.Error() != `write row 2 of table [dbo].[T]: column "id" (tinyint): 256 is out of range for tinyint: invalid value` {
		t.Errorf("error = %v", gotErr)
	}
	pkg, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Origin().TotalRows != 2 {
		t.Errorf("TotalRows = %d, want 2", pkg.Origin().TotalRows)
	}
}

// failingWriter fails once more than limit bytes were written.
type failingWriter struct {
	n, limit int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		return 0, errors.New("disk full")
	}
	f.n += len(p)
	return len(p), nil
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestWriter_CleanupOnFailure checks that spool files go away when the
// output fails and when the package is aborted.
func TestWriter_CleanupOnFailure(t *testing.T) {
	m := &Model{Tables: []*Table{
		{Schema: "dbo", Name: "A", Columns: []*Column{{Name: "v", Type: Type{Name: "varbinary", Max: true}}}},
		{Schema: "dbo", Name: "B", Columns: []*Column{{Name: "v", Type: Type{Name: "varbinary", Max: true}}}},
	}}
	r := rand.New(rand.NewPCG(1, 2))
	row := []any{randBytes(r, 100_000)}

	t.Run("output fails", func(t *testing.T) {
		dir := t.TempDir()
		w, err := NewWriter(&failingWriter{limit: 20_000}, m, WriterOptions{PartSize: 200_000, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		tw, _ := w.Table(m.Tables[0])
		var werr error
		for range 50 {
			if werr = tw.WriteRow(row); werr != nil {
				break
			}
		}
		if werr == nil {
			werr = tw.Close()
		}
		if werr == nil || !strings.Contains(werr.Error(), "disk full") {
			t.Fatalf("write error = %v, want one mentioning disk full", werr)
		}
		if err := w.Close(); err == nil {
			t.Errorf("Close after a failed write succeeded")
		}
		w.Abort()
		if f := spoolFiles(t, dir); len(f) != 0 {
			t.Errorf("spool files left: %v", f)
		}
	})
	t.Run("abort", func(t *testing.T) {
		dir := t.TempDir()
		w, err := NewWriter(io.Discard, m, WriterOptions{TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := w.Table(m.Tables[0])
		b, _ := w.Table(m.Tables[1])
		for range 5 {
			a.WriteRow(row)
			b.WriteRow(row)
		}
		if f := spoolFiles(t, dir); len(f) != 2 {
			t.Errorf("spool files while writing: %v, want 2", f)
		}
		w.Abort()
		w.Abort()
		if f := spoolFiles(t, dir); len(f) != 0 {
			t.Errorf("spool files left after Abort: %v", f)
		}
		if err := a.WriteRow(row); err == nil {
			t.Errorf("WriteRow after Abort succeeded")
		}
	})
}

// TestWriter_Misuse covers the errors of using the writer wrongly.
func TestWriter_Misuse(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{{Name: "id", Type: Type{Name: "int"}}}}}}
	w, err := NewWriter(io.Discard, m, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Table(&Table{Schema: "dbo", Name: "Nope"}); err == nil {
		t.Errorf("Table of a table outside the model succeeded")
	}
	tw, err := w.Table(&Table{Schema: "dbo", Name: "T"})
	if err != nil {
		t.Fatalf("Table by name: %v", err)
	}
	if _, err := w.Table(m.Tables[0]); err == nil {
		t.Errorf("second Table of the same table succeeded")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "still being written") {
		t.Errorf("Close with an open table = %v", err)
	}
	tw.Close()
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("second Close = %v, want ErrWriterClosed", err)
	}

	bad := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{{Name: "x", Type: Type{Name: "money2"}}}}}}
	if _, err := NewWriter(io.Discard, bad, WriterOptions{}); err == nil {
		t.Errorf("NewWriter accepted an unknown type")
	}
}

// TestWriter_ManyParts writes more parts than the first part number can
// count and checks the reader gets the rows back in order.
func TestWriter_ManyParts(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{{Name: "id", Type: Type{Name: "int"}}}}}}
	const n = 1050
	data := writePackage(t, m, WriterOptions{PartSize: 1}, func(w *Writer) {
		tw, _ := w.Table(m.Tables[0])
		for i := range n {
			if err := tw.WriteRow([]any{int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	})
	pkg, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tbl := pkg.Model().Tables[0]
	if got := len(pkg.Parts(tbl)); got != n {
		t.Errorf("%d parts, want %d", got, n)
	}
	rs := pkg.Rows(tbl)
	defer rs.Close()
	i := 0
	for ; rs.Next(); i++ {
		if got := rs.Values()[0]; got != int64(i) {
			t.Fatalf("row %d = %v (part %s), want %d", i, got, rs.Part(), i)
		}
	}
	if rs.Err() != nil || i != n {
		t.Errorf("read %d rows, err %v; want %d", i, rs.Err(), n)
	}
}

// TestWriter_FailedTableFailsClose checks that a package whose table could
// not be written is not finished as if it were complete.
func TestWriter_FailedTableFailsClose(t *testing.T) {
	m := &Model{Tables: []*Table{{Schema: "dbo", Name: "T", Columns: []*Column{{Name: "id", Type: Type{Name: "int"}}}}}}
	w, err := NewWriter(io.Discard, m, WriterOptions{TempDir: "/nonexistent/spool"})
	if err != nil {
		t.Fatal(err)
	}
	tw, _ := w.Table(m.Tables[0])
	if err := tw.WriteRow([]any{int64(1)}); err == nil || !strings.Contains(err.Error(), "spool") {
		t.Fatalf("WriteRow with an unusable TempDir = %v, want a spool error", err)
	}
	if _, err := w.Table(m.Tables[0]); err == nil {
		t.Errorf("a failed table could be started again")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "[dbo].[T] failed") {
		t.Errorf("Close = %v, want an error naming the failed table", err)
	}
	w.Abort()
}
