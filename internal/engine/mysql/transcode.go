package mysql

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// Transcoding: LOAD DATA text written straight from a value's stored bytes
// in the package, for the common pairs of stored kind and column type, as
// the PostgreSQL load does (see its transcode.go). A transcoder reports
// !ok for anything it does not write exactly as writeRow would: a value
// out of the column's range or longer than it, text that is not all ASCII,
// a time with more fractional digits than the column keeps, a decimal at
// another scale or past 64 bits. The load then decodes that value and
// writeRow converts it or names the error.

// transcoder appends a stored value's LOAD DATA field, escaped, to w, or
// reports !ok having written nothing. scratch is the loader's buffer.
type transcoder func(w *bytes.Buffer, b []byte, scratch *[]byte) (ok bool)

// transcoderFor returns the transcoder from stored kind k into column cp,
// or nil when values take writeRow's path.
func transcoderFor(k bacpac.StoredKind, cp *colPlan) transcoder {
	base := cp.t.base
	switch k {
	case bacpac.StoredInt:
		switch base {
		case "tinyint", "smallint", "mediumint", "int", "bigint":
			unsigned := cp.t.unsigned
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				n := bacpac.RawInt(b)
				if !intFits(n, base, unsigned) {
					return false
				}
				w.Write(strconv.AppendInt(w.AvailableBuffer(), n, 10))
				return true
			}
		}
	case bacpac.StoredDecimal:
		if base == "decimal" {
			return decimalTranscoder(cp)
		}
	case bacpac.StoredFloat:
		if base == "double" {
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				return writeFloat(w, math.Float64frombits(binary.LittleEndian.Uint64(b)))
			}
		}
	case bacpac.StoredReal:
		if base == "float" || base == "double" {
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				return writeFloat(w, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
			}
		}
	case bacpac.StoredDate:
		if base == "date" {
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				days, ok := bacpac.RawDate(b)
				if !ok {
					return false
				}
				y, m, d := dayOne.AddDate(0, 0, int(days)).Date()
				w.Write(appendDate(w.AvailableBuffer(), y, int(m), d))
				return true
			}
		}
	case bacpac.StoredDateTime2, bacpac.StoredDateTimeOffset:
		if base == "datetime" {
			return dateTimeTranscoder(k, cp.t.fraction())
		}
	case bacpac.StoredUUID:
		if base == "uuid" || (base == "char" || base == "varchar") && cp.maxLen >= 36 {
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				w.Write(appendUUID(w.AvailableBuffer(), bacpac.RawUUID(b)))
				return true
			}
		}
	case bacpac.StoredText:
		switch base {
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "json", "enum", "set":
			return textTranscoder(cp)
		}
	case bacpac.StoredBytes:
		switch base {
		case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
			return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
				if cp.checkBytes(b) != nil {
					return false
				}
				writeEscapedBytes(w, b)
				return true
			}
		}
	}
	return nil
}

var dayOne = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

func writeFloat(w *bytes.Buffer, f float64) bool {
	out, err := appendFloat(w.AvailableBuffer(), f, 64)
	if err != nil {
		return false
	}
	w.Write(out)
	return true
}

// decimalTranscoder writes decimals at the column's scale whose unscaled
// value fits an int64, as appendDecimal64 does.
func decimalTranscoder(cp *colPlan) transcoder {
	precision, scale, unsigned := cp.t.arg(0, 10), cp.t.arg(1, 0), cp.t.unsigned
	return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
		neg, mag, sc, ok := bacpac.RawDecimal(b)
		if !ok || sc != scale || mag > math.MaxInt64 {
			return false
		}
		out, ok := appendUnscaled(w.AvailableBuffer(), neg && mag != 0, mag, precision, scale, unsigned)
		if ok {
			w.Write(out)
		}
		return ok
	}
}

// dateTimeTranscoder writes datetime2 values, and datetimeoffset values at
// offset zero, whose fraction fits the column's digits.
func dateTimeTranscoder(k bacpac.StoredKind, digits int) transcoder {
	unit := uint64(1)
	for range 7 - min(digits, 7) {
		unit *= 10
	}
	return func(w *bytes.Buffer, b []byte, _ *[]byte) bool {
		var days int64
		var units uint64
		ok := false
		if k == bacpac.StoredDateTimeOffset {
			var offset int
			days, units, offset, ok = bacpac.RawDateTimeOffset(b)
			ok = ok && offset == 0
		} else {
			days, units, ok = bacpac.RawDateTime2(b)
		}
		if !ok || units%unit != 0 {
			return false
		}
		y, m, d := dayOne.AddDate(0, 0, int(days)).Date()
		secs := int(units / 10_000_000)
		out := appendDate(w.AvailableBuffer(), y, int(m), d)
		out = append(out, ' ')
		out = appendClock(out, secs/3600, secs/60%60, secs%60)
		w.Write(appendFrac(out, int(units%10_000_000)*100, digits))
		return true
	}
}

// textTranscoder writes ASCII text that fits the column, escaped.
func textTranscoder(cp *colPlan) transcoder {
	return func(w *bytes.Buffer, b []byte, scratch *[]byte) bool {
		out, ok := bacpac.AppendRawASCII((*scratch)[:0], b)
		if !ok {
			return false
		}
		*scratch = out
		n := len(out) // characters, all ASCII
		switch cp.t.base {
		case "char", "varchar":
			if n > cp.maxLen {
				return false
			}
			if cp.padded() { // as colPlan.unpadded
				out = bytes.TrimRight(out, " ")
			}
		case "tinytext", "text", "mediumtext":
			if cp.maxLen > 0 && n > cp.maxLen || n > textLimit[cp.t.base] {
				return false
			}
		}
		writeEscapedBytes(w, out)
		return true
	}
}
