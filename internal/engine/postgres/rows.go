package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// copyParser is the io.Writer a binary COPY TO STDOUT streams into. It
// decodes whole tuples straight from each message and keeps only a
// partial tuple's bytes between writes.
type copyParser struct {
	table  string
	cols   []colInfo
	row    []any
	rowNum int64
	emit   func(row []any) error

	header bool
	done   bool
	buf    []byte // unconsumed bytes from earlier writes
}

func (p *copyParser) Write(b []byte) (int, error) {
	n := len(b)
	data := b
	if len(p.buf) > 0 {
		p.buf = append(p.buf, b...)
		data = p.buf
	}
	used, err := p.parse(data)
	if err != nil {
		return 0, err
	}
	rest := data[used:]
	if len(p.buf) > 0 {
		p.buf = append(p.buf[:0], rest...)
	} else if len(rest) > 0 {
		p.buf = append(p.buf, rest...)
	}
	return n, nil
}

// parse consumes as many complete parts (header, tuples, trailer) of data
// as it can and returns how many bytes it used.
func (p *copyParser) parse(data []byte) (int, error) {
	used := 0
	if !p.header {
		if len(data) < 19 {
			return 0, nil
		}
		if !bytes.Equal(data[:11], copySignature) {
			return 0, errors.New("read copy data: bad binary COPY signature")
		}
		ext := int(binary.BigEndian.Uint32(data[15:]))
		if len(data) < 19+ext {
			return 0, nil
		}
		used = 19 + ext
		p.header = true
	}
	for used+2 <= len(data) {
		nf := int(int16(binary.BigEndian.Uint16(data[used:])))
		if nf == -1 {
			p.done = true
			return len(data), nil
		}
		if nf != len(p.cols) {
			return 0, fmt.Errorf("read copy data: tuple has %d fields, want %d", nf, len(p.cols))
		}
		// Check the whole tuple is here before decoding any of it.
		end := used + 2
		for range nf {
			if end+4 > len(data) {
				return used, nil
			}
			l := int(int32(binary.BigEndian.Uint32(data[end:])))
			end += 4
			if l > 0 {
				end += l
			}
		}
		if end > len(data) {
			return used, nil
		}
		if err := p.tuple(data[used+2 : end]); err != nil {
			return 0, err
		}
		used = end
	}
	return used, nil
}

func (p *copyParser) tuple(b []byte) error {
	p.rowNum++
	for i := range p.cols {
		l := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		if l < 0 {
			p.row[i] = nil
			continue
		}
		v, err := decodeValue(&p.cols[i], b[:l])
		if err != nil {
			return &engine.ValueError{Table: p.table, Column: p.cols[i].name, Row: p.rowNum, Err: err}
		}
		p.row[i] = v
		b = b[l:]
	}
	return p.emit(p.row)
}

// Rows streams a table's rows from the snapshot. A table larger than the
// driver's split size is read in block ranges over several connections;
// fn is still called from one goroutine at a time.
func (s *source) Rows(ctx context.Context, t *bacpac.Table, fn func(row []any) error) error {
	ti, err := s.info(ctx, t)
	if err != nil {
		return err
	}
	parts := 1
	if lim := s.d.splitBytes(); lim > 0 && ti.bytes > lim && !ti.partitioned &&
		s.version >= 140000 {
		parts = s.d.splitParts()
	}
	if parts == 1 {
		err = s.readRange(ctx, ti, "", fn)
	} else {
		err = s.readParallel(ctx, ti, parts, fn)
	}
	if err != nil {
		return fmt.Errorf("read rows of %s.%s: %w", t.Schema, t.Name, err)
	}
	return nil
}

// copyQuery is the COPY statement reading ti, restricted by where.
func copyQuery(ti *tableInfo, where string) string {
	var sel strings.Builder
	plain := where == ""
	for i, c := range ti.cols {
		if i > 0 {
			sel.WriteString(", ")
		}
		sel.WriteString(quoteIdent(c.name))
		if c.cast != "" {
			sel.WriteString(c.cast)
			plain = false
		}
	}
	from := "ONLY " + qualified(ti.schema, ti.name)
	if ti.partitioned {
		from = qualified(ti.schema, ti.name)
		plain = false
	}
	if plain && len(ti.cols) > 0 {
		return "COPY " + qualified(ti.schema, ti.name) + " (" + sel.String() +
			") TO STDOUT (FORMAT binary)"
	}
	if len(ti.cols) == 0 {
		sel.WriteString("NULL")
	}
	return "COPY (SELECT " + sel.String() + " FROM " + from + where +
		") TO STDOUT (FORMAT binary)"
}

// readRange runs one COPY on a worker connection.
func (s *source) readRange(ctx context.Context, ti *tableInfo, where string,
	fn func([]any) error) error {
	c, err := s.worker(ctx)
	if err != nil {
		return err
	}
	defer s.release(c)
	p := &copyParser{table: ti.schema + "." + ti.name, cols: ti.cols,
		row: make([]any, len(ti.cols)), emit: fn}
	if len(ti.cols) == 0 {
		p.cols = []colInfo{{name: "", kind: kindText}}
		p.row = make([]any, 1)
		p.emit = func([]any) error { return fn(nil) }
	}
	if _, err := c.PgConn().CopyTo(ctx, p, copyQuery(ti, where)); err != nil {
		var ve *engine.ValueError
		if errors.As(err, &ve) {
			return err
		}
		return fmt.Errorf("copy out: %w", err)
	}
	if !p.done {
		return errors.New("copy out: stream ended without a trailer")
	}
	return nil
}

// batchRows is how many rows a range reader hands over at a time.
const batchRows = 512

// readParallel reads parts block ranges at once and hands their rows to
// fn from this goroutine. Each reader fills batches of fresh row slices;
// a bounded channel keeps memory to a few batches per reader.
func (s *source) readParallel(ctx context.Context, ti *tableInfo, parts int,
	fn func([]any) error) error {
	const blockSize = 8192 // PostgreSQL's default; only the split points depend on it
	blocks := ti.bytes/blockSize + 1
	step := blocks/int64(parts) + 1

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan [][]any, 2*parts)
	for i := range parts {
		lo, hi := int64(i)*step, int64(i+1)*step
		where := fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid", lo)
		if i < parts-1 {
			where += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", hi)
		}
		g.Go(func() error {
			var batch [][]any
			err := s.readRange(gctx, ti, where, func(row []any) error {
				batch = append(batch, append([]any(nil), row...))
				if len(batch) < batchRows {
					return nil
				}
				select {
				case batches <- batch:
				case <-gctx.Done():
					return gctx.Err()
				}
				batch = make([][]any, 0, batchRows)
				return nil
			})
			if err != nil || len(batch) == 0 {
				return err
			}
			select {
			case batches <- batch:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	}
	var consumeErr error
	done := make(chan struct{})
	go func() {
		consumeErr = g.Wait()
		close(batches)
		close(done)
	}()
	var fnErr error
	for batch := range batches {
		if fnErr != nil {
			continue
		}
		for _, row := range batch {
			if fnErr = fn(row); fnErr != nil {
				break
			}
		}
		if fnErr != nil {
			cancel() // stop the readers; keep draining so they can exit
		}
	}
	<-done
	if fnErr != nil {
		return fnErr
	}
	return consumeErr
}
