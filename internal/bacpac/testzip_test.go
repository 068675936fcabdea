package bacpac

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// testEntry is one entry of a zip built by a test.
type testEntry struct {
	Name string
	Data []byte
}

// fixtureEntries returns a fixture's entries in zip order.
func fixtureEntries(t testing.TB, name string) []testEntry {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []testEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testEntry{f.Name, data})
	}
	return out
}

// buildZip writes entries with archive/zip: deflated entries get data
// descriptors, as some writers produce; store writes them uncompressed.
func buildZip(t testing.TB, entries []testEntry, store bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		if store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withEntry returns entries with the named one's data replaced (or removed
// when data is nil).
func withEntry(entries []testEntry, name string, data []byte) []testEntry {
	var out []testEntry
	for _, e := range entries {
		if e.Name == name {
			if data == nil {
				continue
			}
			e.Data = data
		}
		out = append(out, e)
	}
	return out
}

func entryData(entries []testEntry, name string) []byte {
	for _, e := range entries {
		if e.Name == name {
			return e.Data
		}
	}
	return nil
}

var checksumRE = regexp.MustCompile(`(<Checksum Uri="/model.xml">)[0-9A-Fa-f]*(</Checksum>)`)

// withModel replaces model.xml and records its checksum in Origin.xml.
func withModel(entries []testEntry, model []byte) []testEntry {
	sum := sha256.Sum256(model)
	origin := checksumRE.ReplaceAll(entryData(entries, "Origin.xml"),
		[]byte("${1}"+strings.ToUpper(hex.EncodeToString(sum[:]))+"${2}"))
	return withEntry(withEntry(entries, "model.xml", model), "Origin.xml", origin)
}

// buildZip64 writes entries deflated with every size and offset in ZIP64
// extra fields and a ZIP64 end record, as a writer does past 4 GB.
func buildZip64(t testing.TB, entries []testEntry) []byte {
	t.Helper()
	var out, dir bytes.Buffer
	le := binary.LittleEndian
	for _, e := range entries {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.DefaultCompression)
		fw.Write(e.Data)
		fw.Close()
		crc := crc32.ChecksumIEEE(e.Data)
		off := uint64(out.Len())
		extra := le.AppendUint16(nil, 1)
		extra = le.AppendUint16(extra, 16)
		extra = le.AppendUint64(extra, uint64(len(e.Data)))
		extra = le.AppendUint64(extra, uint64(comp.Len()))
		h := le.AppendUint32(nil, 0x04034b50)
		h = le.AppendUint16(h, 45)
		h = le.AppendUint16(h, 0)
		h = le.AppendUint16(h, 8)
		h = le.AppendUint32(h, 0) // time, date
		h = le.AppendUint32(h, crc)
		h = le.AppendUint32(h, 0xffffffff)
		h = le.AppendUint32(h, 0xffffffff)
		h = le.AppendUint16(h, uint16(len(e.Name)))
		h = le.AppendUint16(h, uint16(len(extra)))
		out.Write(h)
		out.WriteString(e.Name)
		out.Write(extra)
		out.Write(comp.Bytes())

		cextra := le.AppendUint16(nil, 1)
		cextra = le.AppendUint16(cextra, 24)
		cextra = le.AppendUint64(cextra, uint64(len(e.Data)))
		cextra = le.AppendUint64(cextra, uint64(comp.Len()))
		cextra = le.AppendUint64(cextra, off)
		c := le.AppendUint32(nil, 0x02014b50)
		c = le.AppendUint16(c, 45)
		c = le.AppendUint16(c, 45)
		c = le.AppendUint16(c, 0)
		c = le.AppendUint16(c, 8)
		c = le.AppendUint32(c, 0)
		c = le.AppendUint32(c, crc)
		c = le.AppendUint32(c, 0xffffffff)
		c = le.AppendUint32(c, 0xffffffff)
		c = le.AppendUint16(c, uint16(len(e.Name)))
		c = le.AppendUint16(c, uint16(len(cextra)))
		c = le.AppendUint16(c, 0) // comment
		c = le.AppendUint16(c, 0) // disk
		c = le.AppendUint16(c, 0) // internal attributes
		c = le.AppendUint32(c, 0) // external attributes
		c = le.AppendUint32(c, 0xffffffff)
		dir.Write(c)
		dir.WriteString(e.Name)
		dir.Write(cextra)
	}
	dirOff := uint64(out.Len())
	out.Write(dir.Bytes())
	end64 := uint64(out.Len())
	r := le.AppendUint32(nil, 0x06064b50)
	r = le.AppendUint64(r, 44)
	r = le.AppendUint16(r, 45)
	r = le.AppendUint16(r, 45)
	r = le.AppendUint32(r, 0)
	r = le.AppendUint32(r, 0)
	r = le.AppendUint64(r, uint64(len(entries)))
	r = le.AppendUint64(r, uint64(len(entries)))
	r = le.AppendUint64(r, uint64(dir.Len()))
	r = le.AppendUint64(r, dirOff)
	r = le.AppendUint32(r, 0x07064b50)
	r = le.AppendUint32(r, 0)
	r = le.AppendUint64(r, end64)
	r = le.AppendUint32(r, 1)
	r = le.AppendUint32(r, 0x06054b50)
	r = le.AppendUint32(r, 0)
	r = le.AppendUint16(r, 0xffff)
	r = le.AppendUint16(r, 0xffff)
	r = le.AppendUint32(r, 0xffffffff)
	r = le.AppendUint32(r, 0xffffffff)
	r = le.AppendUint16(r, 0)
	out.Write(r)
	return out.Bytes()
}

// centralOffset returns the offset of the named entry's central directory
// header in a zip built by archive/zip.
func centralOffset(t testing.TB, z []byte, name string) int {
	t.Helper()
	sig := []byte{0x50, 0x4b, 0x01, 0x02}
	for i := 0; ; {
		j := bytes.Index(z[i:], sig)
		if j < 0 {
			t.Fatalf("no central header for %q", name)
		}
		i += j
		n := int(binary.LittleEndian.Uint16(z[i+28:]))
		if string(z[i+46:i+46+n]) == name {
			return i
		}
		i += 4
	}
}

func openBytes(b []byte) (*Package, error) {
	return Open(bytes.NewReader(b), int64(len(b)))
}
