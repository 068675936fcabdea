package bacpac

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The zip reader below reads only the central directory up front and then
// each entry on demand with ranged reads, so a package held in blob storage
// is never fetched whole. It accepts what both DacFx zip writers produce
// (stored and deflated entries, data descriptors, UTF-8 names, ZIP64) and
// rejects whatever could make a caller write outside a folder or inflate
// without bound.

const (
	zrSigLocal        = 0x04034b50
	zrSigCentral      = 0x02014b50
	zrSigEnd          = 0x06054b50
	zrSigEnd64        = 0x06064b50
	zrSigEnd64Locator = 0x07064b50

	zrEndLen         = 22
	zrEnd64Len       = 56
	zrEnd64LocLen    = 20
	zrCentralLen     = 46
	zrLocalLen       = 30
	zrMaxCommentLen  = 0xffff
	zrZip64ExtraID   = 0x0001
	zrFlagEncrypted  = 0x1
	zrMethodStored   = 0
	zrMethodDeflated = 8

	// maxEntries and maxDirectorySize bound the central directory a
	// package may declare, so a lying end record cannot make the reader
	// allocate the size of the whole (possibly huge, remote) file.
	maxEntries       = 1 << 22
	maxDirectorySize = 256 << 20
	// maxDeflateRatio is just above the best ratio deflate can reach
	// (about 1032:1); a declared size beyond it is a lie.
	maxDeflateRatio = 1040
)

// zrEntry is one file of the package, as the central directory describes it.
type zrEntry struct {
	Name             string
	Method           uint16
	Flags            uint16
	CRC32            uint32
	CompressedSize   uint64
	UncompressedSize uint64
	headerOffset     uint64
	// limit is where the next entry (or the central directory) starts;
	// this entry's data must end at or before it.
	limit uint64
}

// zrDir is the parsed central directory.
type zrDir struct {
	r       io.ReaderAt
	size    int64
	entries []*zrEntry
	byName  map[string]*zrEntry
}

func zipFormatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// readZipDir reads the end records and the central directory of a zip.
func readZipDir(r io.ReaderAt, size int64) (*zrDir, error) {
	if size < zrEndLen {
		return nil, zipFormatErr("%d bytes is too short for a zip", size)
	}
	cdOffset, cdSize, count, err := readEnd(r, size)
	if err != nil {
		return nil, err
	}
	if cdOffset > uint64(size) || cdSize > uint64(size)-cdOffset {
		return nil, zipFormatErr("central directory lies outside the file")
	}
	if cdSize > maxDirectorySize || count > maxEntries || count*zrCentralLen > cdSize {
		return nil, zipFormatErr("central directory declares %d entries in %d bytes",
			count, cdSize)
	}
	buf := make([]byte, cdSize)
	if _, err := r.ReadAt(buf, int64(cdOffset)); err != nil {
		return nil, fmt.Errorf("read central directory: %w", err)
	}
	d := &zrDir{r: r, size: size, byName: make(map[string]*zrEntry, count)}
	for i := uint64(0); i < count; i++ {
		e, rest, err := parseCentral(buf)
		if err != nil {
			return nil, fmt.Errorf("read central directory entry %d: %w", i, err)
		}
		buf = rest
		if e.CompressedSize > uint64(size) || e.headerOffset > uint64(size) {
			return nil, zipFormatErr("entry %q lies outside the file", e.Name)
		}
		if strings.HasSuffix(e.Name, "/") && e.UncompressedSize == 0 {
			continue // a folder entry; OPC writers emit none, others may
		}
		key := strings.ToLower(e.Name)
		if _, dup := d.byName[key]; dup {
			return nil, zipFormatErr("entry %q appears twice", e.Name)
		}
		d.byName[key] = e
		d.entries = append(d.entries, e)
	}
	return d, d.checkLayout(cdOffset)
}

// checkLayout makes sure every entry's data lies before the next entry and
// before the central directory, so no two entries share bytes (overlapping
// entries are how the densest zip bombs are built).
func (d *zrDir) checkLayout(cdOffset uint64) error {
	sorted := slices.Clone(d.entries)
	slices.SortFunc(sorted, func(a, b *zrEntry) int {
		switch {
		case a.headerOffset < b.headerOffset:
			return -1
		case a.headerOffset > b.headerOffset:
			return 1
		}
		return 0
	})
	for i, e := range sorted {
		e.limit = cdOffset
		if i+1 < len(sorted) {
			e.limit = sorted[i+1].headerOffset
		}
		minEnd := e.headerOffset + zrLocalLen + uint64(len(e.Name)) + e.CompressedSize
		if e.headerOffset >= e.limit || minEnd < e.headerOffset || minEnd > e.limit {
			return zipFormatErr("entry %q overlaps the next entry or the directory", e.Name)
		}
	}
	return nil
}

// readEnd finds the end-of-central-directory record, following the ZIP64
// locator when there is one.
func readEnd(r io.ReaderAt, size int64) (offset, dirSize, count uint64, err error) {
	tail := min(size, zrEndLen+zrMaxCommentLen+zrEnd64LocLen)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, 0, 0, fmt.Errorf("read zip end record: %w", err)
	}
	pos := -1
	for i := len(buf) - zrEndLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == zrSigEnd &&
			int(binary.LittleEndian.Uint16(buf[i+20:]))+i+zrEndLen == len(buf) {
			pos = i
			break
		}
	}
	if pos < 0 {
		return 0, 0, 0, zipFormatErr("no zip end record (not a zip file)")
	}
	end := buf[pos:]
	if binary.LittleEndian.Uint16(end[4:]) != 0 || binary.LittleEndian.Uint16(end[6:]) != 0 {
		return 0, 0, 0, zipFormatErr("multi-disk zips are not supported")
	}
	count = uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize = uint64(binary.LittleEndian.Uint32(end[12:]))
	offset = uint64(binary.LittleEndian.Uint32(end[16:]))

	if pos >= zrEnd64LocLen && binary.LittleEndian.Uint32(buf[pos-zrEnd64LocLen:]) == zrSigEnd64Locator {
		loc := buf[pos-zrEnd64LocLen:]
		return readEnd64(r, size, binary.LittleEndian.Uint64(loc[8:]))
	}
	return offset, dirSize, count, nil
}

func readEnd64(r io.ReaderAt, size int64, at uint64) (offset, dirSize, count uint64, err error) {
	if at > uint64(size) || uint64(size)-at < zrEnd64Len {
		return 0, 0, 0, zipFormatErr("ZIP64 end record lies outside the file")
	}
	b := make([]byte, zrEnd64Len)
	if _, err := r.ReadAt(b, int64(at)); err != nil {
		return 0, 0, 0, fmt.Errorf("read ZIP64 end record: %w", err)
	}
	if binary.LittleEndian.Uint32(b) != zrSigEnd64 {
		return 0, 0, 0, zipFormatErr("bad ZIP64 end record signature")
	}
	count = binary.LittleEndian.Uint64(b[32:])
	dirSize = binary.LittleEndian.Uint64(b[40:])
	offset = binary.LittleEndian.Uint64(b[48:])
	return offset, dirSize, count, nil
}

// parseCentral parses one central directory header at the start of b.
func parseCentral(b []byte) (*zrEntry, []byte, error) {
	if len(b) < zrCentralLen || binary.LittleEndian.Uint32(b) != zrSigCentral {
		return nil, nil, zipFormatErr("bad central directory header")
	}
	le := binary.LittleEndian
	e := &zrEntry{
		Flags:            le.Uint16(b[8:]),
		Method:           le.Uint16(b[10:]),
		CRC32:            le.Uint32(b[16:]),
		CompressedSize:   uint64(le.Uint32(b[20:])),
		UncompressedSize: uint64(le.Uint32(b[24:])),
		headerOffset:     uint64(le.Uint32(b[42:])),
	}
	nameLen, extraLen, commentLen := int(le.Uint16(b[28:])), int(le.Uint16(b[30:])), int(le.Uint16(b[32:]))
	n := zrCentralLen + nameLen + extraLen + commentLen
	if len(b) < n {
		return nil, nil, zipFormatErr("central directory header overruns the directory")
	}
	e.Name = string(b[zrCentralLen : zrCentralLen+nameLen])
	if err := checkEntryName(e.Name); err != nil {
		return nil, nil, err
	}
	if err := e.applyZip64(b[zrCentralLen+nameLen : zrCentralLen+nameLen+extraLen]); err != nil {
		return nil, nil, err
	}
	if e.Flags&zrFlagEncrypted != 0 {
		return nil, nil, zipFormatErr("entry %q is encrypted", e.Name)
	}
	if err := e.checkSizes(); err != nil {
		return nil, nil, err
	}
	return e, b[n:], nil
}

// applyZip64 replaces saturated 32-bit fields with their ZIP64 values.
func (e *zrEntry) applyZip64(extra []byte) error {
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			return zipFormatErr("entry %q has a truncated extra field", e.Name)
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != zrZip64ExtraID {
			continue
		}
		for _, p := range []*uint64{&e.UncompressedSize, &e.CompressedSize, &e.headerOffset} {
			if *p != 0xffffffff {
				continue
			}
			if len(field) < 8 {
				return zipFormatErr("entry %q has a short ZIP64 extra field", e.Name)
			}
			*p, field = binary.LittleEndian.Uint64(field), field[8:]
		}
	}
	return nil
}

// checkSizes rejects declared sizes no honest entry has.
func (e *zrEntry) checkSizes() error {
	switch e.Method {
	case zrMethodStored:
		if e.CompressedSize != e.UncompressedSize {
			return fmt.Errorf("%w: stored entry %q declares %d bytes stored but %d bytes long",
				ErrZipBomb, e.Name, e.CompressedSize, e.UncompressedSize)
		}
	case zrMethodDeflated:
		if e.UncompressedSize/maxDeflateRatio > e.CompressedSize+1 {
			return fmt.Errorf("%w: entry %q declares %d bytes inflated from %d",
				ErrZipBomb, e.Name, e.UncompressedSize, e.CompressedSize)
		}
	}
	return nil
}

// checkEntryName rejects names that could escape a folder if a caller ever
// extracted the package: absolute paths, drive letters, backslashes, dot
// segments and control characters.
func checkEntryName(name string) error {
	bad := func(why string) error {
		return zipFormatErr("unsafe entry name %q: %s", name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.ContainsRune(name, '\\'):
		return bad("backslash")
	case len(name) >= 2 && name[1] == ':':
		return bad("drive letter")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return bad("control character")
		}
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("empty or dot path segment")
		}
	}
	return nil
}

// lookup returns the named entry, matching case-insensitively as OPC part
// names do.
func (d *zrDir) lookup(name string) *zrEntry {
	return d.byName[strings.ToLower(name)]
}

// dataOffset reads the entry's local header and returns where its data
// starts.
func (d *zrDir) dataOffset(e *zrEntry) (int64, error) {
	var h [zrLocalLen]byte
	if _, err := d.r.ReadAt(h[:], int64(e.headerOffset)); err != nil {
		return 0, fmt.Errorf("read local header of %q: %w", e.Name, err)
	}
	if binary.LittleEndian.Uint32(h[:]) != zrSigLocal {
		return 0, zipFormatErr("entry %q: bad local header signature", e.Name)
	}
	n := uint64(binary.LittleEndian.Uint16(h[26:])) + uint64(binary.LittleEndian.Uint16(h[28:]))
	start := e.headerOffset + zrLocalLen + n
	if start+e.CompressedSize > e.limit {
		return 0, zipFormatErr("entry %q: data overruns the next entry", e.Name)
	}
	return int64(start), nil
}
