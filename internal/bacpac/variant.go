package bacpac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrVariant is wrapped by Variant.Value for a base type it cannot decode.
var ErrVariant = errors.New("sql_variant base type not decodable")

// Variant base-type bytes, as SQL Server numbers its types.
const (
	vtTinyInt        = 0x30
	vtBit            = 0x32
	vtSmallInt       = 0x34
	vtInt            = 0x38
	vtBigInt         = 0x7f
	vtReal           = 0x3b
	vtFloat          = 0x3e
	vtMoney          = 0x3c
	vtSmallMoney     = 0x7a
	vtDecimal        = 0x6a
	vtNumeric        = 0x6c
	vtBitN           = 0x68
	vtUUID           = 0x24
	vtDate           = 0x28
	vtTime           = 0x29
	vtDateTime2      = 0x2a
	vtDateTimeOffset = 0x2b
	vtDateTime       = 0x3d
	vtSmallDateTime  = 0x3a
	vtVarChar        = 0xa7
	vtChar           = 0xaf
	vtNVarChar       = 0xe7
	vtNChar          = 0xef
	vtVarBinary      = 0xa5
	vtBinary         = 0xad
)

// Value decodes the variant into the Go type its base type maps to (see the
// table at the top of value.go). varchar and char values, which a variant
// keeps in code-page bytes, are decoded as Windows-1252.
func (v Variant) Value() (any, error) {
	if len(v) < 2 || len(v) < 2+int(v[1]) {
		return nil, fmt.Errorf("%w: %d-byte variant", ErrBadValue, len(v))
	}
	typ, props, data := v[0], v[2:2+int(v[1])], v[2+int(v[1]):]
	fixed := func(k valueKind, n int) (any, error) {
		if len(data) != n {
			return nil, fmt.Errorf("%w: variant type 0x%02x with %d bytes", ErrBadValue, typ, len(data))
		}
		return decodeFixed(k, data)
	}
	switch typ {
	case vtTinyInt:
		return fixed(kindInt, 1)
	case vtSmallInt:
		return fixed(kindInt, 2)
	case vtInt:
		return fixed(kindInt, 4)
	case vtBigInt:
		return fixed(kindInt, 8)
	case vtBit, vtBitN:
		return fixed(kindBit, 1)
	case vtReal:
		return fixed(kindReal, 4)
	case vtFloat:
		return fixed(kindFloat, 8)
	case vtMoney:
		return fixed(kindMoney, 8)
	case vtSmallMoney:
		return fixed(kindSmallMoney, 4)
	case vtUUID:
		return fixed(kindUUID, 16)
	case vtDate:
		return fixed(kindDate, 3)
	case vtDateTime:
		return fixed(kindDateTime, 8)
	case vtSmallDateTime:
		return fixed(kindSmallDateTime, 4)
	case vtDecimal, vtNumeric:
		if len(props) < 2 || len(data) < 1 {
			return nil, fmt.Errorf("%w: short variant decimal", ErrBadValue)
		}
		return decodeDecimal(append([]byte{props[0], props[1]}, data...))
	case vtTime, vtDateTime2, vtDateTimeOffset:
		if len(props) < 1 {
			return nil, fmt.Errorf("%w: variant time without a scale", ErrBadValue)
		}
		return variantTime(typ, int(props[0]), data)
	case vtNVarChar, vtNChar:
		return decodeUTF16(data)
	case vtVarChar, vtChar:
		return decodeCP1252(data), nil
	case vtVarBinary, vtBinary:
		return append([]byte(nil), data...), nil
	}
	return nil, fmt.Errorf("%w: 0x%02x", ErrVariant, typ)
}

// variantTime decodes the TDS forms of time, datetime2 and datetimeoffset,
// whose time part is 3 to 5 bytes of 10^-scale second units.
func variantTime(typ byte, scale int, data []byte) (any, error) {
	if scale > 7 {
		return nil, fmt.Errorf("%w: time scale %d", ErrBadValue, scale)
	}
	n := 5
	switch {
	case scale <= 2:
		n = 3
	case scale <= 4:
		n = 4
	}
	want := n
	switch typ {
	case vtDateTime2:
		want += 3
	case vtDateTimeOffset:
		want += 5
	}
	if len(data) != want {
		return nil, fmt.Errorf("%w: variant time of %d bytes", ErrBadValue, len(data))
	}
	var units uint64
	for i := n - 1; i >= 0; i-- {
		units = units<<8 | uint64(data[i])
	}
	hns := units * uint64(math.Pow10(7-scale))
	if hns >= hundredNsPerDay {
		return nil, fmt.Errorf("%w: time of %d units", ErrBadValue, units)
	}
	tod := time.Duration(hns) * 100
	if typ == vtTime {
		return TimeOfDay(tod), nil
	}
	day, err := decodeDays(data[n : n+3])
	if err != nil {
		return nil, err
	}
	t := day.Add(tod)
	if typ == vtDateTimeOffset {
		off := int(int16(binary.LittleEndian.Uint16(data[n+3:])))
		t = t.In(time.FixedZone("", off*60))
	}
	return t, nil
}

// cp1252High maps bytes 0x80–0x9f of Windows-1252; 0 marks an unused byte.
var cp1252High = [32]rune{
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
}

func decodeCP1252(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		switch {
		case c >= 0x80 && c < 0xa0 && cp1252High[c-0x80] != 0:
			r[i] = cp1252High[c-0x80]
		default:
			r[i] = rune(c)
		}
	}
	return string(r)
}
