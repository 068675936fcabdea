package mysql

import (
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

// textLimit and blobLimit are the byte limits of MySQL's TEXT and BLOB
// sizes; 0 is no limit worth checking (LONGTEXT, LONGBLOB).
var textLimit = map[string]int{"tinytext": 255, "text": 65535, "mediumtext": 16777215,
	"tinyblob": 255, "blob": 65535, "mediumblob": 16777215}

var errNoBinary = errors.New("binary value into a text column")

// checkText checks that a string fits the column.
func (cp *colPlan) checkText(s string) error {
	switch cp.t.base {
	case "char", "varchar":
		if utf8.RuneCountInString(s) > cp.maxLen {
			return fmt.Errorf("%d characters do not fit %s", utf8.RuneCountInString(s), cp.desc())
		}
	case "tinytext", "text", "mediumtext":
		if cp.maxLen > 0 && utf8.RuneCountInString(s) > cp.maxLen {
			return fmt.Errorf("%d characters do not fit %s", utf8.RuneCountInString(s), cp.desc())
		}
		if len(s) > textLimit[cp.t.base] {
			return fmt.Errorf("%d bytes do not fit %s", len(s), cp.t.base)
		}
	case "longtext", "enum", "set", "json", "inet4", "inet6", "uuid":
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return cp.checkBytes([]byte(s))
	default:
		return fmt.Errorf("a string cannot be stored exactly in MySQL %s", cp.t.ddl)
	}
	return nil
}

// unpadded drops the trailing spaces of a CHAR column's value. MariaDB
// and MySQL pad CHAR values with spaces when they store them and strip
// them when they return them, so the spaces change nothing stored, but
// LOAD DATA parses each of them: pgbench's 84-character filler, sent
// padded, took a third of the server's CPU for its table (bench/).
func (cp *colPlan) unpadded(s string) string {
	if !cp.padded() {
		return s
	}
	return strings.TrimRight(s, " ")
}

// padded reports a CHAR column, whose values the server pads with spaces.
func (cp *colPlan) padded() bool { return cp.t.base == "char" }

// desc names the column's declared type for error messages.
func (cp *colPlan) desc() string {
	if cp.isExact {
		return cp.t.ddl
	}
	t := cp.src
	if t.Max {
		return t.Name + "(max)"
	}
	return t.Name + "(" + strconv.Itoa(t.Length) + ")"
}

// checkBytes checks that a binary value fits the column.
func (cp *colPlan) checkBytes(b []byte) error {
	switch cp.t.base {
	case "binary", "varbinary":
		if len(b) > cp.maxLen {
			return fmt.Errorf("%d bytes do not fit %s", len(b), cp.desc())
		}
	case "tinyblob", "blob", "mediumblob":
		if cp.maxLen > 0 && len(b) > cp.maxLen {
			return fmt.Errorf("%d bytes do not fit %s", len(b), cp.desc())
		}
		if len(b) > textLimit[cp.t.base] {
			return fmt.Errorf("%d bytes do not fit %s", len(b), cp.t.base)
		}
	case "longblob", "geometry", "point", "linestring", "polygon", "multipoint",
		"multilinestring", "multipolygon", "geometrycollection":
	case "bit":
		return errors.New("bit columns are written by format")
	default:
		return fmt.Errorf("a binary value cannot be stored exactly in MySQL %s", cp.t.ddl)
	}
	return nil
}

// intRange is the range of MySQL integer types: signed, then unsigned.
var intRange = map[string][2][2]*big.Int{}

func init() {
	for base, bits := range map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24,
		"int": 32, "bigint": 64} {
		one := big.NewInt(1)
		half := new(big.Int).Lsh(one, bits-1)
		full := new(big.Int).Lsh(one, bits)
		intRange[base] = [2][2]*big.Int{
			{new(big.Int).Neg(half), new(big.Int).Sub(half, one)},
			{big.NewInt(0), new(big.Int).Sub(full, one)},
		}
	}
}

// format writes a non-string, non-binary value as LOAD DATA text, failing
// when the column cannot hold it exactly.
func (cp *colPlan) format(dst []byte, v any, s *settings) ([]byte, error) {
	switch cp.t.base {
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		// The common case, an int64 in range, without big.Int.
		if x, ok := v.(int64); ok && intFits(x, cp.t.base, cp.t.unsigned) {
			return strconv.AppendInt(dst, x, 10), nil
		}
		n, err := asInt(v)
		if err != nil {
			return dst, err
		}
		r := intRange[cp.t.base][0]
		if cp.t.unsigned {
			r = intRange[cp.t.base][1]
		}
		if n.Cmp(r[0]) < 0 || n.Cmp(r[1]) > 0 {
			return dst, fmt.Errorf("%s is out of range for %s", n, cp.t.ddl)
		}
		return n.Append(dst, 10), nil
	case "year":
		n, ok := v.(int64)
		if !ok || (n != 0 && (n < 1901 || n > 2155)) {
			return dst, fmt.Errorf("%v does not fit year", v)
		}
		// A bare "0" would load as 2000; four digits are read literally.
		return appendPad(dst, int(n), 4), nil
	case "bit":
		return cp.formatBit(dst, v)
	case "decimal":
		return cp.formatDecimal(dst, v)
	case "float", "double":
		return cp.formatFloat(dst, v)
	case "date":
		d, ok := v.(bacpac.Date)
		if !ok {
			return dst, fmt.Errorf("%T cannot be stored exactly in MySQL date", v)
		}
		return appendDate(dst, d.Year, int(d.Month), d.Day), nil
	case "datetime", "timestamp":
		return cp.formatDateTime(dst, v, s)
	case "time":
		t, ok := v.(bacpac.TimeOfDay)
		if !ok {
			return dst, fmt.Errorf("%T cannot be stored exactly in MySQL time", v)
		}
		d := time.Duration(t)
		if s.truncate && !cp.isExact {
			d = d.Truncate(time.Microsecond)
		}
		if err := cp.fitsFraction(int(d%time.Second), s); err != nil {
			return dst, fmt.Errorf("%s: %w", t, err)
		}
		dst = appendClock(dst, int(d/time.Hour), int(d/time.Minute%60), int(d/time.Second%60))
		return appendFrac(dst, int(d%time.Second), cp.t.fraction()), nil
	case "uuid", "char", "varchar":
		if s, ok := v.(string); ok && cp.t.base == "uuid" {
			return append(dst, s...), nil
		}
		u, ok := v.(bacpac.UUID)
		if !ok {
			return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
		}
		if cp.t.base != "uuid" && cp.maxLen < 36 {
			return dst, fmt.Errorf("a uniqueidentifier does not fit %s", cp.desc())
		}
		return appendUUID(dst, u), nil
	}
	return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
}

// intFits reports whether x is in the range of MySQL integer type base.
func intFits(x int64, base string, unsigned bool) bool {
	bits := 64
	switch base {
	case "tinyint":
		bits = 8
	case "smallint":
		bits = 16
	case "mediumint":
		bits = 24
	case "int":
		bits = 32
	}
	if unsigned {
		return x >= 0 && (bits == 64 || x>>bits == 0)
	}
	return bits == 64 || (x >= -(1<<(bits-1)) && x < 1<<(bits-1))
}

func asInt(v any) (*big.Int, error) {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x), nil
	case bool:
		if x {
			return big.NewInt(1), nil
		}
		return big.NewInt(0), nil
	case bacpac.Decimal:
		d, exact := x.Rescale(0)
		if !exact {
			return nil, fmt.Errorf("%s is not a whole number", x)
		}
		return d.Unscaled, nil
	}
	return nil, fmt.Errorf("%T cannot be stored exactly in an integer column", v)
}

func (cp *colPlan) formatBit(dst []byte, v any) ([]byte, error) {
	var n uint64
	switch x := v.(type) {
	case bool:
		if x {
			n = 1
		}
	case int64:
		if x < 0 {
			return dst, fmt.Errorf("%d is negative", x)
		}
		n = uint64(x)
	case []byte:
		for i, b := range x {
			if len(x)-i > 8 && b != 0 {
				return dst, fmt.Errorf("%d bytes do not fit %s", len(x), cp.t.ddl)
			}
			n = n<<8 | uint64(b)
		}
	default:
		return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
	}
	if width := cp.t.arg(0, 1); width < 64 && n>>uint(width) != 0 {
		return dst, fmt.Errorf("%d does not fit %s", n, cp.t.ddl)
	}
	return strconv.AppendUint(dst, n, 10), nil
}

func (cp *colPlan) formatDecimal(dst []byte, v any) ([]byte, error) {
	var d bacpac.Decimal
	switch x := v.(type) {
	case bacpac.Decimal:
		d = x
	case int64:
		d = bacpac.NewDecimal(x, 0)
	case string:
		var err error
		if d, err = bacpac.ParseDecimal(x); err != nil {
			return dst, err
		}
	default:
		return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
	}
	p, s := cp.t.arg(0, 10), cp.t.arg(1, 0)
	if out, ok := appendDecimal64(dst, d, p, s, cp.t.unsigned); ok {
		return out, nil
	}
	r, exact := d.Rescale(s)
	if !exact {
		return dst, fmt.Errorf("%s has more than %d decimal places for %s", d, s, cp.t.ddl)
	}
	if r.Digits() > p {
		return dst, fmt.Errorf("%s needs more than %d digits for %s", d, p, cp.t.ddl)
	}
	if cp.t.unsigned && r.Unscaled.Sign() < 0 {
		return dst, fmt.Errorf("%s is negative for %s", d, cp.t.ddl)
	}
	return append(dst, r.String()...), nil
}

// appendDecimal64 is formatDecimal's fast path for a value already at the
// column's scale whose unscaled value fits an int64, as nearly all do: it
// writes what Decimal.String would, without big.Int arithmetic. It reports
// false, writing nothing, for anything else, including values that do not
// fit, which the exact path then rejects with its message.
func appendDecimal64(dst []byte, d bacpac.Decimal, precision, scale int, unsigned bool) ([]byte, bool) {
	if d.Unscaled == nil || d.Scale != scale || scale < 0 || !d.Unscaled.IsInt64() {
		return dst, false
	}
	u := d.Unscaled.Int64()
	abs := uint64(u)
	if u < 0 {
		abs = uint64(-u)
	}
	return appendUnscaled(dst, u < 0, abs, precision, scale, unsigned)
}

// appendUnscaled writes ±abs / 10^scale as Decimal.String would, or
// reports false, writing nothing, when it has more than precision digits
// or is negative for an unsigned column.
func appendUnscaled(dst []byte, neg bool, abs uint64, precision, scale int, unsigned bool) ([]byte, bool) {
	if unsigned && neg {
		return dst, false
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], abs, 10)
	if len(digits) > precision {
		return dst, false
	}
	if neg {
		dst = append(dst, '-')
	}
	if scale == 0 {
		return append(dst, digits...), true
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...), true
	}
	cut := len(digits) - scale
	dst = append(dst, digits[:cut]...)
	dst = append(dst, '.')
	return append(dst, digits[cut:]...), true
}

func (cp *colPlan) formatFloat(dst []byte, v any) ([]byte, error) {
	var f float64
	single := false
	switch x := v.(type) {
	case float32:
		f, single = float64(x), true
	case float64:
		f = x
	case int64:
		f = float64(x)
		if int64(f) != x {
			return dst, fmt.Errorf("%d cannot be stored exactly in %s", x, cp.t.ddl)
		}
	default:
		return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
	}
	if cp.t.base == "float" {
		if !single && !math.IsNaN(f) && float64(float32(f)) != f {
			return dst, fmt.Errorf("%v cannot be stored exactly in a 4-byte float", f)
		}
		// The shortest double form of the widened float: MySQL parses it as
		// a double and rounds to exactly the same float.
	}
	return appendFloat(dst, f, 64)
}

// Bounds of MySQL's TIMESTAMP type.
var (
	minTimestamp = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)
	maxTimestamp = time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC)
)

func (cp *colPlan) formatDateTime(dst []byte, v any, s *settings) ([]byte, error) {
	t, ok := v.(time.Time)
	if !ok {
		return dst, fmt.Errorf("%T cannot be stored exactly in MySQL %s", v, cp.t.ddl)
	}
	switch {
	case cp.t.base == "timestamp":
		// TIMESTAMP holds an instant; the session time zone is UTC.
		t = t.UTC()
		if t.Before(minTimestamp) || !t.Before(maxTimestamp) {
			return dst, fmt.Errorf("%s is outside the TIMESTAMP range", t.Format(time.RFC3339Nano))
		}
	case cp.src.Name == "datetimeoffset":
		if _, off := t.Zone(); off != 0 && !s.offsetToUTC {
			return dst, lossyError{fmt.Errorf("%s: MySQL datetime cannot keep the offset; "+
				"the DSN option datetimeoffset=utc or the lossy import option "+
				"(engine.Config.Lossy) stores the UTC instant instead",
				t.Format("2006-01-02 15:04:05.9999999 -07:00"))}
		}
		t = t.UTC()
	case cp.src.Name == "datetime" && !cp.isExact:
		// SQL Server's datetime counts 1/300 s and shows milliseconds.
		t = t.Round(time.Millisecond)
	}
	if s.truncate && !cp.isExact {
		t = t.Truncate(time.Microsecond)
	}
	if err := cp.fitsFraction(t.Nanosecond(), s); err != nil {
		return dst, fmt.Errorf("%s: %w", t.Format("2006-01-02 15:04:05.999999999"), err)
	}
	if t.Year() < 0 || t.Year() > 9999 {
		return dst, fmt.Errorf("year %d is outside MySQL's range", t.Year())
	}
	dst = appendDate(dst, t.Year(), int(t.Month()), t.Day())
	dst = append(dst, ' ')
	dst = appendClock(dst, t.Hour(), t.Minute(), t.Second())
	return appendFrac(dst, t.Nanosecond(), cp.t.fraction()), nil
}

// lossyError marks a value that one of the documented lossy mappings
// would accept, so callers can tell (engine.ErrLossy).
type lossyError struct{ error }

func (e lossyError) Unwrap() []error { return []error{e.error, engine.ErrLossy} }

// fitsFraction checks a time's nanoseconds against the column's digits.
// When dropping the 100-nanosecond digit alone would make the value fit,
// the error says that the lossy mapping exists.
func (cp *colPlan) fitsFraction(ns int, s *settings) error {
	err := fits(ns, cp.t.fraction())
	if err != nil && !cp.isExact && !s.truncate && fits(ns-ns%1000, cp.t.fraction()) == nil {
		return lossyError{fmt.Errorf("%w; the DSN option fraction=truncate or the lossy "+
			"import option (engine.Config.Lossy) drops the 100 ns digit", err)}
	}
	return err
}

// fits checks that ns has no digits past the column's fractional digits.
func fits(ns, digits int) error {
	unit := 1
	for range 9 - digits {
		unit *= 10
	}
	if ns%unit != 0 {
		return fmt.Errorf("fractional seconds .%09d need more than %d digits", ns, digits)
	}
	return nil
}

func appendPad(dst []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func appendDate(dst []byte, y, m, d int) []byte {
	dst = appendPad(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPad(dst, m, 2)
	dst = append(dst, '-')
	return appendPad(dst, d, 2)
}

func appendClock(dst []byte, h, m, s int) []byte {
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, m, 2)
	dst = append(dst, ':')
	return appendPad(dst, s, 2)
}

func appendFrac(dst []byte, ns, digits int) []byte {
	if digits == 0 {
		return dst
	}
	dst = append(dst, '.')
	return appendPad(dst, ns, 9)[:len(dst)+digits]
}
