package bacpac

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// valueKind says how a column's value bytes turn into a Go value.
type valueKind uint8

const (
	kindInt valueKind = iota // tinyint (unsigned), smallint, int, bigint
	kindBit
	kindDecimal
	kindMoney
	kindSmallMoney
	kindReal
	kindFloat
	kindDate
	kindTime
	kindDateTime2
	kindDateTimeOffset
	kindDateTime
	kindSmallDateTime
	kindUUID
	kindString // UTF-16LE text
	kindBytes
	kindVariant
)

// colDecoder decodes one column's values: a length prefix of prefix bytes
// (0 for none), then the value.
type colDecoder struct {
	name   string
	kind   valueKind
	prefix int
	// size is the value length of an unprefixed column, and the only
	// length a prefixed fixed-width value may have (0: any length).
	size int
	// variantNull marks sql_variant, whose NULL is a zero length.
	variantNull bool
}

// errUnsupportedColumn is wrapped by newColDecoder for types whose data
// framing is not known.
var errUnsupportedColumn = errors.New("type not supported by the BCP reader")

// newColDecoder decides a column's framing from its type and its own
// nullability, as §4.2 of the format note lays out.
func newColDecoder(c *Column) (colDecoder, error) {
	d := colDecoder{name: c.Name}
	fixed := func(k valueKind, size int) {
		d.kind, d.size = k, size
		if c.Nullable {
			d.prefix = 1
		}
	}
	t := c.Type
	switch t.Name {
	case "tinyint":
		fixed(kindInt, 1)
	case "smallint":
		fixed(kindInt, 2)
	case "int":
		fixed(kindInt, 4)
	case "bigint":
		fixed(kindInt, 8)
	case "real":
		fixed(kindReal, 4)
	case "float":
		fixed(kindFloat, 8)
		if t.Precision > 0 && t.Precision <= 24 {
			fixed(kindReal, 4)
		}
	case "money":
		fixed(kindMoney, 8)
	case "smallmoney":
		fixed(kindSmallMoney, 4)
	case "date":
		fixed(kindDate, 3)
	case "time":
		fixed(kindTime, 5)
	case "datetime2":
		fixed(kindDateTime2, 8)
	case "datetimeoffset":
		fixed(kindDateTimeOffset, 10)
	case "datetime":
		fixed(kindDateTime, 8)
	case "smalldatetime":
		fixed(kindSmallDateTime, 4)
	case "bit":
		d.kind, d.prefix, d.size = kindBit, 1, 1
	case "decimal", "numeric":
		d.kind, d.prefix = kindDecimal, 1
	case "uniqueidentifier":
		d.kind, d.prefix, d.size = kindUUID, 1, 16
	case "char":
		d.kind, d.prefix = kindString, 2
		if !c.Nullable && !t.Max {
			d.prefix, d.size = 0, 2*max(t.Length, 1)
		}
	case "varchar", "nvarchar", "nchar":
		d.kind, d.prefix = kindString, 2
		if t.Max {
			d.prefix = 8
		}
	case "binary", "varbinary":
		d.kind, d.prefix = kindBytes, 2
		if t.Max {
			d.prefix = 8
		}
	case "rowversion", "timestamp":
		d.kind, d.prefix = kindBytes, 2
	case "text", "ntext":
		d.kind, d.prefix = kindString, 4
	case "image":
		d.kind, d.prefix = kindBytes, 4
	case "xml":
		d.kind, d.prefix = kindString, 8
	case "geography", "geometry", "hierarchyid":
		d.kind, d.prefix = kindBytes, 8
	case "sql_variant":
		d.kind, d.prefix, d.variantNull = kindVariant, 4, true
	default:
		if strings.HasPrefix(t.Name, "[") {
			// A user-defined CLR type, named as the model names it:
			// framed like the built-in CLR types (unconfirmed, no
			// fixture has one).
			d.kind, d.prefix = kindBytes, 8
			return d, nil
		}
		return d, fmt.Errorf("column %q: %w: %q", c.Name, errUnsupportedColumn, t.Name)
	}
	return d, nil
}

// partBufferSize is the read buffer of a part and the largest value read
// straight out of it; longer values are copied out in chunks, so a lying
// length prefix fails at the end of the data instead of allocating what it
// claims.
const partBufferSize = 64 << 10

// partDecoder decodes the rows of one data part.
type partDecoder struct {
	name string
	br   *bufio.Reader
	src  io.Closer
	off  int64 // offset of the next unread byte
	// rowStart is the offset of the current row.
	rowStart int64
	size     int64 // declared uncompressed size of the part
	row      int64 // rows decoded so far
	cols     []colDecoder

	// For nextRaw: the current row's values, back to back, and where
	// each value starts in the part and ends in rowBuf (-1: NULL).
	rowBuf  []byte
	cellOff []int64
	cellEnd []int
}

// next decodes one row into vals. It returns false with a nil error at a
// clean end of the part.
func (p *partDecoder) next(vals []any) (bool, error) {
	if _, err := p.br.Peek(1); err == io.EOF {
		return false, nil
	} else if err != nil {
		return false, p.fail(-1, p.off, err)
	}
	p.row++
	p.rowStart = p.off
	for i := range p.cols {
		start := p.off
		v, err := p.value(&p.cols[i])
		if err != nil {
			return false, p.fail(i, start, err)
		}
		vals[i] = v
	}
	return true, nil
}

func (p *partDecoder) fail(col int, off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: %d bytes after the last whole row, %d bytes in the part",
			ErrTruncated, p.size-p.rowStart, p.size)
	}
	de := &DataError{Part: p.name, Offset: off, Row: p.row, Err: err}
	if col >= 0 {
		de.Column = p.cols[col].name
	}
	return de
}

// take returns the next n bytes, valid until the next read.
func (p *partDecoder) take(n int) ([]byte, error) {
	b, err := p.br.Peek(n)
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: %d-byte read", ErrBadValue, n)
		}
		return nil, err
	}
	p.br.Discard(n)
	p.off += int64(n)
	return b, nil
}

// takeOwned returns the next n bytes in a new slice.
func (p *partDecoder) takeOwned(n uint64) ([]byte, error) {
	if left := p.size - p.off; n > uint64(max(left, 0)) {
		return nil, fmt.Errorf("%w: a %d-byte value overruns the part (%d bytes left)",
			ErrTruncated, n, left)
	}
	if n <= partBufferSize {
		b, err := p.take(int(n))
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), b...), nil
	}
	out := make([]byte, 0, partBufferSize)
	for uint64(len(out)) < n {
		chunk := min(n-uint64(len(out)), partBufferSize)
		b, err := p.take(int(chunk))
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// length reads a column's length prefix. null reports a NULL value.
func (p *partDecoder) length(c *colDecoder) (n uint64, null bool, err error) {
	b, err := p.take(c.prefix)
	if err != nil {
		return 0, false, err
	}
	switch c.prefix {
	case 1:
		n, null = uint64(b[0]), b[0] == 0xff
	case 2:
		v := binary.LittleEndian.Uint16(b)
		n, null = uint64(v), v == 0xffff
	case 4:
		v := binary.LittleEndian.Uint32(b)
		n, null = uint64(v), v == 0xffffffff
		if c.variantNull {
			null = v == 0
		}
	case 8:
		v := binary.LittleEndian.Uint64(b)
		n, null = v, v == math.MaxUint64
	}
	return n, null, nil
}

// cell reads column c's next value as stored. A value no longer than the
// read buffer is valid until the next read; a longer one is a fresh slice
// (owned). null reports a NULL value.
func (p *partDecoder) cell(c *colDecoder) (b []byte, owned, null bool, err error) {
	n := uint64(c.size)
	if c.prefix > 0 {
		n, null, err = p.length(c)
		if err != nil || null {
			return nil, false, null, err
		}
		if c.size > 0 && n != uint64(c.size) {
			return nil, false, false, fmt.Errorf("%w: length %d, want %d", ErrBadValue, n, c.size)
		}
	}
	if c.kind == kindDecimal && (n < 3 || n > 19) {
		return nil, false, false, fmt.Errorf("%w: decimal of %d bytes", ErrBadValue, n)
	}
	if n <= partBufferSize && int64(n) <= p.size-p.off {
		b, err = p.take(int(n))
		return b, false, false, err
	}
	b, err = p.takeOwned(n)
	return b, true, false, err
}

// value decodes one value of column c.
func (p *partDecoder) value(c *colDecoder) (any, error) {
	b, owned, null, err := p.cell(c)
	if err != nil || null {
		return nil, err
	}
	return decodeCell(c.kind, b, owned)
}

// decodeCell turns a value's stored bytes into its Go value. Bytes the
// value keeps are copied unless owned says b is already its own.
func decodeCell(k valueKind, b []byte, owned bool) (any, error) {
	switch k {
	case kindString:
		return decodeUTF16(b)
	case kindBytes, kindVariant:
		if !owned {
			b = append([]byte(nil), b...)
		}
		if k == kindVariant {
			return Variant(b), nil
		}
		return b, nil
	}
	return decodeFixed(k, b)
}

// decodeFixed decodes a fixed-width value.
func decodeFixed(k valueKind, b []byte) (any, error) {
	le := binary.LittleEndian
	switch k {
	case kindInt:
		return RawInt(b), nil
	case kindBit:
		if b[0] > 1 {
			return nil, fmt.Errorf("%w: bit value %d", ErrBadValue, b[0])
		}
		return b[0] == 1, nil
	case kindDecimal:
		return decodeDecimal(b)
	case kindMoney:
		v := int64(le.Uint32(b))<<32 | int64(le.Uint32(b[4:]))
		return Decimal{Unscaled: big.NewInt(v), Scale: 4}, nil
	case kindSmallMoney:
		return Decimal{Unscaled: big.NewInt(int64(int32(le.Uint32(b)))), Scale: 4}, nil
	case kindReal:
		return math.Float32frombits(le.Uint32(b)), nil
	case kindFloat:
		return math.Float64frombits(le.Uint64(b)), nil
	case kindDate:
		d, err := decodeDays(b)
		if err != nil {
			return nil, err
		}
		return DateOf(d), nil
	case kindTime:
		t, err := decodeTimeOfDay(b)
		return t, err
	case kindDateTime2:
		return decodeDateTime2(b, time.UTC)
	case kindDateTimeOffset:
		off := int(int16(le.Uint16(b[8:])))
		if off < -14*60 || off > 14*60 {
			return nil, fmt.Errorf("%w: offset of %d minutes", ErrBadValue, off)
		}
		t, err := decodeDateTime2(b, time.UTC)
		if err != nil {
			return nil, err
		}
		return t.In(time.FixedZone("", off*60)), nil
	case kindDateTime:
		return decodeDateTime(b)
	case kindSmallDateTime:
		days, mins := le.Uint16(b), le.Uint16(b[2:])
		if mins >= 24*60 {
			return nil, fmt.Errorf("%w: smalldatetime minute %d", ErrBadValue, mins)
		}
		return sqlEpoch.AddDate(0, 0, int(days)).Add(time.Duration(mins) * time.Minute), nil
	case kindUUID:
		return RawUUID(b), nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d", ErrBadValue, k)
}

var (
	sqlEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	dayOne   = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxDays is 9999-12-31 in days since 0001-01-01.
const maxDays = 3652058

func decodeDays(b []byte) (time.Time, error) {
	days := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if days > maxDays {
		return time.Time{}, fmt.Errorf("%w: date %d days past 0001-01-01", ErrBadValue, days)
	}
	return dayOne.AddDate(0, 0, days), nil
}

// hundredNsPerDay is the number of 100-ns units in a day.
const hundredNsPerDay = 864_000_000_000

func decodeTimeOfDay(b []byte) (TimeOfDay, error) {
	var u uint64
	for i := 4; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if u >= hundredNsPerDay {
		return 0, fmt.Errorf("%w: time of %d 100-ns units", ErrBadValue, u)
	}
	return TimeOfDay(time.Duration(u) * 100), nil
}

// decodeDateTime2 decodes a 5-byte time then a 3-byte date.
func decodeDateTime2(b []byte, loc *time.Location) (time.Time, error) {
	tod, err := decodeTimeOfDay(b[:5])
	if err != nil {
		return time.Time{}, err
	}
	day, err := decodeDays(b[5:8])
	if err != nil {
		return time.Time{}, err
	}
	return day.Add(time.Duration(tod)).In(loc), nil
}

// decodeDateTime decodes datetime: days since 1900 and 1/300-s ticks,
// rounded to the millisecond as SQL Server presents them.
func decodeDateTime(b []byte) (time.Time, error) {
	days := int32(binary.LittleEndian.Uint32(b))
	ticks := binary.LittleEndian.Uint32(b[4:])
	if ticks >= 300*86400 || days < -53690 || days > 2958463 {
		return time.Time{}, fmt.Errorf("%w: datetime (%d days, %d ticks)", ErrBadValue, days, ticks)
	}
	ms := (int64(ticks)*10 + 1) / 3
	return sqlEpoch.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond), nil
}

// decodeDecimal decodes precision, scale, sign (1 = positive) and a
// little-endian magnitude.
func decodeDecimal(b []byte) (Decimal, error) {
	prec, scale, sign := b[0], b[1], b[2]
	if prec < 1 || prec > 38 || scale > prec || sign > 1 {
		return Decimal{}, fmt.Errorf("%w: decimal header %d,%d sign %d",
			ErrBadValue, prec, scale, sign)
	}
	v := new(big.Int)
	if len(b) <= 11 || allZero(b[11:]) {
		var lo [8]byte
		copy(lo[:], b[3:])
		v.SetUint64(binary.LittleEndian.Uint64(lo[:]))
	} else {
		mag := make([]byte, len(b)-3)
		for i, x := range b[3:] {
			mag[len(mag)-1-i] = x
		}
		v.SetBytes(mag)
	}
	if v.Cmp(maxDecimal) > 0 {
		return Decimal{}, fmt.Errorf("%w: decimal magnitude over 38 digits", ErrBadValue)
	}
	if sign == 0 {
		v.Neg(v)
	}
	return Decimal{Unscaled: v, Scale: int(scale)}, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

var maxDecimal = new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil),
	big.NewInt(1))

// decodeUTF16 decodes UTF-16LE text. An unpaired surrogate becomes U+FFFD.
func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: UTF-16 text of odd length %d", ErrBadValue, len(b))
	}
	// Most text is ASCII: narrow it straight into the string's bytes
	// (narrowASCII), far cheaper than building it rune by rune.
	n := len(b) / 2
	buf := make([]byte, n)
	if i := narrowASCII(buf, b); i < n {
		return decodeUTF16From(b, buf[:i]), nil
	}
	// buf is not written again, so the string may own it.
	return unsafe.String(unsafe.SliceData(buf), n), nil
}

// decodeUTF16From decodes b, whose first len(ascii) code units were the
// ASCII bytes ascii, rune by rune.
func decodeUTF16From(b, ascii []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) / 2)
	sb.Write(ascii)
	for i := 2 * len(ascii); i < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case u < utf8.RuneSelf:
			sb.WriteByte(byte(u))
			continue
		case utf16.IsSurrogate(u) && u < 0xdc00 && i+3 < len(b):
			if lo := rune(b[i+2]) | rune(b[i+3])<<8; lo >= 0xdc00 && lo < 0xe000 {
				sb.WriteRune(utf16.DecodeRune(u, lo))
				i += 2
				continue
			}
			u = utf8.RuneError
		case utf16.IsSurrogate(u):
			u = utf8.RuneError
		}
		sb.WriteRune(u)
	}
	return sb.String()
}
