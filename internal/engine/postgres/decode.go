package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// pgEpoch is 2000-01-01, the origin of PostgreSQL's binary dates and
// timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	pgEpochUnixMicros = 946684800 * 1000000
	// SQL Server's datetime2 and date cover years 1 through 9999.
	minUnixMicros = -62135596800 * 1000000
	maxUnixMicros = 253402300799*1000000 + 999999
)

// decodeValue turns one binary COPY field into the Go type of the column's
// SQL Server type. b is only valid during the call.
func decodeValue(c *colInfo, b []byte) (any, error) {
	switch c.kind {
	case kindInt2:
		if len(b) != 2 {
			return nil, errLength
		}
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case kindInt4:
		if len(b) != 4 {
			return nil, errLength
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case kindInt8:
		if len(b) != 8 {
			return nil, errLength
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case kindOID:
		if len(b) != 4 {
			return nil, errLength
		}
		return int64(binary.BigEndian.Uint32(b)), nil
	case kindBool:
		if len(b) != 1 {
			return nil, errLength
		}
		return b[0] != 0, nil
	case kindFloat4:
		if len(b) != 4 {
			return nil, errLength
		}
		return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
	case kindFloat8:
		if len(b) != 8 {
			return nil, errLength
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case kindNumeric:
		return decodeNumeric(b, c.typ)
	case kindText, kindEnum:
		return string(b), nil
	case kindJSONB:
		if len(b) < 1 || b[0] != 1 {
			return nil, errors.New("unknown jsonb version")
		}
		return string(b[1:]), nil
	case kindBytea:
		return append([]byte(nil), b...), nil
	case kindDate:
		if len(b) != 4 {
			return nil, errLength
		}
		days := int32(binary.BigEndian.Uint32(b))
		if days == math.MaxInt32 || days == math.MinInt32 {
			return nil, errors.New("infinite date has no SQL Server equivalent")
		}
		t := pgEpoch.AddDate(0, 0, int(days))
		if t.Year() < 1 || t.Year() > 9999 {
			return nil, fmt.Errorf("date %s is outside SQL Server's years 1-9999",
				t.Format("2006-01-02"))
		}
		return bacpac.DateOf(t), nil
	case kindTime:
		if len(b) != 8 {
			return nil, errLength
		}
		us := int64(binary.BigEndian.Uint64(b))
		if us >= 24*3600*1000000 {
			return nil, errors.New("time 24:00:00 has no SQL Server equivalent")
		}
		return bacpac.TimeOfDay(time.Duration(us) * time.Microsecond), nil
	case kindTimestamp, kindTimestamptz:
		if len(b) != 8 {
			return nil, errLength
		}
		us := int64(binary.BigEndian.Uint64(b))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return nil, errors.New("infinite timestamp has no SQL Server equivalent")
		}
		unix := us + pgEpochUnixMicros
		if unix < minUnixMicros || unix > maxUnixMicros {
			return nil, errors.New("timestamp is outside SQL Server's years 1-9999")
		}
		return time.UnixMicro(unix).UTC(), nil
	case kindUUID:
		if len(b) != 16 {
			return nil, errLength
		}
		var u bacpac.UUID
		copy(u[:], b)
		return u, nil
	}
	return nil, fmt.Errorf("no decoder for kind %d", c.kind)
}

var errLength = errors.New("malformed binary value: wrong length")

// Sign words of the binary numeric format.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var bigTenThousand = big.NewInt(10000)

// decodeNumeric reads PostgreSQL's base-10000 numeric and returns it at
// the column's scale, failing when that would drop digits or exceed the
// precision.
func decodeNumeric(b []byte, typ bacpac.Type) (bacpac.Decimal, error) {
	if len(b) < 8 {
		return bacpac.Decimal{}, errLength
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	if len(b) != 8+2*ndigits {
		return bacpac.Decimal{}, errLength
	}
	switch sign {
	case numericNaN:
		return bacpac.Decimal{}, errors.New("numeric NaN has no SQL Server decimal equivalent")
	case numericPInf, numericNInf:
		return bacpac.Decimal{}, errors.New("numeric infinity has no SQL Server decimal equivalent")
	}

	// The value is sum(digit[i] * 10000^(weight-i)); accumulate the
	// digits as an integer, then place the point.
	var u big.Int
	var small uint64
	useSmall := ndigits <= 4
	for i := range ndigits {
		d := binary.BigEndian.Uint16(b[8+2*i:])
		if useSmall {
			small = small*10000 + uint64(d)
			continue
		}
		u.Mul(&u, bigTenThousand)
		u.Add(&u, big.NewInt(int64(d)))
	}
	if useSmall {
		u.SetUint64(small)
	}
	// u × 10000^(weight-ndigits+1) = u × 10^(4*(weight-ndigits+1)).
	scale := -4 * (weight - ndigits + 1)
	if sign == numericNeg {
		u.Neg(&u)
	}
	d := bacpac.Decimal{Unscaled: &u, Scale: scale}
	if scale < 0 {
		d, _ = d.Rescale(0)
	}
	out, exact := d.Rescale(typ.Scale)
	if !exact {
		return bacpac.Decimal{}, fmt.Errorf("numeric %s has more than %d fractional digits",
			d.String(), typ.Scale)
	}
	if out.Digits() > typ.Precision && out.Unscaled.Sign() != 0 {
		return bacpac.Decimal{}, fmt.Errorf("numeric %s needs more than %d digits",
			d.String(), typ.Precision)
	}
	return out, nil
}
