package sqlite

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

var errUnsupportedType = errors.New("type has no SQLite mapping")

// readValue turns a value as SQLite stores it (int64, float64, string,
// []byte or nil) into the row value of the column's SQL Server type. A
// value that does not fit fails: SQLite is dynamically typed, and bacport
// never guesses (see the package doc).
type readValue func(v any) (any, error)

func reader(c *bacpac.Column) readValue {
	declared, _ := engine.SourceType(c, Name)
	t := c.Type
	switch t.Name {
	case "tinyint":
		return intReader(0, 255)
	case "smallint":
		return intReader(math.MinInt16, math.MaxInt16)
	case "int":
		return intReader(math.MinInt32, math.MaxInt32)
	case "bigint":
		return intReader(math.MinInt64, math.MaxInt64)
	case "bit":
		return func(v any) (any, error) {
			if n, ok := v.(int64); ok && (n == 0 || n == 1) {
				return n == 1, nil
			}
			return nil, mismatch(v, "0 or 1")
		}
	case "decimal", "numeric", "money", "smallmoney":
		return decimalReader(t.Precision, t.Scale)
	case "float":
		return func(v any) (any, error) { return toFloat(v) }
	case "real":
		return func(v any) (any, error) {
			f, err := toFloat(v)
			if err != nil {
				return nil, err
			}
			if float64(float32(f)) != f && !math.IsNaN(f) {
				return nil, fmt.Errorf("%v does not fit a 4-byte real exactly", f)
			}
			return float32(f), nil
		}
	case "nvarchar", "nchar", "varchar", "char", "ntext", "text", "xml":
		limit := t.Length
		if t.Max || t.Name == "ntext" || t.Name == "text" || t.Name == "xml" {
			limit = 0
		}
		return textReader(limit)
	case "varbinary", "binary", "image", "geography", "geometry", "hierarchyid":
		limit := t.Length
		if t.Max || t.Name != "varbinary" && t.Name != "binary" {
			limit = 0
		}
		return blobReader(limit, t.Name == "binary")
	case "date":
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, mismatch(v, "date text YYYY-MM-DD")
			}
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				return nil, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
			}
			return bacpac.DateOf(d), nil
		}
	case "time":
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, mismatch(v, "time text HH:MM:SS[.fffffff]")
			}
			return parseTimeOfDay(s, t.Scale)
		}
	case "datetime2", "datetime", "smalldatetime":
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, mismatch(v, "date-time text YYYY-MM-DD HH:MM:SS[.fffffff]")
			}
			tm, err := parseDateTime(s, false)
			if err != nil {
				return nil, err
			}
			if t.Name == "datetime2" && fractionDigits(tm) > t.Scale {
				return nil, fmt.Errorf("%q has more fractional digits than datetime2(%d)", s, t.Scale)
			}
			return tm, nil
		}
	case "datetimeoffset":
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, mismatch(v, "text YYYY-MM-DD HH:MM:SS[.fffffff]+HH:MM")
			}
			return parseDateTime(s, true)
		}
	case "uniqueidentifier":
		return func(v any) (any, error) { return toUUID(v) }
	case "sql_variant":
		if strings.EqualFold(strings.TrimSpace(declared), "SQL_VARIANT") {
			// A column bacport created from SQL Server keeps the variant's
			// own bytes; values written by hand are wrapped.
			return func(v any) (any, error) {
				if b, ok := v.([]byte); ok {
					return bacpac.Variant(b), nil
				}
				return engine.EncodeVariant(v)
			}
		}
		return func(v any) (any, error) { return engine.EncodeVariant(v) }
	}
	return func(v any) (any, error) {
		return nil, fmt.Errorf("read %s: %w", t.Name, errUnsupportedType)
	}
}

func mismatch(v any, want string) error {
	return fmt.Errorf("stored %s %s, want %s", storageClass(v), preview(v), want)
}

func storageClass(v any) string {
	switch v.(type) {
	case int64:
		return "INTEGER"
	case float64:
		return "REAL"
	case string:
		return "TEXT"
	case []byte:
		return "BLOB"
	}
	return fmt.Sprintf("%T", v)
}

// preview shows a short form of a value for an error; never a whole blob.
func preview(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("of %d bytes", len(x))
	}
	return fmt.Sprint(v)
}

func intReader(lo, hi int64) readValue {
	return func(v any) (any, error) {
		n, ok := v.(int64)
		if !ok {
			return nil, mismatch(v, "an integer")
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("integer %d is outside %d…%d", n, lo, hi)
		}
		return n, nil
	}
}

func decimalReader(p, s int) readValue {
	return func(v any) (any, error) {
		var d bacpac.Decimal
		var err error
		switch x := v.(type) {
		case int64:
			d = bacpac.Decimal{Unscaled: big.NewInt(x)}
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%v is not a decimal number", x)
			}
			d, err = bacpac.ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			d, err = bacpac.ParseDecimal(strings.TrimSpace(x))
		default:
			return nil, mismatch(v, "a decimal number")
		}
		if err != nil {
			return nil, err
		}
		r, exact := d.Rescale(s)
		if !exact {
			return nil, fmt.Errorf("%s has more than %d fractional digits", d, s)
		}
		if r.Digits() > p {
			return nil, fmt.Errorf("%s needs more than %d digits", d, p)
		}
		return r, nil
	}
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		// Infinities pass: the package writer refuses them naming the
		// row, unless a lossy export writes NULL instead.
		return x, nil
	case int64:
		f := float64(x)
		if f >= 0x1p63 || int64(f) != x {
			return 0, fmt.Errorf("integer %d has no exact float value", x)
		}
		return f, nil
	}
	return 0, mismatch(v, "a number")
}

func textReader(limit int) readValue {
	return func(v any) (any, error) {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			return nil, mismatch(v, "text")
		}
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("text is not valid UTF-8")
		}
		if limit > 0 {
			if n := utf16Len(s); n > limit {
				return nil, fmt.Errorf("text of %d characters exceeds the declared length %d", n, limit)
			}
		}
		return s, nil
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func blobReader(limit int, fixed bool) readValue {
	return func(v any) (any, error) {
		b, ok := v.([]byte)
		if !ok {
			return nil, mismatch(v, "a blob")
		}
		if b == nil {
			b = []byte{} // the driver reads an empty blob as nil
		}
		if limit > 0 && len(b) > limit {
			return nil, fmt.Errorf("blob of %d bytes exceeds the declared length %d", len(b), limit)
		}
		if fixed && len(b) != limit {
			return nil, fmt.Errorf("blob of %d bytes in a binary(%d) column", len(b), limit)
		}
		return b, nil
	}
}

// parseTimeOfDay reads HH:MM[:SS[.fffffff]].
func parseTimeOfDay(s string, scale int) (bacpac.TimeOfDay, error) {
	tm, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		tm, err = time.Parse("15:04", s)
	}
	if err != nil {
		return 0, fmt.Errorf("parse time %q: want HH:MM:SS[.fffffff]", s)
	}
	if fractionDigits(tm) > scale {
		return 0, fmt.Errorf("time %q has more fractional digits than time(%d)", s, scale)
	}
	d := time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute +
		time.Duration(tm.Second())*time.Second + time.Duration(tm.Nanosecond())
	return bacpac.TimeOfDay(d), nil
}

// fractionDigits is how many fractional-second digits t needs (0…9).
func fractionDigits(t time.Time) int {
	ns := t.Nanosecond()
	if ns == 0 {
		return 0
	}
	n := 9
	for ns%10 == 0 {
		ns /= 10
		n--
	}
	return n
}

// parseDateTime reads the date-time text forms SQLite's date functions
// use: "YYYY-MM-DD HH:MM[:SS[.f…]]", with T for the space, and a "Z" or
// ±HH:MM suffix. A plain date reads as midnight. With offset, a suffix is
// required and kept as the value's zone; without, a suffix is refused,
// since the column holds wall-clock times.
func parseDateTime(s string, offset bool) (time.Time, error) {
	text := strings.Replace(strings.TrimSpace(s), "T", " ", 1)
	body, zone := text, ""
	if len(text) > 10 {
		if strings.HasSuffix(text, "Z") {
			body, zone = text[:len(text)-1], "+00:00"
		} else if i := strings.LastIndexAny(text[10:], "+-"); i >= 0 {
			body, zone = strings.TrimSpace(text[:10+i]), text[10+i:]
		}
	}
	var tm time.Time
	var err error
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if tm, err = time.Parse(layout, body); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("parse date-time %q: want YYYY-MM-DD HH:MM:SS[.fffffff]", s)
	}
	switch {
	case offset && zone == "":
		return time.Time{}, fmt.Errorf("date-time %q has no offset (want ±HH:MM)", s)
	case !offset && zone != "":
		return time.Time{}, fmt.Errorf("date-time %q carries an offset in a column without time zone", s)
	case !offset:
		return tm, nil
	}
	z, err := time.Parse("-07:00", zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse offset of %q: want ±HH:MM", s)
	}
	_, off := z.Zone()
	loc := time.FixedZone("", off)
	return time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(),
		tm.Nanosecond(), loc), nil
}

func toUUID(v any) (bacpac.UUID, error) {
	var u bacpac.UUID
	switch x := v.(type) {
	case []byte:
		if len(x) != 16 {
			return u, fmt.Errorf("uuid blob of %d bytes, want 16", len(x))
		}
		copy(u[:], x)
		return u, nil
	case string:
		h := strings.ReplaceAll(strings.Trim(x, "{}"), "-", "")
		if len(h) != 32 {
			return u, fmt.Errorf("parse uuid %q", x)
		}
		if _, err := hex.Decode(u[:], []byte(h)); err != nil {
			return u, fmt.Errorf("parse uuid %q", x)
		}
		return u, nil
	}
	return u, mismatch(v, "uuid text or a 16-byte blob")
}
