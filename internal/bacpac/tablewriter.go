package bacpac

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/flate"
)

// chunkSize is how much encoded row data a TableWriter gathers before
// handing it to its compressor goroutine.
const chunkSize = 256 << 10

// TableWriter writes the rows of one table into the package. Its methods
// must be called from one goroutine at a time; different TableWriters may
// run concurrently. Rows are encoded by the caller and compressed by a
// goroutine the TableWriter owns, so encoding and compression overlap.
type TableWriter struct {
	w     *Writer
	table *Table
	enc   *rowEncoder

	mu       sync.Mutex // guards the fields below against Abort
	buf      []byte     // encoded rows not yet handed over
	partSize int64      // uncompressed bytes in the current part
	parts    int        // parts started, the current one included
	rows     int64
	sent     chan chunk
	free     chan []byte
	done     chan struct{}
	spool    *os.File
	werr     error // set by the compressor goroutine before done closes
	closed   bool
	err      error // sticky error of this table
}

// chunk is a piece of encoded rows for the compressor goroutine; finish
// closes the current part after data is written.
type chunk struct {
	data   []byte
	part   int // number of the part the data belongs to, from 1
	finish bool
}

func newTableWriter(w *Writer, t *Table, enc *rowEncoder) *TableWriter {
	tw := &TableWriter{
		w:     w,
		table: t,
		enc:   enc,
		buf:   make([]byte, 0, chunkSize+4096),
		sent:  make(chan chunk, 2),
		free:  make(chan []byte, 3),
		done:  make(chan struct{}),
	}
	for range 2 {
		tw.free <- make([]byte, 0, chunkSize+4096)
	}
	return tw
}

// Rows returns the number of rows written so far.
func (tw *TableWriter) Rows() int64 {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.rows
}

// WriteRow encodes one row: one value per data column (computed columns
// excepted), in model order, each of the Go type value.go assigns to the
// column's SQL type, nil for NULL. A value that does not fit its column is
// reported with an error wrapping ErrInvalidValue that names the table, the
// row number (from 1) and the column; the row is then not written and the
// TableWriter stays usable. Any other error is final.
//
// WriteRow encodes the row before it returns, so the caller may reuse row
// and its values. Temporal values are rounded to the column's scale as SQL
// Server rounds; datetime, datetime2 and smalldatetime take the wall clock
// of the time.Time in its own location, datetimeoffset its instant and
// zone offset.
func (tw *TableWriter) WriteRow(row []any) error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err != nil {
		return tw.err
	}
	if tw.closed {
		return ErrWriterClosed
	}
	before := len(tw.buf)
	buf, err := tw.enc.appendRow(tw.buf, row)
	tw.buf = buf
	if err != nil {
		return fmt.Errorf("write row %d of table %s: %w",
			tw.rows+1, bracketName(tw.table.Schema, tw.table.Name), err)
	}
	tw.rows++
	if tw.parts == 0 {
		tw.parts = 1
		if err := tw.start(); err != nil {
			return tw.fail(err)
		}
	}
	tw.partSize += int64(len(tw.buf) - before)
	if tw.partSize >= tw.w.opts.PartSize {
		if err := tw.send(true); err != nil {
			return tw.fail(err)
		}
		tw.partSize = 0
		tw.parts++
		return nil
	}
	if len(tw.buf) >= chunkSize {
		if err := tw.send(false); err != nil {
			return tw.fail(err)
		}
	}
	return nil
}

// start creates the spool file and the compressor goroutine when the
// table's first row arrives (empty tables get no part).
func (tw *TableWriter) start() error {
	f, err := os.CreateTemp(tw.w.opts.TempDir, "bacport-part-*.spool")
	if err != nil {
		return fmt.Errorf("create spool file: %w", err)
	}
	tw.spool = f
	c := &partCompressor{tw: tw, spool: f, level: tw.w.opts.Level}
	go c.run()
	return nil
}

// send hands the buffered rows to the compressor; finish also closes the
// current part.
func (tw *TableWriter) send(finish bool) error {
	select {
	case <-tw.done:
		return tw.compressorErr()
	case tw.sent <- chunk{data: tw.buf, part: tw.parts, finish: finish}:
	}
	select {
	case <-tw.done:
		return tw.compressorErr()
	case b := <-tw.free:
		tw.buf = b[:0]
	}
	return nil
}

func (tw *TableWriter) compressorErr() error {
	if tw.werr != nil {
		return tw.werr
	}
	return errors.New("compressor stopped")
}

// fail makes err sticky, stops the compressor and removes the spool file.
func (tw *TableWriter) fail(err error) error {
	err = fmt.Errorf("write table %s: %w", bracketName(tw.table.Schema, tw.table.Name), err)
	tw.err = err
	tw.stop()
	tw.w.tableDone(tw, tw.rows, true)
	return err
}

// stop ends the compressor goroutine, if any, and removes the spool.
func (tw *TableWriter) stop() {
	if tw.spool == nil {
		return
	}
	close(tw.sent)
	<-tw.done
	tw.spool.Close()
	os.Remove(tw.spool.Name())
	tw.spool = nil
}

// Close writes the table's last part into the package.
func (tw *TableWriter) Close() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err != nil {
		return tw.err
	}
	if tw.closed {
		return nil
	}
	tw.closed = true
	if tw.partSize > 0 {
		if err := tw.send(true); err != nil {
			return tw.fail(err)
		}
	}
	tw.stop()
	if tw.werr != nil {
		return tw.fail(tw.werr)
	}
	tw.w.tableDone(tw, tw.rows, false)
	return nil
}

// abort abandons the table and removes its spool file.
func (tw *TableWriter) abort() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err == nil {
		tw.err = ErrWriterClosed
	}
	tw.closed = true
	tw.stop()
}

// partCompressor is the goroutine side of a TableWriter: it deflates
// chunks into the spool file, and at each part's end copies the spool into
// the package.
type partCompressor struct {
	tw    *TableWriter
	spool *os.File
	level int
	bw    *bufio.Writer
	fw    *flate.Writer
	crc   uint32
	size  int64
}

func (c *partCompressor) run() {
	// Closing done (after recording the error) releases a sender blocked
	// on sent or free; chunks left in the channel are dropped.
	c.tw.werr = c.loop()
	close(c.tw.done)
}

func (c *partCompressor) loop() error {
	c.bw = bufio.NewWriterSize(c.spool, 256<<10)
	fw, err := flate.NewWriter(c.bw, c.level)
	if err != nil {
		return fmt.Errorf("start compressor: %w", err)
	}
	c.fw = fw
	for ch := range c.tw.sent {
		if _, err := c.fw.Write(ch.data); err != nil {
			return fmt.Errorf("compress part: %w", err)
		}
		c.crc = crc32.Update(c.crc, crc32.IEEETable, ch.data)
		c.size += int64(len(ch.data))
		c.tw.free <- ch.data
		if ch.finish {
			if err := c.finishPart(ch.part); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishPart closes the compressed stream of part n (counted from 1),
// copies it into the package and resets the spool for the next part.
func (c *partCompressor) finishPart(n int) error {
	if err := c.fw.Close(); err != nil {
		return fmt.Errorf("compress part: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("write spool file: %w", err)
	}
	csize, err := c.spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("write spool file: %w", err)
	}
	if _, err := c.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spool file: %w", err)
	}
	e := zipEntry{
		name:   partName(c.tw.table, n-1),
		method: zipDeflate,
		crc:    c.crc,
		csize:  uint64(csize),
		usize:  uint64(c.size),
	}
	body := bufio.NewReaderSize(c.spool, 256<<10)
	if err := c.tw.w.addPart(c.tw.table, e, body); err != nil {
		return err
	}
	if err := c.spool.Truncate(0); err != nil {
		return fmt.Errorf("reset spool file: %w", err)
	}
	if _, err := c.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reset spool file: %w", err)
	}
	c.bw.Reset(c.spool)
	c.fw.Reset(c.bw)
	c.crc, c.size = 0, 0
	return nil
}
