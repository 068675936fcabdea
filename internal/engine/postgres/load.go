package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// copyChunk is how many encoded bytes the COPY stream gathers before
// handing them to pgconn, which sends them as one CopyData message.
const copyChunk = 64 << 10

// copyStream is the io.Reader a COPY FROM STDIN pulls: it encodes rows
// from next on demand, so no more than about one chunk is held.
//
// pgconn reads the stream on a goroutine of its own and, when the
// connection fails or the server answers with an error, CopyFrom returns
// without waiting for that goroutine. mu and closed keep such a late Read
// from calling next after Load has returned and the caller has closed the
// rows behind next.
type copyStream struct {
	mu     sync.Mutex
	closed bool

	table  string
	cols   []*targetCol
	binary bool
	lossy  bool
	next   func() ([]any, error)
	// raw, when set, feeds the stream instead of next: values are
	// transcoded where trans has a transcoder for their column and
	// decoded and encoded otherwise.
	raw   engine.RawRows
	trans []transcoder

	buf     []byte
	off     int
	rows    int64
	eof     bool
	started bool
	err     error // the first error of ours, reported instead of the server's
}

func (s *copyStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errCopyStreamClosed
	}
	for s.off >= len(s.buf) {
		if s.err != nil {
			return 0, s.err
		}
		if s.eof {
			return 0, io.EOF
		}
		s.buf, s.off = s.buf[:0], 0
		s.fill()
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

var errCopyStreamClosed = errors.New("the load ended")

// close waits for a Read in progress and stops later ones. It returns the
// stream's own error and row count, safe to read once it is closed.
func (s *copyStream) close() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.rows, s.err
}

func (s *copyStream) fill() {
	if !s.started && s.binary {
		s.buf = append(s.buf, copySignature...)
		s.buf = append(s.buf, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	s.started = true
	for len(s.buf) < copyChunk {
		var err error
		if s.raw != nil {
			err = s.transcodeNext()
		} else {
			err = s.encodeNext()
		}
		if err == io.EOF {
			if s.binary {
				s.buf = append(s.buf, 0xff, 0xff)
			}
			s.eof = true
			return
		}
		if err != nil {
			s.err = err
			return
		}
	}
}

// encodeNext appends the next row of next.
func (s *copyStream) encodeNext() error {
	row, err := s.next()
	if err != nil {
		return err
	}
	mark, err := s.beginRow(len(row))
	if err != nil {
		return err
	}
	for i := range s.cols {
		if err := s.appendValue(i, row[i]); err != nil {
			s.buf = s.buf[:mark]
			return err
		}
	}
	s.endRow()
	return nil
}

// transcodeNext appends the next row of raw.
func (s *copyStream) transcodeNext() error {
	cells, err := s.raw.Next()
	if err != nil {
		return err
	}
	mark, err := s.beginRow(len(cells))
	if err != nil {
		return err
	}
	for i := range s.cols {
		b := cells[i]
		if b != nil && s.trans[i] != nil {
			if out, ok := s.trans[i](s.buf, b); ok {
				s.buf = out
				continue
			}
		}
		v, err := s.raw.Decode(i, b)
		if err == nil {
			err = s.appendValue(i, v)
		}
		if err != nil {
			s.buf = s.buf[:mark]
			return err
		}
	}
	s.endRow()
	return nil
}

// beginRow counts a row of the given number of values and starts it;
// mark is where the row starts in buf.
func (s *copyStream) beginRow(values int) (mark int, err error) {
	s.rows++
	if values != len(s.cols) {
		return 0, fmt.Errorf("load %s row %d: %d values for %d columns", s.table, s.rows,
			values, len(s.cols))
	}
	mark = len(s.buf)
	if s.binary {
		s.buf = append(s.buf, byte(len(s.cols)>>8), byte(len(s.cols)))
	}
	return mark, nil
}

func (s *copyStream) endRow() {
	if !s.binary {
		s.buf = append(s.buf, '\n')
	}
}

// appendValue converts v for column i and appends it.
func (s *copyStream) appendValue(i int, v any) error {
	c := s.cols[i]
	if !s.binary && i > 0 {
		s.buf = append(s.buf, '\t')
	}
	if v == nil {
		if s.binary {
			s.buf = append(s.buf, 0xff, 0xff, 0xff, 0xff)
		} else {
			s.buf = append(s.buf, '\\', 'N')
		}
		return nil
	}
	v, err := c.convert(v, s.lossy)
	if err != nil {
		return &engine.ValueError{Table: s.table, Column: c.name, Row: s.rows, Err: err}
	}
	if s.binary {
		s.buf = appendBinary(s.buf, c.kind, v)
	} else {
		s.buf = appendText(s.buf, c.kind, v)
	}
	return nil
}

// Load streams a table's rows into it with COPY FROM STDIN, in binary
// form when every column has a binary codec here and in text form
// otherwise.
func (t *target) Load(ctx context.Context, tb *bacpac.Table, next func() ([]any, error)) (int64, error) {
	return t.load(ctx, tb, func(s *copyStream) { s.next = next })
}

// LoadRaw is Load from the package's stored values, transcoding those of
// the common types straight into COPY's binary form (transcode.go).
func (t *target) LoadRaw(ctx context.Context, tb *bacpac.Table, rows engine.RawRows) (int64, error) {
	return t.load(ctx, tb, func(s *copyStream) {
		s.raw = rows
		s.trans = make([]transcoder, len(s.cols))
		kinds := rows.Kinds()
		for i, c := range s.cols {
			if s.binary && i < len(kinds) {
				s.trans[i] = transcoderFor(kinds[i], c)
			}
		}
	})
}

// load runs the COPY of a table; feed sets where the stream's rows come
// from.
func (t *target) load(ctx context.Context, tb *bacpac.Table, feed func(*copyStream)) (int64, error) {
	t.mu.Lock()
	lt := t.tables[[2]string{tb.Schema, tb.Name}]
	t.mu.Unlock()
	if lt == nil {
		return 0, fmt.Errorf("load %s.%s: table was not created", tb.Schema, tb.Name)
	}
	name := tb.Schema + "." + tb.Name
	s := &copyStream{table: name, cols: lt.cols, binary: lt.binary, lossy: t.d.Lossy || t.cfg.Lossy,
		buf: make([]byte, 0, copyChunk+4096)}
	feed(s)
	cols := make([]string, len(lt.cols))
	for i, c := range lt.cols {
		cols[i] = quoteIdent(c.name)
	}
	format := "binary"
	if !lt.binary {
		format = "text"
	}
	qname := qualified(lt.schema, lt.name)
	sql := "COPY " + qname + " (" + strings.Join(cols, ", ") +
		") FROM STDIN (FORMAT " + format + ", FREEZE)"

	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", name, err)
	}
	defer conn.Release()
	// COPY FREEZE into a table emptied in the same transaction writes the
	// rows already frozen and visible to all, so the index builds in
	// Finish, and the first VACUUM, need not rewrite every page to set
	// hint bits. The table is new and empty, so the TRUNCATE loses nothing.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", name, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "TRUNCATE "+qname); err != nil {
		return 0, fmt.Errorf("load %s: %w", name, err)
	}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, s, sql)
	if rows, serr := s.close(); serr != nil {
		return rows, fmt.Errorf("load %s: %w", name, serr)
	}
	if err != nil {
		if ve := serverValueError(name, err); ve != nil {
			return 0, fmt.Errorf("load %s: %w", name, ve)
		}
		return 0, fmt.Errorf("load %s: %w", name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("load %s: %w", name, err)
	}
	return tag.RowsAffected(), nil
}

var copyWhere = regexp.MustCompile(`COPY [^,]+, line (\d+)(?:, column ([^:]+))?`)

// serverValueError turns a COPY error that names a line and column (an
// invalid JSON text, say) into a ValueError.
func serverValueError(table string, err error) *engine.ValueError {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.HasPrefix(pgErr.Code, "22") {
		return nil
	}
	m := copyWhere.FindStringSubmatch(pgErr.Where)
	if m == nil {
		return nil
	}
	row, _ := strconv.ParseInt(m[1], 10, 64)
	return &engine.ValueError{Table: table, Column: m[2], Row: row, Err: err}
}
