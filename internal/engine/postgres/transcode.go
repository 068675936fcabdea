package postgres

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/bacport/bacport/internal/bacpac"
)

// Transcoding: the binary COPY form of a value written straight from its
// stored bytes in the package, for the common pairs of stored kind and
// column kind. Going through a Go value (bacpac's decode, then convert and
// appendBinary) allocated for every text, decimal and boxed value and was
// about half of bacport's CPU in a PostgreSQL import.
//
// A transcoder reports !ok for anything it does not handle exactly as the
// general path does: a value out of the column's range, text that is not
// all ASCII or is longer than the column, a datetimeoffset with an offset,
// sub-microsecond digits, a large decimal. The load then decodes that
// value and takes the general path, which converts it or names the error;
// so a transcoder only has to be right where it says ok, and the tests
// hold it to the general path's bytes there.

// transcoder appends the binary COPY form (length word and bytes) of a
// stored value to dst.
type transcoder func(dst, b []byte) (out []byte, ok bool)

// daysTo2000 is 2000-01-01, PostgreSQL's epoch, in days since 0001-01-01.
const daysTo2000 = 730119

var be = binary.BigEndian

// transcoderFor returns the transcoder from stored kind k into column c,
// or nil when values take the general path.
func transcoderFor(k bacpac.StoredKind, c *targetCol) transcoder {
	switch {
	case k == bacpac.StoredInt && (c.kind == tInt2 || c.kind == tInt4 || c.kind == tInt8):
		return intTranscoder(c.kind)
	case k == bacpac.StoredBit && c.kind == tBool:
		return func(dst, b []byte) ([]byte, bool) {
			return append(be.AppendUint32(dst, 1), b[0]), b[0] <= 1
		}
	case k == bacpac.StoredReal && c.kind == tFloat4:
		return func(dst, b []byte) ([]byte, bool) {
			return be.AppendUint32(be.AppendUint32(dst, 4), binary.LittleEndian.Uint32(b)), true
		}
	case k == bacpac.StoredFloat && c.kind == tFloat8:
		return func(dst, b []byte) ([]byte, bool) {
			return be.AppendUint64(be.AppendUint32(dst, 8), binary.LittleEndian.Uint64(b)), true
		}
	case k == bacpac.StoredDecimal && c.kind == tNumeric:
		return numericTranscoder(c)
	case k == bacpac.StoredDate && c.kind == tDate:
		return func(dst, b []byte) ([]byte, bool) {
			days, ok := bacpac.RawDate(b)
			return be.AppendUint32(be.AppendUint32(dst, 4), uint32(int32(days-daysTo2000))), ok
		}
	case k == bacpac.StoredDateTime2 && (c.kind == tTimestamp || c.kind == tTimestamptz):
		return func(dst, b []byte) ([]byte, bool) {
			days, units, ok := bacpac.RawDateTime2(b)
			return appendMicros(dst, days, units, ok)
		}
	case k == bacpac.StoredDateTimeOffset && (c.kind == tTimestamp || c.kind == tTimestamptz):
		// Only at offset zero are the wall clock and the instant the same
		// and nothing is lost.
		return func(dst, b []byte) ([]byte, bool) {
			days, units, offset, ok := bacpac.RawDateTimeOffset(b)
			return appendMicros(dst, days, units, ok && offset == 0)
		}
	case k == bacpac.StoredUUID && c.kind == tUUID:
		return func(dst, b []byte) ([]byte, bool) {
			u := bacpac.RawUUID(b)
			return append(be.AppendUint32(dst, 16), u[:]...), true
		}
	case k == bacpac.StoredText && (c.kind == tText || c.kind == tJSONB):
		return textTranscoder(c)
	case k == bacpac.StoredBytes && c.kind == tBytea:
		return func(dst, b []byte) ([]byte, bool) {
			return append(be.AppendUint32(dst, uint32(len(b))), b...), true
		}
	}
	return nil
}

func intTranscoder(k tkind) transcoder {
	switch k {
	case tInt2:
		return func(dst, b []byte) ([]byte, bool) {
			n := bacpac.RawInt(b)
			return be.AppendUint16(be.AppendUint32(dst, 2), uint16(n)),
				n >= math.MinInt16 && n <= math.MaxInt16
		}
	case tInt4:
		return func(dst, b []byte) ([]byte, bool) {
			n := bacpac.RawInt(b)
			return be.AppendUint32(be.AppendUint32(dst, 4), uint32(n)),
				n >= math.MinInt32 && n <= math.MaxInt32
		}
	}
	return func(dst, b []byte) ([]byte, bool) {
		return be.AppendUint64(be.AppendUint32(dst, 8), uint64(bacpac.RawInt(b))), true
	}
}

// appendMicros writes a timestamp as µs since 2000-01-01; sub-microsecond
// digits are the general path's to refuse or truncate.
func appendMicros(dst []byte, days int64, units uint64, ok bool) ([]byte, bool) {
	us := (days-daysTo2000)*86_400_000_000 + int64(units/10)
	return be.AppendUint64(be.AppendUint32(dst, 8), uint64(us)), ok && units%10 == 0
}

// textTranscoder narrows ASCII text into the column: text and varchar as
// it is, jsonb behind its format version byte.
func textTranscoder(c *targetCol) transcoder {
	head := 0
	if c.kind == tJSONB {
		head = 1
	}
	length, padded := c.length, c.padded
	return func(dst, b []byte) ([]byte, bool) {
		mark := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		if head == 1 {
			dst = append(dst, 1)
		}
		out, ok := bacpac.AppendRawASCII(dst, b)
		if padded { // as targetCol.checkString
			out = out[:len(dst)+len(bytes.TrimRight(out[len(dst):], " "))]
		}
		n := len(out) - len(dst)
		// PostgreSQL text holds no NUL.
		if !ok || length > 0 && n > length || bytes.IndexByte(out[len(dst):], 0) >= 0 {
			return dst[:mark], false
		}
		be.PutUint32(out[mark:], uint32(n+head))
		return out, true
	}
}

// pow10 holds 10^0 … 10^19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// numericTranscoder writes decimals whose magnitude fits 64 bits and whose
// scale is the column's (or any, in an unconstrained numeric) in
// PostgreSQL's base-10000 form, as appendNumeric does.
func numericTranscoder(c *targetCol) transcoder {
	prec, scale := c.prec, c.scale
	return func(dst, b []byte) ([]byte, bool) {
		neg, mag, sc, ok := bacpac.RawDecimal(b)
		if !ok || sc > 15 || prec > 0 && (sc != scale || mag != 0 && decimalDigits(mag) > prec) {
			return dst, false
		}
		return appendNumericUint(dst, neg && mag != 0, mag, sc), true
	}
}

func decimalDigits(u uint64) int {
	n := 1
	for n < len(pow10) && u >= pow10[n] {
		n++
	}
	return n
}

// appendNumericUint writes ±mag / 10^scale (scale ≤ 15) as a binary
// numeric: base-10000 groups around the decimal point, without leading
// or trailing zero groups, and the display scale.
func appendNumericUint(dst []byte, neg bool, mag uint64, scale int) []byte {
	ip, fp := mag/pow10[scale], mag%pow10[scale]
	// The fraction's digits, padded on the right to whole groups.
	fracGroups := (scale + 3) / 4
	fp *= pow10[4*fracGroups-scale]

	var groups [10]uint16 // 5 groups hold the integer part, 4 the fraction
	n := 0
	var ig [5]uint16
	ni := 0
	for {
		ig[ni] = uint16(ip % 10000)
		ni++
		ip /= 10000
		if ip == 0 {
			break
		}
	}
	for i := ni - 1; i >= 0; i-- {
		groups[n] = ig[i]
		n++
	}
	for i := fracGroups - 1; i >= 0; i-- {
		groups[n] = uint16(fp / pow10[4*i] % 10000)
		n++
	}
	sign := uint16(numericPos)
	if neg {
		sign = numericNeg
	}
	return appendNumericGroups(dst, groups[:n], ni-1, sign, scale)
}
