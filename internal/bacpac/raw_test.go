package bacpac

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

// checkRaw checks that the Raw* reading of a stored value agrees with what
// Decode made of it (v, err): equal where the Raw function reports ok, and
// never ok where Decode refused the value.
func checkRaw(t testing.TB, k StoredKind, b []byte, v any, err error) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%v value % x (decoded %#v, %v): "+format, append([]any{k, b, v, err}, args...)...)
	}
	switch k {
	case StoredInt:
		if err == nil && RawInt(b) != v.(int64) {
			fail("RawInt = %d", RawInt(b))
		}
	case StoredBit:
		if (err == nil) != (b[0] <= 1) {
			fail("a bit byte of %d", b[0])
		}
	case StoredReal:
		if err == nil && math.Float32bits(v.(float32)) != le32(b) {
			fail("bits differ")
		}
	case StoredFloat:
		if err == nil && math.Float64bits(v.(float64)) != le64(b) {
			fail("bits differ")
		}
	case StoredDecimal:
		neg, mag, scale, ok := RawDecimal(b)
		if !ok {
			return
		}
		if err != nil {
			fail("RawDecimal accepts it")
		}
		u := new(big.Int).SetUint64(mag)
		if neg {
			u.Neg(u)
		}
		d := v.(Decimal)
		if d.Scale != scale || d.Unscaled.Cmp(u) != 0 {
			fail("RawDecimal = %v %d %d", neg, mag, scale)
		}
	case StoredDate:
		days, ok := RawDate(b)
		if ok && err != nil {
			fail("RawDate accepts it")
		}
		if ok && !dayOne.AddDate(0, 0, int(days)).Equal(v.(Date).Time()) {
			fail("RawDate = %d", days)
		}
	case StoredDateTime2:
		days, units, ok := RawDateTime2(b)
		if ok && err != nil {
			fail("RawDateTime2 accepts it")
		}
		if ok && !instant(days, units).Equal(v.(time.Time)) {
			fail("RawDateTime2 = %d %d", days, units)
		}
	case StoredDateTimeOffset:
		days, units, off, ok := RawDateTimeOffset(b)
		if ok && err != nil {
			fail("RawDateTimeOffset accepts it")
		}
		if !ok {
			return
		}
		tv := v.(time.Time)
		if _, zoff := tv.Zone(); !instant(days, units).Equal(tv) || zoff != off*60 {
			fail("RawDateTimeOffset = %d %d %d", days, units, off)
		}
	case StoredUUID:
		if err == nil && RawUUID(b) != v.(UUID) {
			fail("RawUUID = %v", RawUUID(b))
		}
	case StoredText:
		prefix := []byte("x")
		out, ok := AppendRawASCII(prefix, b)
		if !ok {
			if len(out) != 1 {
				fail("AppendRawASCII refused but returned %q", out)
			}
			return
		}
		if err != nil || string(out[1:]) != v.(string) {
			fail("AppendRawASCII = %q", out[1:])
		}
	case StoredBytes:
		got, _ := v.([]byte)
		if err == nil && !bytes.Equal(got, b) {
			fail("bytes differ")
		}
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

func instant(days int64, units uint64) time.Time {
	return dayOne.AddDate(0, 0, int(days)).Add(time.Duration(units) * 100)
}

// decodeBothWays decodes data as a part of the columns of fuzzColumns from
// start, once with next and once with nextRaw and Decode, and fails when
// the two ways differ in any value or error.
func decodeBothWays(t testing.TB, data []byte, start int) {
	all := fuzzColumns()
	var cols []colDecoder
	for _, c := range all[start%len(all):] {
		d, err := newColDecoder(c)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, d)
	}
	open := func() *partDecoder {
		return &partDecoder{name: "Data/dbo.F/TableData-000-00000.BCP",
			br:   bufio.NewReaderSize(bytes.NewReader(data), partBufferSize),
			size: int64(len(data)), cols: cols}
	}
	slow, fast := open(), open()
	r := &Rows{cols: cols, cur: fast}
	kinds := r.StoredKinds()
	vals := make([]any, len(cols))
	cells := make([][]byte, len(cols))
	for row := 1; ; row++ {
		ok, slowErr := slow.next(vals)
		rawOK, fastErr := fast.nextRaw(cells)
		if !rawOK && fastErr != nil && slowErr != nil {
			// nextRaw reads the whole row's framing before any value is
			// decoded, so a bad value before a framing error is not met.
			var fe, se *DataError
			if !errors.As(fastErr, &fe) || !errors.As(slowErr, &se) || se.Row != fe.Row || se.Offset > fe.Offset {
				t.Fatalf("row %d: Next %v, NextRaw %v", row, slowErr, fastErr)
			}
			return
		}
		if rawOK {
			for i, b := range cells {
				v, err := r.Decode(i, b)
				if b != nil {
					checkRaw(t, kinds[i], b, v, err)
				}
				if err != nil {
					rawOK, fastErr = false, err
					break
				}
				if ok && !sameStored(v, vals[i]) {
					t.Fatalf("row %d column %d: Decode %#v, Next %#v", row, i, v, vals[i])
				}
			}
		}
		if ok != rawOK || errText(slowErr) != errText(fastErr) {
			t.Fatalf("row %d: Next %v %v, NextRaw %v %v", row, ok, slowErr, rawOK, fastErr)
		}
		if !ok {
			return
		}
	}
}

// sameStored is reflect.DeepEqual, but for floats by their bits (NaN).
func sameStored(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return reflect.DeepEqual(a, b)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func FuzzRaw(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4}, 0)
	f.Add(bytes.Repeat([]byte{0xff}, 200), 31)
	f.Add([]byte{0x2a, 0x13, 0x26, 0x0a, 1, 1, 2, 3}, 5)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 0x41, 0, 0x42, 0, 0x43, 0, 0x44, 0}, 51)
	f.Add([]byte{0x23, 0, 0, 0, 0xa7, 7, 9, 4, 0xd0, 0, 0x34, 0x1a, 0}, 61)
	f.Add([]byte{5, 12, 2, 1, 0x39, 0x30, 0, 0}, 5)
	f.Fuzz(func(t *testing.T, data []byte, start int) {
		if start < 0 {
			start = -start
		}
		decodeBothWays(t, data, start)
	})
}

// TestRaw_EveryColumnType writes a row of every type through the encoder,
// with edge values, and reads it back both ways.
func TestRaw_EveryColumnType(t *testing.T) {
	cols := fuzzColumns()
	enc, err := newRowEncoder(&Table{Schema: "dbo", Name: "F", Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{edgeRow(cols, 0), edgeRow(cols, 1), edgeRow(cols, 2)}
	var data []byte
	for _, row := range rows {
		if data, err = enc.appendRow(data, row); err != nil {
			t.Fatal(err)
		}
	}
	decodeBothWays(t, data, 0)
	// Damaged copies: every byte in turn set to 0xff.
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] = 0xff
		decodeBothWays(t, bad, 0)
	}
}

// edgeRow returns values for cols: NULL in nullable columns on variant 2,
// otherwise a small (0) or extreme (1) value of each type.
func edgeRow(cols []*Column, variant int) []any {
	row := make([]any, len(cols))
	for i, c := range cols {
		if variant == 2 && c.Nullable {
			continue
		}
		big := variant == 1
		var v any
		switch c.Type.Name {
		case "tinyint":
			v = pick(big, int64(0), int64(255))
		case "smallint":
			v = pick(big, int64(-1), int64(math.MinInt16))
		case "int":
			v = pick(big, int64(7), int64(math.MaxInt32))
		case "bigint":
			v = pick(big, int64(-42), int64(math.MinInt64))
		case "bit":
			v = big
		case "decimal":
			d, _ := ParseDecimal(pick(big, "-0.5", "9999999999999999999999999999.9999999999"))
			v = d
		case "money", "smallmoney":
			v = NewDecimal(pick(big, int64(12345), int64(-2147483648)), 4)
		case "real":
			v = pick(big, float32(0.5), float32(math.MaxFloat32))
		case "float":
			v = pick(big, 1.25, -math.MaxFloat64)
		case "date":
			v = pick(big, Date{2000, 1, 1}, Date{9999, 12, 31})
		case "time":
			v = pick(big, TimeOfDay(0), TimeOfDay(24*time.Hour-100))
		case "datetime2":
			v = pick(big, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
				time.Date(9999, 12, 31, 23, 59, 59, 999000000, time.UTC))
		case "datetimeoffset":
			v = pick(big, time.Date(2020, 2, 29, 12, 0, 0, 100, time.UTC),
				time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", -14*3600)))
		case "datetime", "smalldatetime":
			v = time.Date(2001, 2, 3, 4, 5, 0, 0, time.UTC)
		case "uniqueidentifier":
			v = UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
		case "char", "nchar":
			v = pick(big, "a", "é")
		case "varchar":
			v = pick(big, "", "ü😀 x")
		case "nvarchar", "text", "ntext", "xml":
			v = pick(big, "", "ascii then ü and 😀 and more ascii after it")
		case "binary":
			v = []byte{1, 2, 3, 4}
		case "rowversion":
			v = []byte{0, 0, 0, 0, 0, 0, 0, 9}
		case "varbinary", "image", "geography", "hierarchyid":
			v = pick(big, []byte{}, bytes.Repeat([]byte{7}, 1000))
		case "sql_variant":
			v = Variant{0x38, 0, 1, 0, 0, 0}
		}
		row[i] = v
	}
	return row
}

func pick[T any](second bool, a, b T) T {
	if second {
		return b
	}
	return a
}

func TestAppendRawASCII(t *testing.T) {
	for _, s := range []string{"", "a", "exactly8", "sixteen chars!!!", "seventeen chars!!", "ascii ü", "😀"} {
		b := utf16le(s)
		out, ok := AppendRawASCII([]byte("pre:"), b)
		ascii := true
		for _, r := range s {
			ascii = ascii && r < 0x80
		}
		if ok != ascii || ok && string(out) != "pre:"+s || !ok && string(out) != "pre:" {
			t.Errorf("AppendRawASCII(%q) = %q, %v", s, out, ok)
		}
	}
	if _, ok := AppendRawASCII(nil, []byte{'a'}); ok {
		t.Error("AppendRawASCII accepted odd-length UTF-16")
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			b = append(b, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
			continue
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// TestRaw_FixtureTables reads every table of every fixture both ways.
func TestRaw_FixtureTables(t *testing.T) {
	for name := range fixtureRows {
		t.Run(name, func(t *testing.T) {
			p, err := OpenFile(fixturePath(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			cells := 0
			for _, tb := range p.Model().Tables {
				slow, fast := p.Rows(tb), p.Rows(tb)
				kinds := fast.StoredKinds()
				for slow.Next() {
					if !fast.NextRaw() {
						t.Fatalf("%s.%s: NextRaw ended at row %d: %v", tb.Schema, tb.Name, slow.Count(), fast.Err())
					}
					for i, b := range fast.RawValues() {
						v, err := fast.Decode(i, b)
						if err != nil || !sameStored(v, slow.Values()[i]) {
							t.Fatalf("%s.%s row %d column %d: Decode %#v %v, Next %#v",
								tb.Schema, tb.Name, slow.Count(), i, v, err, slow.Values()[i])
						}
						if b != nil {
							checkRaw(t, kinds[i], b, v, nil)
						}
						cells++
					}
				}
				if fast.NextRaw() || !errors.Is(fast.Err(), slow.Err()) {
					t.Fatalf("%s.%s: ends differ: %v / %v", tb.Schema, tb.Name, fast.Err(), slow.Err())
				}
				slow.Close()
				fast.Close()
			}
			t.Logf("%d cells agree", cells)
		})
	}
}
