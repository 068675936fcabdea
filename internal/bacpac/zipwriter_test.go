package bacpac

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"testing"
	"time"
)

// sparseFile records writes at their offsets and reads zeros elsewhere, so
// a test can build a zip far larger than memory as long as the big entry
// bodies are never written.
type sparseFile struct {
	pos    int64
	chunks []sparseChunk
}

type sparseChunk struct {
	off  int64
	data []byte
}

func (s *sparseFile) Write(p []byte) (int, error) {
	s.chunks = append(s.chunks, sparseChunk{s.pos, bytes.Clone(p)})
	s.pos += int64(len(p))
	return len(p), nil
}

func (s *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	i := sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return c.off+int64(len(c.data)) > off
	})
	for ; i < len(s.chunks) && s.chunks[i].off < off+int64(len(p)); i++ {
		c := s.chunks[i]
		lo := max(c.off, off)
		hi := min(c.off+int64(len(c.data)), off+int64(len(p)))
		copy(p[lo-off:hi-off], c.data[lo-c.off:hi-c.off])
	}
	if off+int64(len(p)) > s.pos {
		n := max(s.pos-off, 0)
		return int(n), io.EOF
	}
	return len(p), nil
}

// skip moves the write position over n zero bytes without storing them.
func (s *sparseFile) skip(n int64) { s.pos += n }

// TestZipWriter_Zip64 builds a package whose middle entry is larger than
// 4 GiB, so the entry's sizes and the following entry's offset need ZIP64
// records, and reads it back with archive/zip.
func TestZipWriter_Zip64(t *testing.T) {
	sf := &sparseFile{}
	z := newZipWriter(sf, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := z.addBytes("first.xml", []byte("<a/>"), zipDeflate); err != nil {
		t.Fatal(err)
	}

	// The big entry: its header is written for real, its 5 GiB of stored
	// zeros are skipped.
	const bigSize = 5 << 30
	big := zipEntry{name: "Data/dbo.Big/TableData-000-00000.BCP", method: zipStore,
		crc: 0x12345678, csize: bigSize, usize: bigSize, offset: z.offset}
	if err := z.write(z.localHeader(&big)); err != nil {
		t.Fatal(err)
	}
	sf.skip(bigSize)
	z.offset += bigSize
	z.dir = append(z.dir, big)

	last := []byte("after the big one")
	if err := z.addBytes("last.txt", last, zipStore); err != nil {
		t.Fatal(err)
	}
	if err := z.finish(); err != nil {
		t.Fatal(err)
	}

	zr, err := zip.NewReader(sf, sf.pos)
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	if len(zr.File) != 3 {
		t.Fatalf("got %d entries, want 3", len(zr.File))
	}
	f := zr.File[1]
	if f.Name != big.name || f.UncompressedSize64 != bigSize || f.CompressedSize64 != bigSize {
		t.Errorf("big entry = %s %d/%d, want %s %d", f.Name, f.CompressedSize64, f.UncompressedSize64, big.name, int64(bigSize))
	}
	if off, err := f.DataOffset(); err != nil || off != int64(big.offset)+30+int64(len(big.name))+20+28 {
		t.Errorf("big entry data offset = %d, %v", off, err)
	}
	rc, err := zr.File[2].Open()
	if err != nil {
		t.Fatalf("open entry past 4 GiB: %v", err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, last) {
		t.Errorf("entry past 4 GiB = %q, %v; want %q", got, err, last)
	}
	if zr.File[2].Modified.Year() != 2026 {
		t.Errorf("modified = %v, want the writer's clock", zr.File[2].Modified)
	}
}

// TestZipWriter_ManyEntries checks the ZIP64 end records for more than
// 65,535 entries.
func TestZipWriter_ManyEntries(t *testing.T) {
	var buf bytes.Buffer
	z := newZipWriter(&buf, time.Now())
	const n = 70_000
	for i := range n {
		data := fmt.Appendf(nil, "%d", i)
		e := zipEntry{name: fmt.Sprintf("Data/dbo.T/TableData-%06d.BCP", i), method: zipStore,
			crc: crc32.ChecksumIEEE(data), csize: uint64(len(data)), usize: uint64(len(data))}
		if err := z.addRaw(e, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.finish(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	if len(zr.File) != n {
		t.Fatalf("got %d entries, want %d", len(zr.File), n)
	}
	rc, _ := zr.File[n-1].Open()
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != fmt.Sprint(n-1) {
		t.Errorf("last entry = %q, %v", got, err)
	}
}

func TestPartName(t *testing.T) {
	tbl := &Table{Schema: "dbo", Name: "Order Details/ü%"}
	cases := []struct {
		i    int
		want string
	}{
		{0, "Data/dbo.Order%20Details%2F%C3%BC%25/TableData-000-00000.BCP"},
		{999, "Data/dbo.Order%20Details%2F%C3%BC%25/TableData-999-00000.BCP"},
		{1000, "Data/dbo.Order%20Details%2F%C3%BC%25/TableData-999-00001.BCP"},
		{5000, "Data/dbo.Order%20Details%2F%C3%BC%25/TableData-999-04001.BCP"},
	}
	for _, c := range cases {
		if got := partName(tbl, c.i); got != c.want {
			t.Errorf("partName(%d) = %s, want %s", c.i, got, c.want)
		}
	}
}
