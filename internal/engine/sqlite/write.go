package sqlite

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// writeValue turns a row value into what SQLite stores for the column.
type writeValue func(v any) (any, error)

// writer chooses the conversion for a column. sameEngine is set when the
// column came from SQLite, so text forms follow SQLite's habits (no
// padding of fractions) rather than SQL Server's.
func writer(c *bacpac.Column, declared string, sameEngine bool) writeValue {
	textual := affinity(declared) == "TEXT"
	switch c.Type.Name {
	case "decimal", "numeric", "money", "smallmoney":
		return func(v any) (any, error) {
			d, ok := v.(bacpac.Decimal)
			if !ok {
				return nil, fmt.Errorf("got %T for a decimal", v)
			}
			if !textual && d.Scale == 0 && d.Unscaled.IsInt64() {
				return d.Unscaled.Int64(), nil
			}
			if !textual && significantDigits(d) > maxNumericDigits {
				return nil, fmt.Errorf("decimal %s has more than %d digits, which SQLite's NUMERIC affinity would round", d, maxNumericDigits)
			}
			// SQLite's NUMERIC affinity turns the text into an INTEGER
			// or REAL; within 15 digits that is exact.
			return d.String(), nil
		}
	case "sql_variant":
		if strings.EqualFold(strings.TrimSpace(declared), "SQL_VARIANT") {
			return func(v any) (any, error) {
				if x, ok := v.(bacpac.Variant); ok {
					return plainValue([]byte(x))
				}
				return nil, fmt.Errorf("got %T for a sql_variant", v)
			}
		}
		return func(v any) (any, error) {
			x, ok := v.(bacpac.Variant)
			if !ok {
				return nil, fmt.Errorf("got %T for a sql_variant", v)
			}
			val, err := x.Value()
			if err != nil {
				return nil, err
			}
			if d, ok := val.(bacpac.Decimal); ok {
				return d.String(), nil
			}
			return plainValue(val)
		}
	case "char", "nchar", "varchar", "nvarchar", "binary", "varbinary":
		// SQLite does not enforce declared lengths, but its export does;
		// a value past the length would make the database unexportable.
		if c.Type.Max || c.Type.Length <= 0 {
			break
		}
		limit, name := c.Type.Length, c.Type.Name
		return func(v any) (any, error) {
			switch x := v.(type) {
			case string:
				if n := utf16Len(x); n > limit {
					return nil, fmt.Errorf("text of %d characters is longer than %s(%d)", n, name, limit)
				}
			case []byte:
				if len(x) > limit {
					return nil, fmt.Errorf("%d bytes is longer than %s(%d)", len(x), name, limit)
				}
			}
			return plainValue(v)
		}
	case "time":
		scale := c.Type.Scale
		return func(v any) (any, error) {
			t, ok := v.(bacpac.TimeOfDay)
			if !ok {
				return nil, fmt.Errorf("got %T for a time", v)
			}
			tm := time.Time{}.Add(time.Duration(t))
			return formatClock(tm, scale, sameEngine), nil
		}
	case "date":
		return func(v any) (any, error) {
			d, ok := v.(bacpac.Date)
			if !ok {
				return nil, fmt.Errorf("got %T for a date", v)
			}
			return d.String(), nil
		}
	case "datetime", "datetime2", "smalldatetime", "datetimeoffset":
		scale := c.Type.Scale
		switch c.Type.Name {
		case "datetime":
			scale = 3
		case "smalldatetime":
			scale = 0
		}
		withZone := c.Type.Name == "datetimeoffset"
		return func(v any) (any, error) {
			t, ok := v.(time.Time)
			if !ok {
				return nil, fmt.Errorf("got %T for a date-time", v)
			}
			s := t.Format("2006-01-02 ") + formatClock(t, scale, sameEngine)
			if withZone {
				s += t.Format("-07:00")
			}
			return s, nil
		}
	}
	return plainValue
}

// plainValue maps the remaining row value types onto SQLite's.
func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, string:
		return v, nil
	case []byte:
		if x == nil {
			// A nil slice would bind as NULL.
			return []byte{}, nil
		}
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		if math.IsNaN(x) {
			return nil, fmt.Errorf("SQLite cannot store NaN (it becomes NULL)")
		}
		return x, nil
	case float32:
		if math.IsNaN(float64(x)) {
			return nil, fmt.Errorf("SQLite cannot store NaN (it becomes NULL)")
		}
		return float64(x), nil
	case bacpac.UUID:
		return x.String(), nil
	case bacpac.Decimal:
		return x.String(), nil
	case bacpac.Variant:
		return []byte(x), nil
	case bacpac.Date:
		return x.String(), nil
	case bacpac.TimeOfDay:
		return formatClock(time.Time{}.Add(time.Duration(x)), 7, true), nil
	case time.Time:
		s := x.Format("2006-01-02 ") + formatClock(x, 7, true)
		if x.Location() != time.UTC {
			s += x.Format("-07:00")
		}
		return s, nil
	}
	return nil, fmt.Errorf("no SQLite form for %T", v)
}

// formatClock formats the time of day of t with scale fractional digits
// (SQL Server's text form); for values that came from SQLite, trailing
// zeros of the fraction are dropped, as SQLite's own functions write them.
func formatClock(t time.Time, scale int, trim bool) string {
	s := t.Format("15:04:05")
	if scale <= 0 && !trim {
		return s
	}
	frac := fmt.Sprintf("%09d", t.Nanosecond())
	if trim {
		frac = strings.TrimRight(frac, "0")
		if frac == "" {
			return s
		}
		return s + "." + frac
	}
	return s + "." + frac[:min(scale, 9)]
}

// significantDigits counts the digits of d without trailing zeros, which
// is what a REAL must hold to keep d.
func significantDigits(d bacpac.Decimal) int {
	s := strings.TrimLeft(d.Unscaled.String(), "-")
	s = strings.TrimRight(s, "0")
	return max(len(s), 1)
}
