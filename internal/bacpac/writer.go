package bacpac

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Defaults the Writer applies to zero WriterOptions fields.
const (
	// DefaultPartSize is the uncompressed size after which a table's
	// current part is closed and a new one started.
	DefaultPartSize = 64 << 20
	// DefaultLevel is the deflate level for parts: the fastest level of
	// github.com/klauspost/compress/flate, which still shrinks BCP data
	// several times.
	DefaultLevel = 1
	// DefaultPartWorkers is how many parts of one table are compressed at
	// the same time.
	DefaultPartWorkers = 2
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// PartSize is the uncompressed size in bytes at which a table's part
	// is closed and the next begun (rows never straddle parts). Zero means
	// DefaultPartSize.
	PartSize int64
	// Level is the deflate level for parts, 1 (fastest) to 9 (smallest).
	// Zero means DefaultLevel.
	Level int
	// PartWorkers is how many goroutines compress one table's parts, each
	// part in one goroutine with its own spool file; consecutive parts go
	// to different goroutines. Zero means DefaultPartWorkers.
	PartWorkers int
	// TempDir is where each table spools its compressed parts before they
	// are copied into the package. Empty means os.TempDir().
	TempDir string
	// Source describes the exported database for Origin.xml and
	// DacMetadata.xml.
	Source ServerInfo
	// Now is the clock for zip timestamps and Origin.xml; nil means
	// time.Now.
	Now func() time.Time
}

// ServerInfo describes the database a package was exported from.
type ServerInfo struct {
	// Server is the source server's name, e.g. "db.example.com".
	Server string
	// Database is the source database's name; it becomes the package
	// name in DacMetadata.xml.
	Database string
	// Engine names the source engine and its version, e.g.
	// "PostgreSQL 16.4"; it is written into Origin.xml's ServerVersion
	// text.
	Engine string
}

// Writer writes one package to an io.Writer, strictly sequentially: the
// schema parts first, then each table's data parts as they fill, then the
// package relationships, Origin.xml and the zip directory. The output is
// never read back or seeked, so it may be a network upload.
//
// The model is serialized when the Writer is created; later changes to it
// are not seen. Tables may be written concurrently, each through its own
// TableWriter: every table compresses its parts in WriterOptions.PartWorkers
// goroutines, each into its own spool file, and a finished part is copied
// into the package under a lock, in part order. Memory stays bounded by the
// number of open tables times PartWorkers, whatever the tables' size.
type Writer struct {
	model    *Model
	opts     WriterOptions
	modelXML []byte
	counts   map[string]int
	start    time.Time

	mu     sync.Mutex // guards everything below and the output
	zip    *zipWriter
	parts  []writtenPart
	open   map[*Table]*TableWriter
	done   map[*Table]bool
	rows   map[*Table]int64
	failed []*Table // tables whose TableWriter failed
	bytes  int64    // uncompressed BCP bytes
	err    error    // sticky: the output is unusable
	closed bool
}

// writtenPart is one data part already in the package.
type writtenPart struct {
	table *Table
	name  string // zip entry name
}

// ErrWriterClosed is returned by a Writer or TableWriter used after Close or
// Abort.
var ErrWriterClosed = errors.New("package writer closed")

// NewWriter starts a package for m on w and writes model.xml,
// DacMetadata.xml and [Content_Types].xml at once. It checks that every
// column's type can be written.
func NewWriter(w io.Writer, m *Model, opts WriterOptions) (*Writer, error) {
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.Level == 0 {
		opts.Level = DefaultLevel
	}
	if opts.Level < 1 || opts.Level > 9 {
		return nil, fmt.Errorf("new package writer: deflate level %d is not in 1..9", opts.Level)
	}
	if opts.PartWorkers <= 0 {
		opts.PartWorkers = DefaultPartWorkers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, t := range m.Tables {
		if _, err := newRowEncoder(t); err != nil {
			return nil, fmt.Errorf("new package writer: %w", err)
		}
	}
	modelXML, counts, err := marshalModel(m)
	if err != nil {
		return nil, fmt.Errorf("new package writer: %w", err)
	}
	pw := &Writer{
		model:    m,
		opts:     opts,
		modelXML: modelXML,
		counts:   counts,
		start:    opts.Now(),
		open:     make(map[*Table]*TableWriter),
		done:     make(map[*Table]bool),
		rows:     make(map[*Table]int64),
	}
	pw.zip = newZipWriter(w, pw.start)
	head := []struct {
		name string
		data []byte
	}{
		{"model.xml", modelXML},
		{"DacMetadata.xml", dacMetadataXML(opts.Source.Database)},
		{"[Content_Types].xml", []byte(contentTypesXML)},
	}
	for _, e := range head {
		if err := pw.zip.addBytes(e.name, e.data, zipDeflate); err != nil {
			return nil, fmt.Errorf("new package writer: %w", err)
		}
	}
	return pw, nil
}

// ModelChecksum returns the SHA-256 of model.xml as Origin.xml records it.
func (w *Writer) ModelChecksum() string {
	sum := sha256.Sum256(w.modelXML)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Table starts writing the rows of t, which must be one of the model's
// tables (the same pointer, or the same schema and name). Each table can be
// written once. Table is safe to call from several goroutines, and the
// returned TableWriters may be used concurrently with each other.
func (w *Writer) Table(t *Table) (*TableWriter, error) {
	mt := w.model.Table(t.Schema, t.Name)
	if mt == nil {
		return nil, fmt.Errorf("write table %s: not in the package model",
			bracketName(t.Schema, t.Name))
	}
	enc, err := newRowEncoder(mt)
	if err != nil {
		return nil, fmt.Errorf("write table %s: %w", bracketName(t.Schema, t.Name), err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return nil, ErrWriterClosed
	case w.err != nil:
		return nil, w.err
	case w.open[mt] != nil || w.done[mt]:
		return nil, fmt.Errorf("write table %s: already written", bracketName(mt.Schema, mt.Name))
	}
	tw := newTableWriter(w, mt, enc)
	w.open[mt] = tw
	return tw, nil
}

// addPart copies a finished, compressed part into the package.
func (w *Writer) addPart(t *Table, e zipEntry, body io.Reader) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriterClosed
	}
	if err := w.zip.addRaw(e, body); err != nil {
		w.err = err
		return err
	}
	w.parts = append(w.parts, writtenPart{table: t, name: e.name})
	w.bytes += int64(e.usize)
	return nil
}

// tableDone records a table's row count when its TableWriter closes.
func (w *Writer) tableDone(tw *TableWriter, rows int64, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.open, tw.table)
	w.done[tw.table] = true
	if failed {
		w.failed = append(w.failed, tw.table)
		return
	}
	w.rows[tw.table] = rows
}

// Close finishes the package: it writes _rels/.rels, Origin.xml and the zip
// directory. Every TableWriter must have been closed. Close does not close
// the underlying io.Writer. After a failed Close, call Abort to remove any
// spool files.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrWriterClosed
	}
	if w.err != nil {
		return w.err
	}
	for t := range w.open {
		return fmt.Errorf("close package: table %s is still being written",
			bracketName(t.Schema, t.Name))
	}
	// A failed table may have some parts in the package already; finishing
	// it would make a package that silently lacks rows.
	if len(w.failed) > 0 {
		t := w.failed[0]
		return fmt.Errorf("close package: writing table %s failed", bracketName(t.Schema, t.Name))
	}
	w.closed = true

	if err := w.zip.addBytes("_rels/.rels", relsXML(w.parts), zipStore); err != nil {
		w.err = err
		return err
	}
	origin := w.originXML()
	if err := w.zip.addBytes("Origin.xml", origin, zipStore); err != nil {
		w.err = err
		return err
	}
	if err := w.zip.finish(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Abort stops the package: open TableWriters are abandoned and their spool
// files removed. The output holds an incomplete package. Abort may be
// called after Close and more than once.
func (w *Writer) Abort() {
	w.mu.Lock()
	open := make([]*TableWriter, 0, len(w.open))
	for _, tw := range w.open {
		open = append(open, tw)
	}
	w.closed = true
	if w.err == nil {
		w.err = ErrWriterClosed
	}
	w.mu.Unlock()
	for _, tw := range open {
		tw.abort()
	}
}

// Rows returns the number of rows written for each table whose TableWriter
// closed successfully, keyed by table.
func (w *Writer) Rows() map[*Table]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[*Table]int64, len(w.rows))
	for t, n := range w.rows {
		out[t] = n
	}
	return out
}
