package bacpac

import (
	"encoding/binary"
	"io"
	"math"
	"slices"
)

// Undecoded rows, for a consumer that transcodes the common types straight
// from the stored bytes into its own wire format (the PostgreSQL load
// writes COPY's binary form). Decoding every value into a Go value first
// costs an allocation per text, decimal and interface box; on a large
// import that was a third of bacport's CPU. Such a consumer reads the
// stored bytes of each value with NextRaw and RawValues, handles the
// values it knows with the Raw* functions below, and passes any other
// value, or any it is unsure of, to Decode, which returns exactly what
// Values would have held, or the DataError Next would have returned.
//
// The Raw* functions never fail on a value Decode accepts; where one
// reports !ok, Decode decides.

// StoredKind is how a column's values are stored, for the Raw* functions.
type StoredKind uint8

const (
	StoredOther          StoredKind = iota // only through Decode
	StoredInt                              // tinyint (unsigned), smallint, int, bigint: RawInt
	StoredBit                              // bit: one byte, 0 or 1
	StoredReal                             // real: IEEE 754 binary32, little-endian
	StoredFloat                            // float: IEEE 754 binary64, little-endian
	StoredDecimal                          // decimal, numeric: RawDecimal
	StoredDate                             // date: RawDate
	StoredDateTime2                        // datetime2: RawDateTime2
	StoredDateTimeOffset                   // datetimeoffset: RawDateTimeOffset
	StoredUUID                             // uniqueidentifier: RawUUID
	StoredText                             // UTF-16LE text of any string type: AppendRawASCII
	StoredBytes                            // binary, varbinary, image, rowversion, CLR types: the bytes, as Decode returns them
)

var storedKinds = [...]StoredKind{
	kindInt:            StoredInt,
	kindBit:            StoredBit,
	kindDecimal:        StoredDecimal,
	kindReal:           StoredReal,
	kindFloat:          StoredFloat,
	kindDate:           StoredDate,
	kindDateTime2:      StoredDateTime2,
	kindDateTimeOffset: StoredDateTimeOffset,
	kindUUID:           StoredUUID,
	kindString:         StoredText,
	kindBytes:          StoredBytes,
	kindVariant:        StoredOther,
}

// StoredKinds returns how each data column's values are stored.
func (r *Rows) StoredKinds() []StoredKind {
	out := make([]StoredKind, len(r.cols))
	for i, c := range r.cols {
		if int(c.kind) < len(storedKinds) {
			out[i] = storedKinds[c.kind]
		}
	}
	return out
}

// NextRaw moves to the next row like Next, without decoding it.
func (r *Rows) NextRaw() bool {
	if r.raw == nil {
		r.raw = make([][]byte, len(r.cols))
	}
	return r.advance(func(p *partDecoder) (bool, error) { return p.nextRaw(r.raw) })
}

// RawValues returns the stored bytes of each value of the row NextRaw
// moved to, nil for NULL. The slice and the bytes are reused by the next
// call to NextRaw.
func (r *Rows) RawValues() [][]byte { return r.raw }

// Decode decodes value i of the current raw row into what Values would
// hold, or returns the *DataError that Next would have returned for it.
func (r *Rows) Decode(i int, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	v, err := decodeCell(r.cols[i].kind, b, false)
	if err != nil {
		p := r.cur
		return nil, &DataError{Part: p.name, Offset: p.cellOff[i], Row: p.row,
			Column: r.cols[i].name, Err: err}
	}
	return v, nil
}

// nextRaw reads one row's values into p.rowBuf, undecoded, and points
// cells into it (nil for NULL). It returns false with a nil error at a
// clean end of the part.
func (p *partDecoder) nextRaw(cells [][]byte) (bool, error) {
	if _, err := p.br.Peek(1); err == io.EOF {
		return false, nil
	} else if err != nil {
		return false, p.fail(-1, p.off, err)
	}
	if len(p.cellOff) != len(p.cols) {
		p.cellOff = make([]int64, len(p.cols))
		p.cellEnd = make([]int, len(p.cols))
	}
	// Nearly every row lies whole in the read buffer: frame it there, and
	// point the cells into the buffer, which does not move before the
	// next read. The rest (a row across the buffer's end, a long value, a
	// framing error) is read value by value below.
	if buf, _ := p.br.Peek(p.br.Buffered()); len(buf) > 0 {
		if n, ok := p.frameRow(buf, cells); ok {
			p.row++
			p.rowStart = p.off
			p.br.Discard(n)
			p.off += int64(n)
			return true, nil
		}
	}
	p.row++
	p.rowStart = p.off
	if p.rowBuf == nil {
		// Non-nil even when every value is empty: an empty value is
		// an empty slice, not a NULL.
		p.rowBuf = make([]byte, 0, 256)
	}
	p.rowBuf = p.rowBuf[:0]
	for i := range p.cols {
		p.cellOff[i] = p.off
		b, _, null, err := p.cell(&p.cols[i])
		if err != nil {
			return false, p.fail(i, p.cellOff[i], err)
		}
		if null {
			p.cellEnd[i] = -1
			continue
		}
		p.rowBuf = append(p.rowBuf, b...)
		p.cellEnd[i] = len(p.rowBuf)
	}
	// rowBuf may have moved while it grew: slice it only now.
	start := 0
	for i, end := range p.cellEnd {
		if end < 0 {
			cells[i] = nil
			continue
		}
		cells[i] = p.rowBuf[start:end:end]
		start = end
	}
	// A row far larger than usual (a large value) is not kept for the
	// rest of the part.
	if cap(p.rowBuf) > 4*partBufferSize {
		p.rowBuf = nil
	}
	return true, nil
}

// frameRow frames the row at the start of buf and points cells into buf,
// recording where each value starts. ok is false, and nothing is
// consumed, when the row does not end within buf or any framing is wrong.
func (p *partDecoder) frameRow(buf []byte, cells [][]byte) (n int, ok bool) {
	le := binary.LittleEndian
	at := 0
	for i := range p.cols {
		c := &p.cols[i]
		start := at
		size := c.size
		if c.prefix > 0 {
			if at+c.prefix > len(buf) {
				return 0, false
			}
			var v uint64
			null := false
			switch c.prefix {
			case 1:
				v, null = uint64(buf[at]), buf[at] == 0xff
			case 2:
				x := le.Uint16(buf[at:])
				v, null = uint64(x), x == 0xffff
			case 4:
				x := le.Uint32(buf[at:])
				v, null = uint64(x), x == 0xffffffff
				if c.variantNull {
					null = x == 0
				}
			case 8:
				v = le.Uint64(buf[at:])
				null = v == math.MaxUint64
			}
			at += c.prefix
			if null {
				p.cellOff[i] = p.off + int64(start)
				cells[i] = nil
				continue
			}
			if v > partBufferSize || c.size > 0 && v != uint64(c.size) {
				return 0, false
			}
			size = int(v)
		}
		if c.kind == kindDecimal && (size < 3 || size > 19) || at+size > len(buf) {
			return 0, false
		}
		p.cellOff[i] = p.off + int64(start)
		cells[i] = buf[at : at+size : at+size]
		at += size
	}
	return at, true
}

// RawInt returns the value of a StoredInt column.
func RawInt(b []byte) int64 {
	switch len(b) {
	case 1:
		return int64(b[0])
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	}
	return int64(binary.LittleEndian.Uint64(b))
}

// RawDecimal returns a StoredDecimal value as its sign, magnitude and scale
// (value = ±mag / 10^scale) when the magnitude fits 64 bits; ok is false
// otherwise, and for any value Decode would refuse.
func RawDecimal(b []byte) (neg bool, mag uint64, scale int, ok bool) {
	if len(b) < 3 {
		return false, 0, 0, false
	}
	prec, sc, sign := b[0], b[1], b[2]
	if prec < 1 || prec > 38 || sc > prec || sign > 1 || len(b) > 11 && !allZero(b[11:]) {
		return false, 0, 0, false
	}
	var lo [8]byte
	copy(lo[:], b[3:])
	return sign == 0, binary.LittleEndian.Uint64(lo[:]), int(sc), true
}

// RawDate returns a StoredDate value as days since 0001-01-01.
func RawDate(b []byte) (days int64, ok bool) {
	days = int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16
	return days, days <= maxDays
}

// RawDateTime2 returns a StoredDateTime2 value as days since 0001-01-01 and
// 100-ns units since midnight.
func RawDateTime2(b []byte) (days int64, units uint64, ok bool) {
	for i := 4; i >= 0; i-- {
		units = units<<8 | uint64(b[i])
	}
	days, ok = RawDate(b[5:8])
	return days, units, ok && units < hundredNsPerDay
}

// RawDateTimeOffset returns a StoredDateTimeOffset value as its instant in
// UTC (days since 0001-01-01 and 100-ns units since midnight) and its
// offset in minutes.
func RawDateTimeOffset(b []byte) (days int64, units uint64, offset int, ok bool) {
	days, units, ok = RawDateTime2(b[:8])
	offset = int(int16(binary.LittleEndian.Uint16(b[8:])))
	return days, units, offset, ok && offset >= -14*60 && offset <= 14*60
}

// RawUUID returns a StoredUUID value in the standard byte order.
func RawUUID(b []byte) UUID {
	var u UUID
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5], u[6], u[7] = b[5], b[4], b[7], b[6]
	copy(u[8:], b[8:16])
	return u
}

// AppendRawASCII appends a StoredText value to dst as UTF-8 when all of its
// characters are ASCII. Otherwise ok is false and dst is returned as it
// was (though its spare capacity may have been written).
func AppendRawASCII(dst, b []byte) (out []byte, ok bool) {
	if len(b)%2 != 0 {
		return dst, false
	}
	n := len(b) / 2
	out = slices.Grow(dst, n)
	if narrowASCII(out[len(dst):len(dst)+n], b) < n {
		return dst, false
	}
	return out[:len(dst)+n], true
}
