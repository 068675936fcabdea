package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
)

// SplitRows is the rowid span above which an export reads a table in
// rowid ranges on several snapshot connections at once. A variable so
// tests can lower it.
var SplitRows int64 = 1 << 20

// rowidRange is an inclusive range of rowids.
type rowidRange struct{ lo, hi int64 }

// ranges returns the rowid ranges to read a large rowid table in, one per
// snapshot connection, or nil to read it in one query: a small table, a
// WITHOUT ROWID table, or one with a column that hides the rowid.
func (s *source) ranges(ctx context.Context, c *sql.Conn, t *bacpac.Table) []rowidRange {
	parts := cap(s.readers)
	if parts < 2 {
		return nil
	}
	for _, col := range t.Columns {
		switch strings.ToLower(col.Name) {
		case "rowid", "_rowid_", "oid":
			return nil
		}
	}
	var lo, hi sql.NullInt64
	// A WITHOUT ROWID table fails here ("no such column"): one query.
	err := c.QueryRowContext(ctx, "SELECT min(rowid), max(rowid) FROM "+quote(tableName(t))).Scan(&lo, &hi)
	if err != nil || !lo.Valid || uint64(hi.Int64)-uint64(lo.Int64) < uint64(SplitRows) {
		return nil
	}
	span := uint64(hi.Int64) - uint64(lo.Int64)
	width := span/uint64(parts) + 1
	var out []rowidRange
	for i := uint64(0); i < uint64(parts) && i*width <= span; i++ {
		r := rowidRange{lo: lo.Int64 + int64(i*width), hi: hi.Int64}
		if end := (i+1)*width - 1; end < span {
			r.hi = lo.Int64 + int64(end)
		}
		out = append(out, r)
	}
	return out
}

// readRanges reads the ranges on c and on whatever other snapshot
// connections are free, calling fn for one row at a time; the first error
// stops every reader.
func (s *source) readRanges(ctx context.Context, c *sql.Conn, rd *tableReader, ranges []rowidRange,
	fn func(row []any) error) error {
	conns := []*sql.Conn{c}
more:
	for len(conns) < len(ranges) {
		select {
		case x := <-s.readers:
			conns = append(conns, x)
			defer func() { s.readers <- x }()
		default:
			break more
		}
	}
	next := make(chan rowidRange, len(ranges))
	for _, r := range ranges {
		next <- r
	}
	close(next)
	var mu sync.Mutex
	var n atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for _, conn := range conns {
		g.Go(func() error {
			for r := range next {
				where := " WHERE rowid BETWEEN " + strconv.FormatInt(r.lo, 10) + " AND " +
					strconv.FormatInt(r.hi, 10)
				err := rd.read(gctx, conn, where, &n, func(row []any) error {
					mu.Lock()
					defer mu.Unlock()
					return fn(row)
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
