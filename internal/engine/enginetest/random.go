package enginetest

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// RandDecimal returns a decimal of 1 to prec digits, either sign, at the
// given scale.
func RandDecimal(r *rand.Rand, prec, scale int) bacpac.Decimal {
	var sb strings.Builder
	if r.IntN(2) == 0 {
		sb.WriteByte('-')
	}
	for range 1 + r.IntN(prec) {
		sb.WriteByte(byte('0' + r.IntN(10)))
	}
	d, _ := bacpac.ParseDecimal(sb.String())
	d.Scale = scale
	return d
}

// RandTime returns a time between the years 1 and 9999, to the second, the
// microsecond or 100 ns, and with zone half the time in a fixed zone of up
// to ±14 hours (datetimeoffset's range).
func RandTime(r *rand.Rand, zone bool) time.Time {
	t := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(math.MaxInt64)))
	t = t.AddDate(r.IntN(9000), 0, 0)
	switch r.IntN(3) {
	case 0:
		t = t.Truncate(time.Second)
	case 1:
		t = t.Truncate(time.Microsecond)
	default:
		t = t.Truncate(100)
	}
	if zone && r.IntN(2) == 0 {
		return t.In(time.FixedZone("", (r.IntN(28*60+1)-14*60)*60))
	}
	return t
}

// RandText returns text of up to maxUnits UTF-16 code units: mostly ASCII,
// with the characters text formats escape (tab, newline, backslash,
// quotes), and now and then a NUL, an "é" or an emoji (two units).
func RandText(r *rand.Rand, maxUnits int) string {
	const ascii = "abcdefghijklmnopqrstuvwxyz ABCXYZ{}\":,0123456789\t\n\r\\"
	n := r.IntN(maxUnits + 1)
	var sb strings.Builder
	for units := 0; units < n; units++ {
		switch r.IntN(40) {
		case 0:
			sb.WriteString("é")
		case 1:
			sb.WriteByte(0)
		case 2:
			if units+2 <= n {
				sb.WriteString("😀")
				units++
				continue
			}
			fallthrough
		default:
			sb.WriteByte(ascii[r.IntN(len(ascii))])
		}
	}
	return sb.String()
}
