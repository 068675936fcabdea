package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// tkind is how a target column's values are checked and written.
type tkind int

const (
	tOther tkind = iota // only in text COPY, from the value's text form
	tBool
	tInt2
	tInt4
	tInt8
	tFloat4
	tFloat8
	tNumeric
	tText // text, varchar, bpchar, name, json, xml, enums
	tJSONB
	tBytea
	tDate
	tTime
	tTimestamp
	tTimestamptz
	tUUID
)

// targetCol is one data column of a table being loaded.
type targetCol struct {
	name   string
	kind   tkind
	oid    uint32
	length int  // characters for varchar(n)/char(n); 0 means unlimited
	padded bool // character(n): stored padded with spaces to length
	prec   int  // numeric precision; 0 means unconstrained
	scale  int
	// datetime values carry 1/300 s ticks already rounded to the
	// millisecond by the reader; nothing more to do for them here.
}

func targetKind(oid uint32, typtype byte) tkind {
	if typtype == 'e' {
		return tText
	}
	switch oid {
	case oidBool:
		return tBool
	case oidInt2:
		return tInt2
	case oidInt4:
		return tInt4
	case oidInt8:
		return tInt8
	case oidFloat4:
		return tFloat4
	case oidFloat8:
		return tFloat8
	case oidNumeric:
		return tNumeric
	case oidText, oidVarchar, oidBpchar, oidName, oidJSON, oidXML:
		return tText
	case oidJSONB:
		return tJSONB
	case oidBytea:
		return tBytea
	case oidDate:
		return tDate
	case oidTime:
		return tTime
	case oidTimestamp:
		return tTimestamp
	case oidTimestamptz:
		return tTimestamptz
	case oidUUID:
		return tUUID
	}
	return tOther
}

// lossyError marks a value that only a documented lossy mapping may
// change.
type lossyError struct{ msg string }

func (e *lossyError) Error() string {
	return e.msg + " (the lossy import option, engine.Config.Lossy, allows this documented mapping)"
}

func (e *lossyError) Unwrap() error { return engine.ErrLossy }

// convert checks v against the column and returns its canonical form:
// bool, int64, float32, float64, bacpac.Decimal, string, []byte,
// int32 (date: days since 2000-01-01), int64 (time: µs since midnight;
// timestamps: µs since 2000-01-01) or [16]byte.
func (c *targetCol) convert(v any, lossy bool) (any, error) {
	switch c.kind {
	case tBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
	case tInt2, tInt4, tInt8:
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if c.kind == tInt2 {
			lo, hi = math.MinInt16, math.MaxInt16
		} else if c.kind == tInt4 {
			lo, hi = math.MinInt32, math.MaxInt32
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("%d does not fit the column's %d-byte integer", n,
				map[tkind]int{tInt2: 2, tInt4: 4, tInt8: 8}[c.kind])
		}
		return n, nil
	case tFloat4:
		switch x := v.(type) {
		case float32:
			return x, nil
		case float64:
			if f := float32(x); float64(f) == x || math.IsNaN(x) {
				return f, nil
			}
			return nil, fmt.Errorf("float %v does not fit real exactly", x)
		case int64:
			if f := float32(x); int64(f) == x {
				return f, nil
			}
		}
	case tFloat8:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			if f := float64(x); int64(f) == x {
				return f, nil
			}
		}
	case tNumeric:
		return c.convertNumeric(v)
	case tText, tJSONB:
		s, ok := v.(string)
		if !ok {
			s, ok = textForm(v)
			if !ok {
				break
			}
		}
		return c.checkString(s)
	case tOther:
		s, ok := textForm(v)
		if !ok {
			break
		}
		return c.checkString(s)
	case tBytea:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case bacpac.Variant:
			return []byte(x), nil
		}
	case tDate:
		switch x := v.(type) {
		case bacpac.Date:
			return daysSince2000(x.Time()), nil
		case time.Time:
			y, m, d := x.Date()
			if x.Hour() != 0 || x.Minute() != 0 || x.Second() != 0 || x.Nanosecond() != 0 {
				return nil, fmt.Errorf("timestamp %s has a time of day a date cannot hold", x)
			}
			return daysSince2000(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)), nil
		}
	case tTime:
		if x, ok := v.(bacpac.TimeOfDay); ok {
			d := time.Duration(x)
			if d%time.Microsecond != 0 {
				if !lossy {
					return nil, &lossyError{fmt.Sprintf("time %s has sub-microsecond digits", x)}
				}
				// Truncated, not rounded: 23:59:59.9999999 must not
				// become 24:00:00, which no SQL Server time holds.
				d = d.Truncate(time.Microsecond)
			}
			return int64(d / time.Microsecond), nil
		}
	case tTimestamp, tTimestamptz:
		if x, ok := v.(time.Time); ok {
			return c.convertTime(x, lossy)
		}
	case tUUID:
		switch x := v.(type) {
		case bacpac.UUID:
			return [16]byte(x), nil
		case string:
			var u [16]byte
			h := strings.ReplaceAll(x, "-", "")
			if n, err := hex.Decode(u[:], []byte(h)); err == nil && n == 16 && len(h) == 32 {
				return u, nil
			}
		}
	}
	return nil, fmt.Errorf("a %T value cannot be stored in this column", v)
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case bacpac.Decimal:
		d, exact := x.Rescale(0)
		if exact && d.Unscaled.IsInt64() {
			return d.Unscaled.Int64(), nil
		}
		return 0, fmt.Errorf("decimal %s is not an integer", x)
	}
	return 0, fmt.Errorf("a %T value cannot be stored in an integer column", v)
}

func (c *targetCol) convertNumeric(v any) (any, error) {
	var d bacpac.Decimal
	switch x := v.(type) {
	case bacpac.Decimal:
		d = x
	case int64:
		d = bacpac.NewDecimal(x, 0)
	case bool:
		d = bacpac.NewDecimal(map[bool]int64{false: 0, true: 1}[x], 0)
	default:
		return nil, fmt.Errorf("a %T value cannot be stored in a numeric column", v)
	}
	if d.Unscaled == nil {
		d.Unscaled = new(big.Int)
	}
	if c.prec == 0 {
		return d, nil
	}
	out, exact := d.Rescale(c.scale)
	if !exact {
		return nil, fmt.Errorf("decimal %s has more than %d fractional digits", d, c.scale)
	}
	if out.Unscaled.Sign() != 0 && out.Digits() > c.prec {
		return nil, fmt.Errorf("decimal %s needs more than numeric(%d,%d) holds", d, c.prec, c.scale)
	}
	return out, nil
}

func (c *targetCol) checkString(s string) (any, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, errors.New("text with a NUL character cannot be stored in PostgreSQL")
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("text is not valid UTF-8")
	}
	// A CHAR value's trailing spaces are dropped: PostgreSQL pads the
	// value to the column's length when it stores it, so they change
	// nothing stored, and pgbench's 84-character filler sent unpadded
	// saves 420 MB of COPY traffic on 5 M rows (bench/).
	if c.padded {
		s = strings.TrimRight(s, " ")
	}
	// A string of no more bytes than the column has characters fits
	// without counting them, as most strings do.
	if c.length > 0 && len(s) > c.length {
		if n := utf8.RuneCountInString(s); n > c.length {
			return nil, fmt.Errorf("text of %d characters is longer than the column's %d", n, c.length)
		}
	}
	return s, nil
}

// convertTime returns µs since 2000-01-01: for timestamp the wall clock,
// for timestamptz the instant. An offset other than zero into timestamptz
// drops the offset, which only the lossy mapping allows.
func (c *targetCol) convertTime(t time.Time, lossy bool) (any, error) {
	if c.kind == tTimestamptz {
		if _, off := t.Zone(); off != 0 && !lossy {
			return nil, &lossyError{fmt.Sprintf(
				"timestamptz keeps no offset; %s would be stored as %s",
				t.Format(time.RFC3339Nano), t.UTC().Format(time.RFC3339Nano))}
		}
		t = t.UTC()
	} else {
		y, mo, d := t.Date()
		t = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	if t.Nanosecond()%1000 != 0 {
		if !lossy {
			return nil, &lossyError{fmt.Sprintf("%s has sub-microsecond digits",
				t.Format(time.RFC3339Nano))}
		}
		t = t.Truncate(time.Microsecond) // as for time: never past 9999-12-31
	}
	return t.UnixMicro() - pgEpochUnixMicros, nil
}

// textForm renders a value in the text form PostgreSQL input functions
// accept.
func textForm(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	case float32:
		return formatFloat(float64(x), 32), true
	case float64:
		return formatFloat(x, 64), true
	case bacpac.Decimal:
		return x.String(), true
	case bacpac.Date:
		return x.String(), true
	case bacpac.TimeOfDay:
		return time.Time{}.Add(time.Duration(x)).Format("15:04:05.999999999"), true
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999999Z07:00"), true
	case bacpac.UUID:
		return strings.ToLower(x.String()), true
	}
	return "", false
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// appendBinary appends the binary COPY form (length word and bytes) of a
// canonical value.
func appendBinary(buf []byte, k tkind, v any) []byte {
	switch k {
	case tBool:
		b := byte(0)
		if v.(bool) {
			b = 1
		}
		return append(binary.BigEndian.AppendUint32(buf, 1), b)
	case tInt2:
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32(buf, 2),
			uint16(v.(int64)))
	case tInt4:
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4),
			uint32(v.(int64)))
	case tInt8, tTime, tTimestamp, tTimestamptz:
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8),
			uint64(v.(int64)))
	case tFloat4:
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4),
			math.Float32bits(v.(float32)))
	case tFloat8:
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8),
			math.Float64bits(v.(float64)))
	case tNumeric:
		return appendNumeric(buf, v.(bacpac.Decimal))
	case tText:
		s := v.(string)
		return append(binary.BigEndian.AppendUint32(buf, uint32(len(s))), s...)
	case tJSONB:
		s := v.(string)
		return append(binary.BigEndian.AppendUint32(buf, uint32(len(s)+1)), append([]byte{1}, s...)...)
	case tBytea:
		b := v.([]byte)
		return append(binary.BigEndian.AppendUint32(buf, uint32(len(b))), b...)
	case tDate:
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4),
			uint32(v.(int32)))
	case tUUID:
		u := v.([16]byte)
		return append(binary.BigEndian.AppendUint32(buf, 16), u[:]...)
	}
	panic("postgres: no binary form for column kind " + strconv.Itoa(int(k)))
}

// appendNumeric writes a decimal in PostgreSQL's base-10000 form.
func appendNumeric(buf []byte, d bacpac.Decimal) []byte {
	if d.Scale < 0 {
		d, _ = d.Rescale(0)
	}
	digits := new(big.Int).Abs(d.Unscaled).String()
	sign := uint16(numericPos)
	if d.Unscaled.Sign() < 0 {
		sign = numericNeg
	}
	if len(digits) <= d.Scale {
		digits = strings.Repeat("0", d.Scale-len(digits)+1) + digits
	}
	intPart, frac := digits[:len(digits)-d.Scale], digits[len(digits)-d.Scale:]
	if pad := (4 - len(intPart)%4) % 4; pad > 0 {
		intPart = strings.Repeat("0", pad) + intPart
	}
	if pad := (4 - len(frac)%4) % 4; pad > 0 {
		frac += strings.Repeat("0", pad)
	}
	all := intPart + frac
	groups := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		g, _ := strconv.Atoi(all[i : i+4])
		groups = append(groups, uint16(g))
	}
	return appendNumericGroups(buf, groups, len(intPart)/4-1, sign, d.Scale)
}

// appendNumericGroups writes a binary numeric from its base-10000 groups,
// the first of weight weight, dropping leading and trailing zero groups.
func appendNumericGroups(buf []byte, groups []uint16, weight int, sign uint16, scale int) []byte {
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	if len(groups) == 0 {
		weight = 0
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*len(groups)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(groups)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, g := range groups {
		buf = binary.BigEndian.AppendUint16(buf, g)
	}
	return buf
}

// appendText appends the text COPY form of a canonical value, escaped.
func appendText(buf []byte, k tkind, v any) []byte {
	var s string
	switch k {
	case tBool:
		s = map[bool]string{false: "f", true: "t"}[v.(bool)]
	case tInt2, tInt4, tInt8:
		return strconv.AppendInt(buf, v.(int64), 10)
	case tFloat4:
		s = formatFloat(float64(v.(float32)), 32)
	case tFloat8:
		s = formatFloat(v.(float64), 64)
	case tNumeric:
		s = v.(bacpac.Decimal).String()
	case tText, tJSONB, tOther:
		s = v.(string)
	case tBytea:
		buf = append(buf, `\\x`...)
		return hex.AppendEncode(buf, v.([]byte))
	case tDate:
		s = pgEpoch.AddDate(0, 0, int(v.(int32))).Format("2006-01-02")
	case tTime:
		s = time.Time{}.Add(time.Duration(v.(int64)) * time.Microsecond).Format("15:04:05.999999")
	case tTimestamp:
		s = time.UnixMicro(v.(int64) + pgEpochUnixMicros).UTC().Format("2006-01-02 15:04:05.999999")
	case tTimestamptz:
		s = time.UnixMicro(v.(int64)+pgEpochUnixMicros).UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	case tUUID:
		u := v.([16]byte)
		s = strings.ToLower(bacpac.UUID(u).String())
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// daysSince2000 counts days from PostgreSQL's epoch to midnight t (UTC);
// a time.Duration would overflow across the years SQL Server allows.
func daysSince2000(t time.Time) int32 {
	return int32((t.Unix() - pgEpoch.Unix()) / 86400)
}
