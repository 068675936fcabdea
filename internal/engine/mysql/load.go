package mysql

import (
	"bufio"
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

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// loadChunkRows bounds one LOAD DATA statement, and so one transaction's
// undo log, on large tables. Small transactions keep the undo pages out of
// the buffer pool's way: loading 5 M rows in chunks of 64 Ki rows took
// about 12% less server CPU than in chunks of 1 Mi rows (MariaDB 10.11,
// 128 MiB buffer pool; bench/), and a chunk costs only a few round trips.
const loadChunkRows = 1 << 16

// loadSeq makes reader-handler names unique within the process.
var loadSeq atomic.Int64

var errLoadEnded = errors.New("load statement ended")

// Load streams rows into the table with LOAD DATA LOCAL INFILE, as
// tab-separated text written on the fly. Each chunk runs in its own
// transaction; since the server turns data errors of a LOCAL load into
// warnings, any warning rolls the chunk back and fails the load.
func (tg *target) Load(ctx context.Context, t *bacpac.Table,
	next func() ([]any, error)) (int64, error) {
	tg.mu.Lock()
	p := tg.plans[t]
	tg.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("load table %s: CreateTables did not create it", modelName(t))
	}
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("load table %s: %w", modelName(t), err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET unique_checks = 0, foreign_key_checks = 0"); err != nil {
		return 0, fmt.Errorf("load table %s: %w", modelName(t), err)
	}
	l := &loader{tg: tg, t: t, p: p, c: c}
	var total int64
	for {
		n, done, err := l.chunk(ctx, next, total)
		total += n
		if err != nil {
			return total, err
		}
		if done {
			return total, nil
		}
	}
}

type loader struct {
	tg  *target
	t   *bacpac.Table
	p   *tablePlan
	c   *sql.Conn
	buf []byte
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

// chunk loads up to loadChunkRows rows in one transaction. base is the
// number of rows loaded before it.
func (l *loader) chunk(ctx context.Context, next func() ([]any, error),
	base int64) (int64, bool, error) {
	row, err := next()
	if err == io.EOF {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	if _, err := l.c.ExecContext(ctx, "BEGIN"); err != nil {
		return 0, false, fmt.Errorf("load table %s: %w", modelName(l.t), err)
	}
	name := "bacport-" + strconv.FormatInt(loadSeq.Add(1), 10)
	pr, pw := io.Pipe()
	gomysql.RegisterReaderHandler(name, func() io.Reader { return pr })
	defer gomysql.DeregisterReaderHandler(name)
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := l.c.ExecContext(ctx, l.statement("Reader::"+name))
		var n int64
		if err == nil {
			n, _ = res.RowsAffected()
		}
		pr.CloseWithError(errLoadEnded)
		done <- result{n, err}
	}()

	bw := bufio.NewWriterSize(pw, 256<<10)
	var sent int64
	var werr error
	eof := false
	for {
		sent++
		if werr = l.writeRow(bw, row, base+sent); werr != nil {
			break
		}
		if sent >= loadChunkRows {
			break
		}
		row, werr = next()
		if werr == io.EOF {
			werr, eof = nil, true
			break
		}
		if werr != nil {
			break
		}
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		// The driver ends the statement and drops the connection, which
		// rolls the transaction back.
		pw.CloseWithError(werr)
		res := <-done
		if errors.Is(werr, errLoadEnded) && res.err != nil {
			werr = res.err
		}
		l.c.ExecContext(ctx, "ROLLBACK")
		return 0, false, l.wrap(werr)
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		l.c.ExecContext(ctx, "ROLLBACK")
		return 0, false, l.wrap(res.err)
	}
	if err := l.checkWarnings(ctx, base, sent, res.n); err != nil {
		l.c.ExecContext(ctx, "ROLLBACK")
		return 0, false, err
	}
	if _, err := l.c.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, false, fmt.Errorf("load table %s: commit: %w", modelName(l.t), err)
	}
	return sent, eof, nil
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
func (l *loader) checkWarnings(ctx context.Context, base, sent, loaded int64) error {
	rows, err := l.c.QueryContext(ctx, "SHOW WARNINGS LIMIT 10")
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
func (l *loader) writeRow(w *bufio.Writer, row []any, n int64) error {
	if len(row) != len(l.p.cols) {
		return fmt.Errorf("load table %s row %d: %d values for %d columns", modelName(l.t), n,
			len(row), len(l.p.cols))
	}
	for i, v := range row {
		if i > 0 {
			w.WriteByte('\t')
		}
		if v == nil {
			w.WriteString(`\N`)
			continue
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
				writeEscaped(w, x)
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
	}
	return w.WriteByte('\n')
}

// mustEscape marks the bytes escapeOf escapes; a table lookup keeps the
// scan of long text cheap.
var mustEscape = [256]bool{'\\': true, '\t': true, '\n': true, '\r': true, 0: true}

// writeEscaped writes s with LOAD DATA's backslash escapes.
func writeEscaped(w *bufio.Writer, s string) {
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
func writeEscapedBytes(w *bufio.Writer, b []byte) {
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
