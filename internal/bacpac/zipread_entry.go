package bacpac

import (
	"bufio"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// readBufferSize is the size of each ranged read of compressed data. Large
// reads keep the request count low when the ReaderAt is a blob.
const readBufferSize = 256 << 10

var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// open returns a reader of the entry's uncompressed bytes. It never yields
// more than the declared size, and its final Read fails unless the data
// inflates to exactly the declared size with the declared CRC-32.
func (d *zrDir) open(e *zrEntry) (io.ReadCloser, error) {
	start, err := d.dataOffset(e)
	if err != nil {
		return nil, err
	}
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(io.NewSectionReader(d.r, start, int64(e.CompressedSize)))
	er := &entryReader{e: e, buf: br, crc: crc32.NewIEEE()}
	switch e.Method {
	case zrMethodStored:
		er.src = br
	case zrMethodDeflated:
		er.fl = flate.NewReader(br)
		er.src = er.fl
	default:
		er.Close()
		return nil, zipFormatErr("entry %q uses unsupported compression method %d",
			e.Name, e.Method)
	}
	return er, nil
}

type entryReader struct {
	e   *zrEntry
	buf *bufio.Reader
	fl  io.ReadCloser
	src io.Reader
	crc hash.Hash32
	n   uint64
	err error
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if left := r.e.UncompressedSize - r.n; uint64(len(p)) > left {
		// Ask for one byte more than declared so an entry that inflates
		// past its size is caught, without reading further.
		p = p[:left+1]
	}
	n, err := r.src.Read(p)
	r.n += uint64(n)
	if r.n > r.e.UncompressedSize {
		r.err = fmt.Errorf("%w: entry %q inflates past its declared %d bytes",
			ErrZipBomb, r.e.Name, r.e.UncompressedSize)
		return 0, r.err
	}
	r.crc.Write(p[:n])
	if err == io.EOF {
		err = r.finish()
	} else if err != nil {
		err = fmt.Errorf("%w: read entry %q: %v", ErrFormat, r.e.Name, err)
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// finish checks size and CRC once the data ends.
func (r *entryReader) finish() error {
	if r.n != r.e.UncompressedSize {
		return zipFormatErr("entry %q holds %d bytes but declares %d",
			r.e.Name, r.n, r.e.UncompressedSize)
	}
	if sum := r.crc.Sum32(); sum != r.e.CRC32 {
		return zipFormatErr("entry %q fails its CRC-32 check (%08x, want %08x)",
			r.e.Name, sum, r.e.CRC32)
	}
	return io.EOF
}

func (r *entryReader) Close() error {
	if r.fl != nil {
		r.fl.Close()
		r.fl = nil
	}
	if r.buf != nil {
		r.buf.Reset(nil)
		bufPool.Put(r.buf)
		r.buf = nil
	}
	if r.err == nil {
		r.err = fmt.Errorf("read entry %q: %w", r.e.Name, io.ErrClosedPipe)
	}
	return nil
}
