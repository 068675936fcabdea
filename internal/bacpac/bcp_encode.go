package bacpac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"time"
	"unicode/utf8"
)

// ErrInvalidValue is wrapped by every error a TableWriter returns for a row
// value that does not fit its column: a Go type other than the one value.go
// assigns to the column's SQL type, a value out of the type's range, a
// string longer than the column, or NULL in a NOT NULL column.
var ErrInvalidValue = errors.New("invalid value")

// encKind is how a column's values are laid out in a part.
type encKind uint8

const (
	encTinyInt encKind = iota
	encSmallInt
	encInt
	encBigInt
	encBit
	encDecimal
	encMoney
	encSmallMoney
	encReal
	encFloat
	encDate
	encTime
	encDateTime2
	encDateTimeOffset
	encDateTime
	encSmallDateTime
	encUUID
	encFixedString // char(n), nchar(n): blank-padded to n UTF-16 units
	encString      // varchar, nvarchar, (max), text, ntext, xml
	encFixedBinary // binary(n): zero-padded to n bytes
	encBytes       // varbinary, (max), image, CLR types
	encRowVersion  // rowversion, timestamp: exactly 8 bytes
	encVariant     // sql_variant
)

// colEncoder encodes one column's values in BCP native form (§4 of the
// format note). prefix is the length-prefix width in bytes (0 for none),
// decided by the type and the column's own nullability as written into
// model.xml.
type colEncoder struct {
	name      string
	sqlType   string
	kind      encKind
	prefix    int
	nullable  bool
	length    int // UTF-16 units or bytes; 0 = no limit
	precision int
	scale     int
	limit     *big.Int // 10^precision for decimals
}

// rowEncoder encodes whole rows of one table.
type rowEncoder struct {
	cols []colEncoder
}

// fixedSize holds the value sizes of the fixed-width types, by kind.
var fixedSize = [...]int{
	encTinyInt: 1, encSmallInt: 2, encInt: 4, encBigInt: 8, encBit: 1,
	encDecimal: 19, encMoney: 8, encSmallMoney: 4, encReal: 4,
	encFloat: 8, encDate: 3, encTime: 5, encDateTime2: 8,
	encDateTimeOffset: 10, encDateTime: 8, encSmallDateTime: 4,
	encUUID: 16,
}

// newRowEncoder prepares the encoders of t's data columns.
func newRowEncoder(t *Table) (*rowEncoder, error) {
	var e rowEncoder
	for _, c := range t.DataColumns() {
		ce, err := newColEncoder(c)
		if err != nil {
			return nil, fmt.Errorf("prepare column %q of table %s: %w",
				c.Name, bracketName(t.Schema, t.Name), err)
		}
		e.cols = append(e.cols, ce)
	}
	return &e, nil
}

func newColEncoder(c *Column) (colEncoder, error) {
	ty := c.Type
	ce := colEncoder{name: c.Name, sqlType: ty.Name, nullable: c.Nullable}
	nullPrefix := func(k encKind) {
		ce.kind = k
		if c.Nullable {
			ce.prefix = 1
		}
	}
	length := func(def int) int {
		if ty.Max {
			return 0
		}
		if ty.Length <= 0 {
			return def
		}
		return ty.Length
	}
	switch ty.Name {
	case "tinyint":
		nullPrefix(encTinyInt)
	case "smallint":
		nullPrefix(encSmallInt)
	case "int":
		nullPrefix(encInt)
	case "bigint":
		nullPrefix(encBigInt)
	case "real":
		nullPrefix(encReal)
	case "float":
		nullPrefix(encFloat)
		if ty.Precision > 0 && ty.Precision <= 24 {
			ce.kind = encReal
		}
	case "money":
		nullPrefix(encMoney)
	case "smallmoney":
		nullPrefix(encSmallMoney)
	case "date":
		nullPrefix(encDate)
	case "time":
		nullPrefix(encTime)
		ce.scale = ty.Scale
	case "datetime2":
		nullPrefix(encDateTime2)
		ce.scale = ty.Scale
	case "datetimeoffset":
		nullPrefix(encDateTimeOffset)
		ce.scale = ty.Scale
	case "datetime":
		nullPrefix(encDateTime)
	case "smalldatetime":
		nullPrefix(encSmallDateTime)
	case "bit":
		ce.kind, ce.prefix = encBit, 1
	case "uniqueidentifier":
		ce.kind, ce.prefix = encUUID, 1
	case "decimal", "numeric":
		ce.kind, ce.prefix = encDecimal, 1
		ce.precision, ce.scale = ty.Precision, ty.Scale
		if ce.precision == 0 {
			ce.precision = 18
		}
		if ce.precision > 38 || ce.scale < 0 || ce.scale > ce.precision {
			return ce, fmt.Errorf("decimal(%d,%d) is not a valid type",
				ce.precision, ce.scale)
		}
		ce.limit = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(ce.precision)), nil)
	case "char":
		ce.kind, ce.length = encFixedString, length(1)
		if c.Nullable {
			ce.prefix = 2
		}
	case "nchar":
		ce.kind, ce.length, ce.prefix = encFixedString, length(1), 2
	case "varchar", "nvarchar":
		ce.kind, ce.length, ce.prefix = encString, length(1), 2
		if ty.Max {
			ce.prefix = 8
		}
	case "sysname":
		ce.kind, ce.length, ce.prefix = encString, 128, 2
	case "text", "ntext":
		ce.kind, ce.prefix = encString, 4
	case "xml":
		ce.kind, ce.prefix = encString, 8
	case "binary":
		ce.kind, ce.length, ce.prefix = encFixedBinary, length(1), 2
	case "varbinary":
		ce.kind, ce.length, ce.prefix = encBytes, length(1), 2
		if ty.Max {
			ce.prefix = 8
		}
	case "image":
		ce.kind, ce.prefix = encBytes, 4
	case "geography", "geometry", "hierarchyid":
		ce.kind, ce.prefix = encBytes, 8
	case "rowversion", "timestamp":
		ce.kind, ce.prefix = encRowVersion, 2
	case "sql_variant":
		ce.kind, ce.prefix = encVariant, 4
	default:
		return ce, fmt.Errorf("type %q: %w", ty.Name, errUnsupportedType)
	}
	switch ce.kind {
	case encTime, encDateTime2, encDateTimeOffset:
		if ce.scale < 0 || ce.scale > 7 {
			return ce, fmt.Errorf("%s(%d) is not a valid type", ty.Name, ce.scale)
		}
	}
	return ce, nil
}

var errUnsupportedType = errors.New("the writer does not support this type")

// appendRow appends the encoding of row to buf. On error buf is returned
// unchanged in length (the partial row is dropped).
func (e *rowEncoder) appendRow(buf []byte, row []any) ([]byte, error) {
	if len(row) != len(e.cols) {
		return buf, fmt.Errorf("row has %d values, table has %d data columns: %w",
			len(row), len(e.cols), ErrInvalidValue)
	}
	start := len(buf)
	for i := range e.cols {
		c := &e.cols[i]
		var err error
		buf, err = c.append(buf, row[i])
		if err != nil {
			return buf[:start], &columnError{column: c.name, sqlType: c.sqlType, err: err}
		}
	}
	return buf, nil
}

// columnError names the column whose value failed to encode.
type columnError struct {
	column  string
	sqlType string
	err     error
}

func (e *columnError) Error() string {
	return fmt.Sprintf("column %q (%s): %v", e.column, e.sqlType, e.err)
}

func (e *columnError) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidValue)
}

func wrongType(v any, want string) error {
	return invalid("got Go type %T, want %s", v, want)
}

func (c *colEncoder) append(buf []byte, v any) ([]byte, error) {
	if v == nil {
		return c.appendNull(buf)
	}
	switch c.kind {
	case encTinyInt, encSmallInt, encInt, encBigInt:
		return c.appendInteger(buf, v)
	case encBit:
		b, ok := v.(bool)
		if !ok {
			return buf, wrongType(v, "bool")
		}
		buf = append(buf, 1, 0)
		if b {
			buf[len(buf)-1] = 1
		}
		return buf, nil
	case encDecimal, encMoney, encSmallMoney:
		return c.appendDecimal(buf, v)
	case encReal:
		f, ok := v.(float32)
		if !ok {
			return buf, wrongType(v, "float32")
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return buf, invalid("%v is not a SQL Server real", f)
		}
		buf = c.appendPrefix(buf, 4)
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(f)), nil
	case encFloat:
		f, ok := v.(float64)
		if !ok {
			return buf, wrongType(v, "float64")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return buf, invalid("%v is not a SQL Server float", f)
		}
		buf = c.appendPrefix(buf, 8)
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case encDate, encTime, encDateTime2, encDateTimeOffset, encDateTime, encSmallDateTime:
		return c.appendTemporal(buf, v)
	case encUUID:
		u, ok := v.(UUID)
		if !ok {
			return buf, wrongType(v, "bacpac.UUID")
		}
		buf = append(buf, 16, u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6])
		return append(buf, u[8:]...), nil
	case encFixedString, encString:
		s, ok := v.(string)
		if !ok {
			return buf, wrongType(v, "string")
		}
		return c.appendString(buf, s)
	case encFixedBinary, encBytes, encRowVersion:
		b, ok := v.([]byte)
		if !ok {
			return buf, wrongType(v, "[]byte")
		}
		return c.appendBytes(buf, b)
	case encVariant:
		b, ok := v.(Variant)
		if !ok {
			return buf, wrongType(v, "bacpac.Variant")
		}
		if len(b) > math.MaxUint32-1 {
			return buf, invalid("sql_variant of %d bytes is too long", len(b))
		}
		// A zero length is how a part marks a NULL sql_variant, so an
		// empty Variant reads back as NULL.
		return append(binary.LittleEndian.AppendUint32(buf, uint32(len(b))), b...), nil
	}
	return buf, invalid("unknown encoding %d", c.kind)
}

func (c *colEncoder) appendNull(buf []byte) ([]byte, error) {
	if !c.nullable {
		return buf, invalid("NULL in a NOT NULL column")
	}
	switch c.prefix {
	case 1:
		return append(buf, 0xff), nil
	case 2:
		return append(buf, 0xff, 0xff), nil
	case 4:
		if c.kind == encVariant {
			return append(buf, 0, 0, 0, 0), nil
		}
		return append(buf, 0xff, 0xff, 0xff, 0xff), nil
	case 8:
		return append(buf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), nil
	}
	return buf, invalid("NULL in a column whose encoding has no NULL")
}

// appendPrefix writes the length prefix for a value of n bytes.
func (c *colEncoder) appendPrefix(buf []byte, n int) []byte {
	switch c.prefix {
	case 1:
		buf = append(buf, byte(n))
	case 2:
		buf = binary.LittleEndian.AppendUint16(buf, uint16(n))
	case 4:
		buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	case 8:
		buf = binary.LittleEndian.AppendUint64(buf, uint64(n))
	}
	return buf
}

// putPrefix overwrites a prefix reserved at buf[at:] with n.
func (c *colEncoder) putPrefix(buf []byte, at, n int) {
	switch c.prefix {
	case 2:
		binary.LittleEndian.PutUint16(buf[at:], uint16(n))
	case 4:
		binary.LittleEndian.PutUint32(buf[at:], uint32(n))
	case 8:
		binary.LittleEndian.PutUint64(buf[at:], uint64(n))
	}
}

func (c *colEncoder) appendInteger(buf []byte, v any) ([]byte, error) {
	n, ok := v.(int64)
	if !ok {
		return buf, wrongType(v, "int64")
	}
	size := fixedSize[c.kind]
	var lo, hi int64
	switch c.kind {
	case encTinyInt:
		lo, hi = 0, 255
	case encSmallInt:
		lo, hi = math.MinInt16, math.MaxInt16
	case encInt:
		lo, hi = math.MinInt32, math.MaxInt32
	default:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if n < lo || n > hi {
		return buf, invalid("%d is out of range for %s", n, c.sqlType)
	}
	buf = c.appendPrefix(buf, size)
	return binary.LittleEndian.AppendUint64(buf, uint64(n))[:len(buf)+size], nil
}

func (c *colEncoder) appendDecimal(buf []byte, v any) ([]byte, error) {
	d, ok := v.(Decimal)
	if !ok {
		return buf, wrongType(v, "bacpac.Decimal")
	}
	scale := c.scale
	if c.kind != encDecimal {
		scale = 4
	}
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	if d.Scale != scale {
		r, exact := d.Rescale(scale)
		if !exact {
			return buf, invalid("%s has more than %d fractional digits", d, scale)
		}
		u = r.Unscaled
	}
	switch c.kind {
	case encMoney, encSmallMoney:
		limit := int64(math.MaxInt64)
		low := int64(math.MinInt64)
		if c.kind == encSmallMoney {
			limit, low = math.MaxInt32, math.MinInt32
		}
		if !u.IsInt64() || u.Int64() > limit || u.Int64() < low {
			return buf, invalid("%s is out of range for %s", d, c.sqlType)
		}
		n := u.Int64()
		if c.kind == encSmallMoney {
			buf = c.appendPrefix(buf, 4)
			return binary.LittleEndian.AppendUint32(buf, uint32(int32(n))), nil
		}
		buf = c.appendPrefix(buf, 8)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(uint64(n)>>32))
		return binary.LittleEndian.AppendUint32(buf, uint32(n)), nil
	}
	if u.CmpAbs(c.limit) >= 0 {
		return buf, invalid("%s does not fit decimal(%d,%d)", d, c.precision, c.scale)
	}
	sign := byte(1)
	if u.Sign() < 0 {
		sign = 0
	}
	buf = append(buf, 19, byte(c.precision), byte(c.scale), sign)
	var mag [16]byte
	words := u.Bits()
	for i, w := range words {
		// A big.Word is 32 or 64 bits; write each one little-endian.
		for j := 0; j < bits.UintSize/8; j++ {
			k := i*bits.UintSize/8 + j
			if k < 16 {
				mag[k] = byte(uint(w) >> (8 * j))
			}
		}
	}
	return append(buf, mag[:]...), nil
}

// appendString writes s as UTF-16LE, checking its length in UTF-16 code
// units against the column's and padding fixed-length types with blanks.
func (c *colEncoder) appendString(buf []byte, s string) ([]byte, error) {
	at := len(buf)
	buf = c.appendPrefix(buf, 0)
	body := len(buf)
	// No character takes more UTF-16 bytes than twice its UTF-8 bytes, so
	// one Grow leaves room for all of s, and ASCII runs, most text, are
	// widened in place (widenASCII) without an append per character.
	buf = slices.Grow(buf, 2*len(s))
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n := len(buf)
			k := widenASCII(buf[n:n+2*(len(s)-i)], s[i:])
			buf = buf[:n+2*k]
			i += k
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return buf[:at], invalid("string is not valid UTF-8 at byte %d", i)
		}
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			buf = append(buf, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
			continue
		}
		buf = append(buf, byte(r), byte(r>>8))
	}
	units := (len(buf) - body) / 2
	if c.length > 0 && units > c.length {
		return buf[:at], invalid("string of %d UTF-16 code units is longer than %s(%d)",
			units, c.sqlType, c.length)
	}
	if c.kind == encFixedString && units < c.length {
		// Pad in place too: MySQL, for one, hands CHAR values over without
		// their trailing blanks, so padding can be most of the value.
		pad := 2 * (c.length - units)
		buf = slices.Grow(buf, pad)
		n := len(buf)
		buf = buf[:n+pad]
		padBlanks(buf[n:])
	}
	n := len(buf) - body
	if err := c.checkSize(n); err != nil {
		return buf[:at], err
	}
	c.putPrefix(buf, at, n)
	return buf, nil
}

// checkSize rejects a value too long for its prefix (whose all-FF value
// means NULL).
func (c *colEncoder) checkSize(n int) error {
	switch {
	case c.prefix == 2 && n >= math.MaxUint16:
		return invalid("value of %d bytes is too long for %s", n, c.sqlType)
	case c.prefix == 4 && uint64(n) >= math.MaxUint32:
		return invalid("value of %d bytes is too long for %s", n, c.sqlType)
	}
	return nil
}

func (c *colEncoder) appendBytes(buf []byte, b []byte) ([]byte, error) {
	n := len(b)
	switch c.kind {
	case encRowVersion:
		if n != 8 {
			return buf, invalid("%s value has %d bytes, want 8", c.sqlType, n)
		}
	case encFixedBinary, encBytes:
		if c.length > 0 && n > c.length {
			return buf, invalid("%d bytes is longer than %s(%d)", n, c.sqlType, c.length)
		}
		if c.kind == encFixedBinary {
			n = c.length
		}
	}
	if err := c.checkSize(n); err != nil {
		return buf, err
	}
	buf = c.appendPrefix(buf, n)
	buf = append(buf, b...)
	for i := len(b); i < n; i++ {
		buf = append(buf, 0)
	}
	return buf, nil
}

// Day numbers of the SQL Server date epochs, counted from 0001-01-01.
var (
	epoch1900 = civilDays(1900, 1, 1)
	lastDay   = civilDays(9999, 12, 31)
)

const (
	nsPerDay  = int64(24 * time.Hour)
	ticksDay  = 300 * 86400 // datetime ticks (1/300 s) per day
	minPerDay = 24 * 60
)

// civilDays returns the number of days from 0001-01-01 to the given date
// of the proleptic Gregorian calendar.
func civilDays(y, m, d int) int64 {
	// Shift the year to start in March so the leap day is last.
	if m <= 2 {
		y--
		m += 12
	}
	yy := int64(y)
	days := 365*yy + yy/4 - yy/100 + yy/400 + int64((153*(m-3)+2)/5) + int64(d)
	return days - 307 // 0001-01-01 is day 307 of this count
}

// validDate reports whether y-m-d is a real date in SQL Server's range.
func validDate(y int, m time.Month, d int) bool {
	if y < 1 || y > 9999 {
		return false
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	yy, mm, dd := t.Date()
	return yy == y && mm == m && dd == d
}

// roundTo rounds ns (nanoseconds since midnight) to the time scale's unit.
func roundTo(ns int64, scale int) int64 {
	unit := int64(100)
	for i := scale; i < 7; i++ {
		unit *= 10
	}
	return (ns + unit/2) / unit * unit
}

func (c *colEncoder) appendTemporal(buf []byte, v any) ([]byte, error) {
	size := fixedSize[c.kind]
	switch c.kind {
	case encDate:
		d, ok := v.(Date)
		if !ok {
			return buf, wrongType(v, "bacpac.Date")
		}
		if !validDate(d.Year, d.Month, d.Day) {
			return buf, invalid("%04d-%02d-%02d is not a date in 0001..9999", d.Year, d.Month, d.Day)
		}
		buf = c.appendPrefix(buf, size)
		return appendUint24(buf, civilDays(d.Year, int(d.Month), d.Day)), nil
	case encTime:
		t, ok := v.(TimeOfDay)
		if !ok {
			return buf, wrongType(v, "bacpac.TimeOfDay")
		}
		ns := roundTo(int64(t), c.scale)
		if t < 0 || ns >= nsPerDay {
			return buf, invalid("%v is not a time of day", time.Duration(t))
		}
		buf = c.appendPrefix(buf, size)
		return appendUint40(buf, ns/100), nil
	}
	t, ok := v.(time.Time)
	if !ok {
		return buf, wrongType(v, "time.Time")
	}
	var offset int
	if c.kind == encDateTimeOffset {
		_, offset = t.Zone()
		if offset%60 != 0 || offset < -14*3600 || offset > 14*3600 {
			return buf, invalid("zone offset %ds is not whole minutes within ±14:00", offset)
		}
		t = t.UTC()
	}
	y, m, d := t.Date()
	days := civilDays(y, int(m), d)
	hh, mm, ss := t.Clock()
	ns := int64(hh*3600+mm*60+ss)*int64(time.Second) + int64(t.Nanosecond())

	switch c.kind {
	case encDateTime2, encDateTimeOffset:
		ns = roundTo(ns, c.scale)
		if ns >= nsPerDay {
			ns -= nsPerDay
			days++
		}
		if y < 1 || days > lastDay {
			return buf, invalid("%v is out of range for %s", t, c.sqlType)
		}
		buf = c.appendPrefix(buf, size)
		buf = appendUint40(buf, ns/100)
		buf = appendUint24(buf, days)
		if c.kind == encDateTimeOffset {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(int16(offset/60)))
		}
		return buf, nil
	case encDateTime:
		ticks := (ns*3 + 5_000_000) / 10_000_000
		if ticks >= ticksDay {
			ticks -= ticksDay
			days++
		}
		if y < 1753 || days > lastDay {
			return buf, invalid("%v is out of range for datetime", t)
		}
		buf = c.appendPrefix(buf, size)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(days-epoch1900)))
		return binary.LittleEndian.AppendUint32(buf, uint32(ticks)), nil
	default: // encSmallDateTime
		mins := (ns + 30*int64(time.Second)) / int64(time.Minute)
		if mins >= minPerDay {
			mins -= minPerDay
			days++
		}
		rel := days - epoch1900
		if y < 1900 || rel > math.MaxUint16 {
			return buf, invalid("%v is out of range for smalldatetime", t)
		}
		buf = c.appendPrefix(buf, size)
		buf = binary.LittleEndian.AppendUint16(buf, uint16(rel))
		return binary.LittleEndian.AppendUint16(buf, uint16(mins)), nil
	}
}

func appendUint24(buf []byte, v int64) []byte {
	return append(buf, byte(v), byte(v>>8), byte(v>>16))
}

func appendUint40(buf []byte, v int64) []byte {
	return append(buf, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32))
}
