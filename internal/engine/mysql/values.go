package mysql

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// parseValue turns a cell's text-protocol bytes into the row value of its
// kind. b is only valid until the next row, so everything is copied.
func parseValue(k kind, b []byte) (any, error) {
	switch k {
	case kSigned, kYear:
		return strconv.ParseInt(string(b), 10, 64)
	case kUnsigned64:
		n, ok := new(big.Int).SetString(string(b), 10)
		if !ok {
			return nil, fmt.Errorf("parse unsigned %q", b)
		}
		return bacpac.Decimal{Unscaled: n}, nil
	case kDecimal:
		return bacpac.ParseDecimal(string(b))
	case kBigDecimal, kText:
		return string(b), nil
	case kFloat:
		f, err := strconv.ParseFloat(string(b), 64)
		return float32(f), err
	case kDouble:
		return strconv.ParseFloat(string(b), 64)
	case kBit1:
		return len(b) > 0 && b[len(b)-1] != 0, nil
	case kBits, kBytes:
		return append([]byte{}, b...), nil
	case kDate:
		return parseDate(b)
	case kDateTime, kTimestamp:
		return parseDateTime(b)
	case kTime:
		return parseTime(b)
	case kUUID:
		return parseUUID(b)
	}
	return nil, fmt.Errorf("unknown column kind %d", k)
}

// driverParsed says whether the driver hands cells of kind k over already
// parsed (int64, uint64, float64) rather than as text.
func (k kind) driverParsed() bool {
	switch k {
	case kSigned, kYear, kUnsigned64, kFloat, kDouble:
		return true
	}
	return false
}

// fromDriver turns a cell the driver parsed into the row value of its kind.
// A value of the kind's own type is passed on as it is, without boxing it
// again; text, which the driver returns for types it does not parse, goes
// through parseValue.
func fromDriver(k kind, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		if k == kSigned || k == kYear {
			return v, nil
		}
	case uint64:
		if k == kUnsigned64 {
			return bacpac.Decimal{Unscaled: new(big.Int).SetUint64(x)}, nil
		}
	case float64:
		switch k {
		case kDouble:
			return v, nil
		case kFloat:
			return float32(x), nil
		}
	case float32:
		if k == kFloat {
			return v, nil
		}
	case []byte:
		return parseValue(k, x)
	}
	return nil, fmt.Errorf("unexpected %T from the driver for a column read as kind %d", v, k)
}

var errZeroDate = errors.New("zero date or zero month/day has no SQL Server equivalent")

// digits parses a run of ASCII digits.
func digits(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseDate(b []byte) (bacpac.Date, error) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return bacpac.Date{}, fmt.Errorf("parse date %q", b)
	}
	y, ok1 := digits(b[:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 {
		return bacpac.Date{}, fmt.Errorf("parse date %q", b)
	}
	if y == 0 || m == 0 || d == 0 {
		return bacpac.Date{}, fmt.Errorf("date %q: %w", b, errZeroDate)
	}
	return bacpac.Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// parseFraction parses ".ffffff" into nanoseconds.
func parseFraction(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != '.' || len(b) > 10 {
		return 0, fmt.Errorf("parse fraction %q", b)
	}
	n, ok := digits(b[1:])
	if !ok {
		return 0, fmt.Errorf("parse fraction %q", b)
	}
	for i := len(b) - 1; i < 9; i++ {
		n *= 10
	}
	return n, nil
}

func parseDateTime(b []byte) (time.Time, error) {
	if len(b) < 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, fmt.Errorf("parse datetime %q", b)
	}
	d, err := parseDate(b[:10])
	if err != nil {
		return time.Time{}, err
	}
	h, ok1 := digits(b[11:13])
	mi, ok2 := digits(b[14:16])
	s, ok3 := digits(b[17:19])
	ns, err := parseFraction(b[19:])
	if !ok1 || !ok2 || !ok3 || err != nil {
		return time.Time{}, fmt.Errorf("parse datetime %q", b)
	}
	return time.Date(d.Year, d.Month, d.Day, h, mi, s, ns, time.UTC), nil
}

var errTimeRange = errors.New("time outside 00:00:00–23:59:59.999999 has no SQL Server equivalent")

// parseTime parses MySQL's "[-]HHH:MM:SS[.ffffff]". SQL Server's time is a
// time of day, so negative values and values of 24 hours or more fail.
func parseTime(b []byte) (bacpac.TimeOfDay, error) {
	neg := len(b) > 0 && b[0] == '-'
	text := b
	if neg {
		text = text[1:]
	}
	c1 := indexByte(text, ':')
	if c1 < 1 || len(text) < c1+6 || text[c1+3] != ':' {
		return 0, fmt.Errorf("parse time %q", b)
	}
	h, ok1 := digits(text[:c1])
	m, ok2 := digits(text[c1+1 : c1+3])
	s, ok3 := digits(text[c1+4 : c1+6])
	ns, err := parseFraction(text[c1+6:])
	if !ok1 || !ok2 || !ok3 || err != nil {
		return 0, fmt.Errorf("parse time %q", b)
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(ns)
	if (neg && d != 0) || d >= 24*time.Hour {
		return 0, fmt.Errorf("time %q: %w", b, errTimeRange)
	}
	return bacpac.TimeOfDay(d), nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func parseUUID(b []byte) (bacpac.UUID, error) {
	var u bacpac.UUID
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return u, fmt.Errorf("parse uuid %q", b)
	}
	h := make([]byte, 0, 32)
	for _, c := range b {
		if c != '-' {
			h = append(h, c)
		}
	}
	if _, err := hex.Decode(u[:], h); err != nil {
		return u, fmt.Errorf("parse uuid %q: %w", b, err)
	}
	return u, nil
}

// appendUUID writes u in MySQL's lower-case 8-4-4-4-12 form.
func appendUUID(dst []byte, u bacpac.UUID) []byte {
	const digits = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, digits[x>>4], digits[x&15])
	}
	return dst
}

// appendFloat writes f exactly (shortest round-trip form).
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%v: MySQL cannot store NaN or infinities", f)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits), nil
}
