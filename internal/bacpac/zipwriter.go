package bacpac

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/klauspost/compress/flate"
)

// zipWriter writes a zip archive strictly sequentially, the way
// System.IO.Packaging's classic writer lays it out (variant A of §2.2):
// every entry's CRC-32 and sizes are known before its local header is
// written, so there are no data descriptors and the output never needs to
// seek. ZIP64 records are added only where a size, an offset or the entry
// count needs them.
type zipWriter struct {
	w        io.Writer
	offset   uint64
	modTime  uint16
	modDate  uint16
	dir      []zipEntry
	finished bool
}

// zipEntry is what the central directory needs to know about one entry.
type zipEntry struct {
	name   string
	method uint16
	crc    uint32
	csize  uint64
	usize  uint64
	offset uint64
}

const (
	zipStore   = 0
	zipDeflate = 8

	sigLocal       = 0x04034b50
	sigCentral     = 0x02014b50
	sigEnd         = 0x06054b50
	sigZip64End    = 0x06064b50
	sigZip64Locate = 0x07064b50

	zipMadeBy     = 45 // version 4.5, host MS-DOS, as DacFx writes it
	zipVersion64  = 45
	zipVersionDef = 20
	zipVersionSto = 10
	max32         = math.MaxUint32
	max16         = math.MaxUint16
)

// packagingExtra is the 28-byte "padding" extra field System.IO.Packaging
// puts in every local header (id 0xA220). Readers ignore it; writing it
// keeps the local headers the shape DacFx's own packages have.
var packagingExtra = []byte{
	0x20, 0xa2, 24, 0, 0x28, 0xa0, 0x14, 0x00,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
}

func newZipWriter(w io.Writer, now time.Time) *zipWriter {
	z := &zipWriter{w: w}
	z.modDate, z.modTime = dosDateTime(now)
	return z
}

// dosDateTime converts t's wall clock to MS-DOS date and time fields.
func dosDateTime(t time.Time) (date, clock uint16) {
	y := max(t.Year(), 1980)
	date = uint16(y-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	clock = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	return date, clock
}

func (z *zipWriter) write(p []byte) error {
	n, err := z.w.Write(p)
	z.offset += uint64(n)
	if err != nil {
		return fmt.Errorf("write package: %w", err)
	}
	return nil
}

// addBytes compresses (or stores) data as a new entry.
func (z *zipWriter) addBytes(name string, data []byte, method uint16) error {
	body := data
	if method == zipDeflate {
		var b bytes.Buffer
		fw, err := flate.NewWriter(&b, 6)
		if err != nil {
			return fmt.Errorf("compress %s: %w", name, err)
		}
		if _, err := fw.Write(data); err != nil {
			return fmt.Errorf("compress %s: %w", name, err)
		}
		if err := fw.Close(); err != nil {
			return fmt.Errorf("compress %s: %w", name, err)
		}
		body = b.Bytes()
	}
	e := zipEntry{
		name:   name,
		method: method,
		crc:    crc32.ChecksumIEEE(data),
		csize:  uint64(len(body)),
		usize:  uint64(len(data)),
	}
	return z.addRaw(e, bytes.NewReader(body))
}

// addRaw writes an entry whose body (already compressed with e.method) is
// read from body; it must yield exactly e.csize bytes.
func (z *zipWriter) addRaw(e zipEntry, body io.Reader) error {
	if z.finished {
		return errors.New("write package: zip already finished")
	}
	e.offset = z.offset
	if err := z.write(z.localHeader(&e)); err != nil {
		return err
	}
	n, err := io.Copy(zipCounter{z}, io.LimitReader(body, int64(e.csize)))
	if err != nil {
		return fmt.Errorf("copy %s into package: %w", e.name, err)
	}
	if uint64(n) != e.csize {
		return fmt.Errorf("copy %s into package: got %d of %d bytes", e.name, n, e.csize)
	}
	z.dir = append(z.dir, e)
	return nil
}

// zipCounter lets io.Copy write through z while z counts the offset.
type zipCounter struct{ z *zipWriter }

func (c zipCounter) Write(p []byte) (int, error) {
	if err := c.z.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *zipEntry) version(zip64 bool) uint16 {
	switch {
	case zip64:
		return zipVersion64
	case e.method == zipStore:
		return zipVersionSto
	}
	return zipVersionDef
}

func (z *zipWriter) localHeader(e *zipEntry) []byte {
	zip64 := e.usize >= max32 || e.csize >= max32
	extra := packagingExtra
	if zip64 {
		x := binary.LittleEndian.AppendUint16(nil, 0x0001)
		x = binary.LittleEndian.AppendUint16(x, 16)
		x = binary.LittleEndian.AppendUint64(x, e.usize)
		x = binary.LittleEndian.AppendUint64(x, e.csize)
		extra = append(x, packagingExtra...)
	}
	b := make([]byte, 0, 30+len(e.name)+len(extra))
	b = binary.LittleEndian.AppendUint32(b, sigLocal)
	b = binary.LittleEndian.AppendUint16(b, e.version(zip64))
	b = binary.LittleEndian.AppendUint16(b, 0) // flags
	b = binary.LittleEndian.AppendUint16(b, e.method)
	b = binary.LittleEndian.AppendUint16(b, z.modTime)
	b = binary.LittleEndian.AppendUint16(b, z.modDate)
	b = binary.LittleEndian.AppendUint32(b, e.crc)
	b = binary.LittleEndian.AppendUint32(b, uint32(min(e.csize, max32)))
	b = binary.LittleEndian.AppendUint32(b, uint32(min(e.usize, max32)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.name)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(extra)))
	b = append(b, e.name...)
	return append(b, extra...)
}

func (z *zipWriter) centralHeader(b []byte, e *zipEntry) []byte {
	var x []byte
	if e.usize >= max32 {
		x = binary.LittleEndian.AppendUint64(x, e.usize)
	}
	if e.csize >= max32 {
		x = binary.LittleEndian.AppendUint64(x, e.csize)
	}
	if e.offset >= max32 {
		x = binary.LittleEndian.AppendUint64(x, e.offset)
	}
	var extra []byte
	if len(x) > 0 {
		extra = binary.LittleEndian.AppendUint16(nil, 0x0001)
		extra = binary.LittleEndian.AppendUint16(extra, uint16(len(x)))
		extra = append(extra, x...)
	}
	b = binary.LittleEndian.AppendUint32(b, sigCentral)
	b = binary.LittleEndian.AppendUint16(b, zipMadeBy)
	b = binary.LittleEndian.AppendUint16(b, e.version(len(x) > 0))
	b = binary.LittleEndian.AppendUint16(b, 0) // flags
	b = binary.LittleEndian.AppendUint16(b, e.method)
	b = binary.LittleEndian.AppendUint16(b, z.modTime)
	b = binary.LittleEndian.AppendUint16(b, z.modDate)
	b = binary.LittleEndian.AppendUint32(b, e.crc)
	b = binary.LittleEndian.AppendUint32(b, uint32(min(e.csize, max32)))
	b = binary.LittleEndian.AppendUint32(b, uint32(min(e.usize, max32)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.name)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(extra)))
	b = binary.LittleEndian.AppendUint16(b, 0) // comment
	b = binary.LittleEndian.AppendUint16(b, 0) // disk
	b = binary.LittleEndian.AppendUint16(b, 0) // internal attributes
	b = binary.LittleEndian.AppendUint32(b, 0) // external attributes
	b = binary.LittleEndian.AppendUint32(b, uint32(min(e.offset, max32)))
	b = append(b, e.name...)
	return append(b, extra...)
}

// finish writes the central directory and the end records.
func (z *zipWriter) finish() error {
	if z.finished {
		return nil
	}
	z.finished = true
	start := z.offset
	var b []byte
	for i := range z.dir {
		b = z.centralHeader(b, &z.dir[i])
		if len(b) >= 64<<10 {
			if err := z.write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if err := z.write(b); err != nil {
		return err
	}
	size := z.offset - start
	count := uint64(len(z.dir))

	b = b[:0]
	if count >= max16 || size >= max32 || start >= max32 {
		end64 := z.offset
		b = binary.LittleEndian.AppendUint32(b, sigZip64End)
		b = binary.LittleEndian.AppendUint64(b, 44) // size of the rest
		b = binary.LittleEndian.AppendUint16(b, zipMadeBy)
		b = binary.LittleEndian.AppendUint16(b, zipVersion64)
		b = binary.LittleEndian.AppendUint32(b, 0) // this disk
		b = binary.LittleEndian.AppendUint32(b, 0) // directory disk
		b = binary.LittleEndian.AppendUint64(b, count)
		b = binary.LittleEndian.AppendUint64(b, count)
		b = binary.LittleEndian.AppendUint64(b, size)
		b = binary.LittleEndian.AppendUint64(b, start)
		b = binary.LittleEndian.AppendUint32(b, sigZip64Locate)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint64(b, end64)
		b = binary.LittleEndian.AppendUint32(b, 1) // disks
	}
	b = binary.LittleEndian.AppendUint32(b, sigEnd)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(min(count, max16)))
	b = binary.LittleEndian.AppendUint16(b, uint16(min(count, max16)))
	b = binary.LittleEndian.AppendUint32(b, uint32(min(size, max32)))
	b = binary.LittleEndian.AppendUint32(b, uint32(min(start, max32)))
	b = binary.LittleEndian.AppendUint16(b, 0) // comment
	return z.write(b)
}
