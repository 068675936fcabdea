package bacpac

import (
	"bufio"
	"context"
	"fmt"
)

// Rows streams a table's rows across all of its data parts, in part order.
// Only one part is open at a time and only the current row is held.
//
//	rows := pkg.Rows(t)
//	defer rows.Close()
//	for rows.Next() {
//		vals := rows.Values()
//	}
//	if err := rows.Err(); err != nil { … }
type Rows struct {
	p      *Package
	parts  []Part
	next   int // index of the next part to open
	cols   []colDecoder
	cur    *partDecoder
	vals   []any
	raw    [][]byte // the row of NextRaw
	n      int64
	err    error
	closed bool
}

// Rows returns an iterator over the rows of t. Each row has one value per
// data column (t.DataColumns()), typed as value.go describes.
func (p *Package) Rows(t *Table) *Rows {
	r := &Rows{p: p, parts: p.Parts(t)}
	for _, c := range t.DataColumns() {
		d, err := newColDecoder(c)
		if err != nil {
			r.err = fmt.Errorf("read table [%s].[%s]: %w", t.Schema, t.Name, err)
			return r
		}
		r.cols = append(r.cols, d)
	}
	r.vals = make([]any, len(r.cols))
	return r
}

// Next decodes the next row. It returns false at the end of the table or
// on an error (see Err).
func (r *Rows) Next() bool {
	return r.advance(func(p *partDecoder) (bool, error) { return p.next(r.vals) })
}

// advance reads the next row with read, across the table's parts.
func (r *Rows) advance(read func(*partDecoder) (bool, error)) bool {
	for r.err == nil && !r.closed {
		if r.cur == nil {
			if r.next == len(r.parts) {
				return false
			}
			if r.err = r.openPart(r.parts[r.next]); r.err != nil {
				return false
			}
			r.next++
		}
		ok, err := read(r.cur)
		if ok {
			r.n++
			return true
		}
		if err != nil {
			r.err = err
			return false
		}
		r.closePart()
	}
	return false
}

func (r *Rows) openPart(part Part) error {
	e := r.p.dir.lookup(part.Name)
	if e == nil {
		return fmt.Errorf("%w: part %q vanished", ErrFormat, part.Name)
	}
	if len(r.cols) == 0 && e.UncompressedSize > 0 {
		return &DataError{Part: part.Name, Err: fmt.Errorf(
			"%w: the table has no data columns but the part holds %d bytes",
			ErrBadValue, e.UncompressedSize)}
	}
	rc, err := r.p.dir.open(e)
	if err != nil {
		return fmt.Errorf("open part %q: %w", part.Name, err)
	}
	r.cur = &partDecoder{
		name: part.Name,
		br:   bufio.NewReaderSize(rc, partBufferSize),
		src:  rc,
		size: int64(e.UncompressedSize),
		cols: r.cols,
	}
	return nil
}

func (r *Rows) closePart() {
	if r.cur != nil {
		r.cur.src.Close()
		r.cur = nil
	}
}

// Values returns the current row. The slice is reused by the next call to
// Next; the values in it are not ([]byte values are fresh each row).
func (r *Rows) Values() []any { return r.vals }

// Part returns the name of the part the current row came from.
func (r *Rows) Part() string {
	if r.cur == nil {
		return ""
	}
	return r.cur.name
}

// Count returns the number of rows decoded so far.
func (r *Rows) Count() int64 { return r.n }

// Err returns the error that stopped Next, if any.
func (r *Rows) Err() error { return r.err }

// Close releases the open part. It is safe to call more than once.
func (r *Rows) Close() error {
	r.closePart()
	r.closed = true
	return nil
}

// TableCount is the number of rows Verify decoded from one table.
type TableCount struct {
	Table *Table
	Parts int
	Rows  int64
}

// Verify decodes every row of every table and checks the total against
// Origin.xml's TableRowCountTotalTag when the package has one. It returns
// the per-table counts read so far with the first error: a *DataError
// naming the part and byte offset of a bad value, or an error wrapping
// ErrRowCount or ErrFormat. progress, when not nil, is called after each
// table.
func (p *Package) Verify(ctx context.Context, progress func(TableCount)) ([]TableCount, error) {
	if len(p.orphans) > 0 {
		return nil, fmt.Errorf("%w: part %q belongs to no table in model.xml",
			ErrFormat, p.orphans[0].Name)
	}
	var counts []TableCount
	var total int64
	for _, t := range p.model.Tables {
		tc := TableCount{Table: t, Parts: len(p.parts[tableKey{t.Schema, t.Name}])}
		rows := p.Rows(t)
		for rows.Next() {
			if rows.Count()%4096 == 0 {
				if err := ctx.Err(); err != nil {
					rows.Close()
					return counts, err
				}
			}
		}
		tc.Rows = rows.Count()
		err := rows.Err()
		rows.Close()
		if err != nil {
			return counts, err
		}
		total += tc.Rows
		counts = append(counts, tc)
		if progress != nil {
			progress(tc)
		}
	}
	if want := p.origin.TotalRows; want >= 0 && want != total {
		return counts, fmt.Errorf("%w: decoded %d rows, Origin.xml declares %d",
			ErrRowCount, total, want)
	}
	return counts, nil
}
