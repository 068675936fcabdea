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
// handing it to a part compressor.
const chunkSize = 256 << 10

// chunkQueue is how many chunks may wait for each part compressor.
const chunkQueue = 2

// TableWriter writes the rows of one table into the package. Its methods
// must be called from one goroutine at a time; different TableWriters may
// run concurrently.
//
// Rows are encoded by the caller and compressed by part compressors the
// TableWriter owns: each part is deflated by one goroutine into its own
// spool file, and consecutive parts go to different goroutines in turn
// (WriterOptions.PartWorkers), so one large table also compresses on
// several cores. The compressors pass a token around a ring so that parts
// enter the package in part order: a compressor that finishes part n early
// waits, holding its spool, until part n-1 is in.
//
// Memory per table is bounded: PartWorkers*(chunkQueue+1)+1 row buffers of
// about chunkSize, plus one deflate state and two 256 KiB file buffers per
// compressor. A row larger than chunkSize grows the buffer it is in; such
// a buffer is dropped once compressed rather than kept in the pool.
type TableWriter struct {
	w     *Writer
	table *Table
	enc   *rowEncoder

	mu       sync.Mutex // guards the fields below against Abort
	buf      []byte     // encoded rows not yet handed over
	partSize int64      // uncompressed bytes in the current part
	parts    int        // parts started, the current one included
	rows     int64
	workers  []*partCompressor
	free     chan []byte
	turns    []chan struct{} // turns[i] holds the token when compressor i may add a part
	failOnce sync.Once
	failed   chan struct{} // closed when a compressor fails
	werr     error         // the first compressor error, set before failed closes
	quit     chan struct{} // closed when the table is abandoned: compressors drop their work
	quitOnce sync.Once
	closed   bool
	err      error // sticky error of this table
}

// chunk is a piece of encoded rows for a part compressor; finish closes
// the part after data is written.
type chunk struct {
	data   []byte
	part   int // number of the part the data belongs to, from 1
	finish bool
}

func newTableWriter(w *Writer, t *Table, enc *rowEncoder) *TableWriter {
	n := w.opts.PartWorkers
	buffers := n*(chunkQueue+1) + 1
	tw := &TableWriter{
		w:       w,
		table:   t,
		enc:     enc,
		buf:     make([]byte, 0, chunkSize+4096),
		workers: make([]*partCompressor, n),
		turns:   make([]chan struct{}, n),
		free:    make(chan []byte, buffers),
		failed:  make(chan struct{}),
		quit:    make(chan struct{}),
	}
	// The free channel can hold every buffer, so a compressor never
	// blocks returning one.
	for range buffers - 1 {
		tw.free <- make([]byte, 0, chunkSize+4096)
	}
	// One token circulates: at most one turn channel is ever full, so
	// passing the token on never blocks.
	for i := range tw.turns {
		tw.turns[i] = make(chan struct{}, 1)
	}
	tw.turns[0] <- struct{}{}
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
		// Start the first compressor now, so a bad TempDir shows at once.
		tw.parts = 1
		if _, err := tw.worker(); err != nil {
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

// worker returns the compressor of the current part, starting it (and its
// spool file) on first use. Parts go to the compressors in turn.
func (tw *TableWriter) worker() (*partCompressor, error) {
	i := (tw.parts - 1) % len(tw.workers)
	if c := tw.workers[i]; c != nil {
		return c, nil
	}
	f, err := os.CreateTemp(tw.w.opts.TempDir, "bacport-part-*.spool")
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	c := &partCompressor{
		tw:    tw,
		index: i,
		spool: f,
		in:    make(chan chunk, chunkQueue),
		done:  make(chan struct{}),
	}
	tw.workers[i] = c
	go c.run()
	return c, nil
}

// send hands the buffered rows to the current part's compressor; finish
// also closes the part.
func (tw *TableWriter) send(finish bool) error {
	c, err := tw.worker()
	if err != nil {
		return err
	}
	select {
	case <-tw.failed:
		return tw.werr
	case c.in <- chunk{data: tw.buf, part: tw.parts, finish: finish}:
	}
	select {
	case <-tw.failed:
		return tw.werr
	case b := <-tw.free:
		tw.buf = b[:0]
	}
	return nil
}

// compressorFailed records the first compressor error and wakes the
// sender.
func (tw *TableWriter) compressorFailed(err error) {
	tw.failOnce.Do(func() {
		tw.werr = err
		close(tw.failed)
	})
}

// fail makes err sticky, stops the compressors and removes the spools.
func (tw *TableWriter) fail(err error) error {
	err = fmt.Errorf("write table %s: %w", bracketName(tw.table.Schema, tw.table.Name), err)
	tw.err = err
	tw.abandon()
	tw.stop()
	tw.w.tableDone(tw, tw.rows, true)
	return err
}

// abandon tells the compressors to drop queued chunks and unfinished parts
// instead of adding them to the package.
func (tw *TableWriter) abandon() {
	tw.quitOnce.Do(func() { close(tw.quit) })
}

// stop ends the compressor goroutines, waits for them and removes their
// spool files. Unless the table was abandoned, the compressors first
// finish the chunks already handed to them.
func (tw *TableWriter) stop() {
	for i, c := range tw.workers {
		if c == nil {
			continue
		}
		close(c.in)
		<-c.done
		c.spool.Close()
		os.Remove(c.spool.Name())
		tw.workers[i] = nil
	}
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
	select {
	case <-tw.failed:
		return tw.fail(tw.werr)
	default:
	}
	tw.w.tableDone(tw, tw.rows, false)
	return nil
}

// abort abandons the table and removes its spool files.
func (tw *TableWriter) abort() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err == nil {
		tw.err = ErrWriterClosed
	}
	tw.closed = true
	tw.abandon()
	tw.stop()
}

// errAbandoned stops a compressor whose table was abandoned or whose
// sibling failed; the table's error is reported by whoever caused it.
var errAbandoned = errors.New("table abandoned")

// partCompressor is one compressing goroutine of a TableWriter: it
// deflates the chunks of its parts into its spool file, and at each part's
// end copies the spool into the package.
type partCompressor struct {
	tw    *TableWriter
	index int // position in tw.workers and tw.turns
	spool *os.File
	in    chan chunk
	done  chan struct{}
	bw    *bufio.Writer
	br    *bufio.Reader
	fw    *flate.Writer
	crc   uint32
	size  int64
}

func (c *partCompressor) run() {
	defer close(c.done)
	if err := c.loop(); err != nil {
		// Closing failed releases a sender blocked on this compressor;
		// chunks left in the channel are dropped.
		c.tw.compressorFailed(err)
	}
}

func (c *partCompressor) loop() error {
	c.bw = bufio.NewWriterSize(c.spool, 256<<10)
	fw, err := flate.NewWriter(c.bw, c.tw.w.opts.Level)
	if err != nil {
		return fmt.Errorf("start compressor: %w", err)
	}
	c.fw = fw
	for ch := range c.in {
		select {
		case <-c.tw.quit:
			return errAbandoned
		default:
		}
		if _, err := c.fw.Write(ch.data); err != nil {
			return fmt.Errorf("compress part: %w", err)
		}
		c.crc = crc32.Update(c.crc, crc32.IEEETable, ch.data)
		c.size += int64(len(ch.data))
		buf := ch.data
		if cap(buf) > 2*(chunkSize+4096) {
			// A huge row grew this buffer; keeping it would make every
			// buffer of the pool as large in time.
			buf = make([]byte, 0, chunkSize+4096)
		}
		c.tw.free <- buf
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
	if c.br == nil {
		c.br = bufio.NewReaderSize(c.spool, 256<<10)
	} else {
		c.br.Reset(c.spool)
	}
	// Wait for part n-1 to be in the package, then pass the turn on.
	select {
	case <-c.tw.turns[c.index]:
	case <-c.tw.quit:
		return errAbandoned
	case <-c.tw.failed:
		return errAbandoned
	}
	if err := c.tw.w.addPart(c.tw.table, e, c.br); err != nil {
		return err
	}
	c.tw.turns[(c.index+1)%len(c.tw.turns)] <- struct{}{}
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
