package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	gomysql "github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// loadChunkRows bounds one LOAD DATA statement, and so one transaction's
// undo log, on large tables. Small transactions keep the undo pages out of
// the buffer pool's way: loading 5 M rows in chunks of 64 Ki rows took
// about 12% less server CPU than in chunks of 1 Mi rows (MariaDB 10.11,
// 128 MiB buffer pool; bench/), and a chunk costs only a few round trips.
// A variable so tests can make tables of many chunks.
var loadChunkRows int64 = 1 << 16

// loadChunkBytes bounds a chunk's text, which is held in memory from when
// it is encoded until a connection has loaded it (a chunk ends with the
// row that crosses it).
const loadChunkBytes = 4 << 20

// loadConnsPerTable is how many connections load one table's chunks at
// once. InnoDB inserts a statement's rows on one thread, so a large table
// loaded on one connection keeps a core idle once the smaller tables are
// done (bench/: 5 M rows alone for the last 40% of the import).
const loadConnsPerTable = 2

// loadSeq makes reader-handler names unique within the process.
var loadSeq atomic.Int64

// loadChunk is a run of a table's rows as LOAD DATA text.
type loadChunk struct {
	data []byte
	base int64 // rows of the table before the chunk
	rows int64
}

// Load streams rows into the table with LOAD DATA LOCAL INFILE, as
// tab-separated text. The rows are encoded here into chunks of at most
// loadChunkRows rows and loadChunkBytes bytes, and up to loadConnsPerTable
// connections load chunks at once, each in its own transaction. Since the
// server turns data errors of a LOCAL load into warnings, any warning
// rolls the chunk back and fails the load. Memory stays at
// loadConnsPerTable+1 chunks.
func (tg *target) Load(ctx context.Context, t *bacpac.Table,
	next func() ([]any, error)) (int64, error) {
	return tg.load(ctx, t, func(l *loader) { l.next = next })
}

// LoadRaw is Load from the package's stored values, writing those of the
// common types straight into LOAD DATA text (transcode.go).
func (tg *target) LoadRaw(ctx context.Context, t *bacpac.Table, rows engine.RawRows) (int64, error) {
	return tg.load(ctx, t, func(l *loader) {
		l.raw = rows
		l.trans = make([]transcoder, len(l.p.cols))
		kinds := rows.Kinds()
		for i, cp := range l.p.cols {
			if i < len(kinds) {
				l.trans[i] = transcoderFor(kinds[i], cp)
			}
		}
	})
}

// load runs the chunked load of a table; feed sets where its rows come
// from.
func (tg *target) load(ctx context.Context, t *bacpac.Table, feed func(*loader)) (int64, error) {
	tg.mu.Lock()
	p := tg.plans[t]
	tg.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("load table %s: CreateTables did not create it", modelName(t))
	}
	l := &loader{tg: tg, t: t, p: p}
	feed(l)
	var loaded atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	// connCtx ends the wait of a worker for a connection once every chunk
	// has been taken by a worker that has one.
	connCtx, noMoreConns := context.WithCancel(gctx)
	defer noMoreConns()
	chunks := make(chan *loadChunk)
	free := make(chan []byte, loadConnsPerTable+1)
	for range loadConnsPerTable + 1 {
		free <- nil
	}
	workers := 0
	send := func(c *loadChunk) error {
		select {
		case chunks <- c:
			return nil
		default:
		}
		if workers < loadConnsPerTable {
			workers++
			g.Go(func() error { return l.work(gctx, connCtx, chunks, free, &loaded) })
		}
		select {
		case chunks <- c:
			return nil
		case <-gctx.Done():
			return gctx.Err()
		}
	}
	g.Go(func() error {
		defer noMoreConns()
		defer close(chunks)
		var base int64
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			c, eof, err := l.encode(base, buf)
			if err != nil {
				return err
			}
			if c != nil {
				if err := send(c); err != nil {
					return err
				}
				base += c.rows
			}
			if eof {
				return nil
			}
		}
	})
	err := g.Wait()
	return loaded.Load(), err
}

type loader struct {
	tg  *target
	t   *bacpac.Table
	p   *tablePlan
	buf []byte // scratch for formatted values

	// Rows come from next or, with LoadRaw, from raw: transcoded where
	// trans has a transcoder for the column, decoded otherwise.
	next  func() ([]any, error)
	raw   engine.RawRows
	trans []transcoder
}

// encode writes the next rows, up to a chunk's bounds, into buf; a nil
// chunk with eof when no row is left.
func (l *loader) encode(base int64, buf []byte) (*loadChunk, bool, error) {
	if buf == nil {
		buf = make([]byte, 0, loadChunkBytes+loadChunkBytes/8)
	}
	w := bytes.NewBuffer(buf[:0])
	var n int64
	for n < loadChunkRows && w.Len() < loadChunkBytes {
		err := l.writeNext(w, base+n+1)
		if err == io.EOF {
			if n == 0 {
				return nil, true, nil
			}
			return &loadChunk{data: w.Bytes(), base: base, rows: n}, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		n++
	}
	return &loadChunk{data: w.Bytes(), base: base, rows: n}, false, nil
}

// writeNext writes row n, the next row, or returns io.EOF.
func (l *loader) writeNext(w *bytes.Buffer, n int64) error {
	if l.raw == nil {
		row, err := l.next()
		if err != nil {
			return err
		}
		return l.writeRow(w, row, n)
	}
	cells, err := l.raw.Next()
	if err != nil {
		return err
	}
	if err := l.checkWidth(n, len(cells)); err != nil {
		return err
	}
	for i, b := range cells {
		if i > 0 {
			w.WriteByte('\t')
		}
		if b != nil && l.trans[i] != nil && l.trans[i](w, b, &l.buf) {
			continue
		}
		v, err := l.raw.Decode(i, b)
		if err == nil {
			err = l.writeValue(w, i, v, n)
		}
		if err != nil {
			return err
		}
	}
	return w.WriteByte('\n')
}

// work loads chunks on a connection of its own until there are none.
func (l *loader) work(ctx, connCtx context.Context, chunks <-chan *loadChunk, free chan<- []byte,
	loaded *atomic.Int64) error {
	c, err := l.tg.pool.Conn(connCtx)
	if err != nil {
		if ctx.Err() == nil && connCtx.Err() != nil {
			return nil // every chunk went to another worker
		}
		return fmt.Errorf("load table %s: %w", modelName(l.t), err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET unique_checks = 0, foreign_key_checks = 0"); err != nil {
		return fmt.Errorf("load table %s: %w", modelName(l.t), err)
	}
	for ch := range chunks {
		if err := l.load(ctx, c, ch); err != nil {
			return err
		}
		loaded.Add(ch.rows)
		free <- ch.data[:0]
	}
	return nil
}

func (l *loader) statement(reader string) string {
	var cols, sets []string
	for i, cp := range l.p.cols {
		if cp.viaVar {
			v := "@v" + strconv.Itoa(i)
			cols = append(cols, v)
			sets = append(sets, quoteIdent(cp.name)+" = CAST("+v+" AS UNSIGNED)")
		} else {
			cols = append(cols, quoteIdent(cp.name))
		}
	}
	q := "LOAD DATA LOCAL INFILE '" + reader + "' INTO TABLE " + quoteIdent(l.p.name) +
		" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'" +
		" LINES TERMINATED BY '\\n' (" + strings.Join(cols, ", ") + ")"
	if len(sets) > 0 {
		q += " SET " + strings.Join(sets, ", ")
	}
	return q
}

// load loads one chunk on c in one transaction.
func (l *loader) load(ctx context.Context, c *sql.Conn, ch *loadChunk) error {
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("load table %s: %w", modelName(l.t), err)
	}
	name := "bacport-" + strconv.FormatInt(loadSeq.Add(1), 10)
	gomysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(ch.data) })
	defer gomysql.DeregisterReaderHandler(name)
	res, err := c.ExecContext(ctx, l.statement("Reader::"+name))
	if err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return l.wrap(err)
	}
	n, _ := res.RowsAffected()
	if err := l.checkWarnings(ctx, c, ch.base, ch.rows, n); err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("load table %s: commit: %w", modelName(l.t), err)
	}
	return nil
}

func (l *loader) wrap(err error) error {
	var ve *engine.ValueError
	if errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("load table %s: %w", modelName(l.t), err)
}

var warningAt = regexp.MustCompile(`column '([^']*)' at row ([0-9]+)`)

// checkWarnings fails the chunk when the server changed or skipped a row.
func (l *loader) checkWarnings(ctx context.Context, c *sql.Conn, base, sent, loaded int64) error {
	rows, err := c.QueryContext(ctx, "SHOW WARNINGS LIMIT 10")
	if err != nil {
		return fmt.Errorf("load table %s: read warnings: %w", modelName(l.t), err)
	}
	defer rows.Close()
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return fmt.Errorf("load table %s: read warnings: %w", modelName(l.t), err)
		}
		if level == "Note" {
			continue
		}
		if m := warningAt.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			return &engine.ValueError{Table: tableLabel(l.t), Column: m[1], Row: base + n,
				Err: errors.New(msg)}
		}
		return fmt.Errorf("load table %s rows %d to %d: %s", modelName(l.t), base+1, base+sent, msg)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load table %s: read warnings: %w", modelName(l.t), err)
	}
	if loaded != sent {
		return fmt.Errorf("load table %s rows %d to %d: the server stored %d of %d rows",
			modelName(l.t), base+1, base+sent, loaded, sent)
	}
	return nil
}

// formatOnly routes a value through colPlan.format even when it is a
// string or []byte (BIT, DECIMAL and UUID columns).
type formatOnly struct{ v any }

func tableLabel(t *bacpac.Table) string { return t.Schema + "." + t.Name }

// writeRow writes one row as a line of tab-separated fields.
func (l *loader) writeRow(w *bytes.Buffer, row []any, n int64) error {
	if err := l.checkWidth(n, len(row)); err != nil {
		return err
	}
	for i, v := range row {
		if i > 0 {
			w.WriteByte('\t')
		}
		if err := l.writeValue(w, i, v, n); err != nil {
			return err
		}
	}
	return w.WriteByte('\n')
}

// checkWidth checks that row n has a value for every column.
func (l *loader) checkWidth(n int64, values int) error {
	if values != len(l.p.cols) {
		return fmt.Errorf("load table %s row %d: %d values for %d columns", modelName(l.t), n,
			values, len(l.p.cols))
	}
	return nil
}

// writeValue writes value v of column i of row n as a field.
func (l *loader) writeValue(w *bytes.Buffer, i int, v any, n int64) error {
	if v == nil {
		w.WriteString(`\N`)
		return nil
	}
	cp := l.p.cols[i]
	var err error
	if cp.formatAll {
		v = formatOnly{v}
	}
	switch x := v.(type) {
	case formatOnly:
		l.buf, err = cp.format(l.buf[:0], x.v, l.tg.s)
		if err == nil {
			writeEscapedBytes(w, l.buf)
		}
	case string:
		err = cp.checkText(x)
		if err == nil {
			writeEscaped(w, cp.unpadded(x))
		}
	case bacpac.Variant:
		err = cp.checkBytes(x)
		if err == nil {
			writeEscapedBytes(w, x)
		}
	case []byte:
		err = cp.checkBytes(x)
		if err == nil {
			writeEscapedBytes(w, x)
		}
	default:
		l.buf, err = cp.format(l.buf[:0], v, l.tg.s)
		if err == nil {
			writeEscapedBytes(w, l.buf)
		}
	}
	if err != nil {
		return &engine.ValueError{Table: tableLabel(l.t), Column: cp.name, Row: n, Err: err}
	}
	return nil
}

// mustEscape marks the bytes escapeOf escapes; a table lookup keeps the
// scan of long text cheap.
var mustEscape = [256]bool{'\\': true, '\t': true, '\n': true, '\r': true, 0: true}

// writeEscaped writes s with LOAD DATA's backslash escapes.
func writeEscaped(w *bytes.Buffer, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		if !mustEscape[s[i]] {
			continue
		}
		if esc := escapeOf(s[i]); esc != "" {
			w.WriteString(s[start:i])
			w.WriteString(esc)
			start = i + 1
		}
	}
	w.WriteString(s[start:])
}

// writeEscapedBytes is writeEscaped for a byte slice.
func writeEscapedBytes(w *bytes.Buffer, b []byte) {
	start := 0
	for i := 0; i < len(b); i++ {
		if !mustEscape[b[i]] {
			continue
		}
		if esc := escapeOf(b[i]); esc != "" {
			w.Write(b[start:i])
			w.WriteString(esc)
			start = i + 1
		}
	}
	w.Write(b[start:])
}

func escapeOf(c byte) string {
	switch c {
	case '\\':
		return `\\`
	case '\t':
		return `\t`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case 0:
		return `\0`
	}
	return ""
}
