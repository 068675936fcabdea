package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
)

// DefaultSplitBytes is the table size (information_schema data_length)
// above which an export reads a table in key ranges.
const DefaultSplitBytes = 256 << 20

// keyRange is an inclusive range of primary-key values.
type keyRange struct{ lo, hi int64 }

// ranges decides how to read a table: in several key ranges when it is
// larger than the split size and its primary key is one integer column,
// otherwise (nil) in one query. The bounds come from the snapshot, so the
// ranges cover every row it holds.
func (src *source) ranges(ctx context.Context, c *sql.Conn, t *bacpac.Table, rd *tableReader) ([]keyRange, error) {
	parts := src.s.splitParts
	if src.s.splitBytes < 0 || parts < 2 || cap(src.conns) < 2 {
		return nil, nil
	}
	key := intKey(t, rd)
	if key == "" {
		return nil, nil
	}
	var size sql.NullInt64
	err := c.QueryRowContext(ctx, `SELECT DATA_LENGTH FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, src.db, t.Name).Scan(&size)
	if err != nil {
		return nil, fmt.Errorf("size of table: %w", err)
	}
	limit := src.s.splitBytes
	if limit == 0 {
		limit = DefaultSplitBytes
	}
	if size.Int64 <= limit {
		return nil, nil
	}
	var lo, hi sql.NullInt64
	err = c.QueryRowContext(ctx, "SELECT MIN("+quoteIdent(key)+"), MAX("+quoteIdent(key)+") FROM "+
		quoteIdent(src.db)+"."+quoteIdent(t.Name)).Scan(&lo, &hi)
	if err != nil {
		return nil, fmt.Errorf("key bounds: %w", err)
	}
	if !lo.Valid || hi.Int64-lo.Int64 < int64(parts) {
		return nil, nil
	}
	rd.key = quoteIdent(key)
	return splitRange(lo.Int64, hi.Int64, parts), nil
}

// splitRange cuts [lo, hi] into parts ranges of nearly equal width. The
// arithmetic is unsigned so the full int64 span does not overflow.
func splitRange(lo, hi int64, parts int) []keyRange {
	span := uint64(hi) - uint64(lo)
	width := span/uint64(parts) + 1
	var out []keyRange
	for i := uint64(0); i < uint64(parts); i++ {
		a := lo + int64(i*width)
		if i*width > span {
			break
		}
		b := hi
		if end := (i+1)*width - 1; end < span {
			b = lo + int64(end)
		}
		out = append(out, keyRange{a, b})
	}
	return out
}

// intKey returns the name of the table's primary-key column when the key
// is one column that reads as an int64 (every MySQL integer type but
// bigint unsigned), else "".
func intKey(t *bacpac.Table, rd *tableReader) string {
	if t.PrimaryKey == nil || len(t.PrimaryKey.Columns) != 1 {
		return ""
	}
	name := t.PrimaryKey.Columns[0].Name
	for i, c := range rd.cols {
		if strings.EqualFold(c.Name, name) && rd.kinds[i] == kSigned {
			return c.Name
		}
	}
	return ""
}

// readRanges reads the ranges on c and on whatever other snapshot
// connections are free (all started at the same moment), calling fn for
// one row at a time. The first error stops every reader.
func (src *source) readRanges(ctx context.Context, c *sql.Conn, rd *tableReader, ranges []keyRange,
	fn func(row []any) error) error {
	conns := []*sql.Conn{c}
more:
	for len(conns) < len(ranges) {
		select {
		case x := <-src.conns:
			conns = append(conns, x)
			defer src.release(x)
		default:
			break more
		}
	}
	next := make(chan keyRange, len(ranges))
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
				where := " WHERE " + rd.key + " BETWEEN " + strconv.FormatInt(r.lo, 10) +
					" AND " + strconv.FormatInt(r.hi, 10)
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
