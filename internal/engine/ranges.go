package engine

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// KeyRange is an inclusive range of integer keys: a primary key's values
// or SQLite rowids. Drivers read a large table in such ranges on several
// snapshot connections at once.
type KeyRange struct{ Lo, Hi int64 }

// SplitRange cuts [lo, hi] into at most parts ranges of nearly equal
// width, in order, without gaps or overlaps. The arithmetic is unsigned so
// the full int64 span does not overflow.
func SplitRange(lo, hi int64, parts int) []KeyRange {
	span := uint64(hi) - uint64(lo)
	width := span/uint64(parts) + 1
	var out []KeyRange
	for i := uint64(0); i < uint64(parts) && i*width <= span; i++ {
		r := KeyRange{Lo: lo + int64(i*width), Hi: hi}
		if end := (i+1)*width - 1; end < span {
			r.Hi = lo + int64(end)
		}
		out = append(out, r)
	}
	return out
}

// ReadRanges reads ranges on connection first and on connections from
// pool: those free at the start and those that come back to the pool while
// ranges are still unread, so a connection another table has finished with
// joins in (tables end at different times; cut into more ranges than
// connections, a large table's tail is shared rather than read by one).
// Each connection takes the next unread range until none is left; read
// reads one range on one connection, passing each row to emit. Connections
// taken from pool go back to it when they find no range left. The calls of
// fn are serialized, so fn sees one row at a time. The first error stops
// every reader.
func ReadRanges[C any](ctx context.Context, first C, pool chan C, ranges []KeyRange,
	read func(ctx context.Context, conn C, r KeyRange, emit func(row []any) error) error,
	fn func(row []any) error) error {
	next := make(chan KeyRange, len(ranges))
	for _, r := range ranges {
		next <- r
	}
	close(next)
	var mu sync.Mutex
	emit := func(row []any) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(row)
	}
	// taken is closed once every range has a reader, which ends recruiting.
	taken := make(chan struct{})
	var once sync.Once
	g, gctx := errgroup.WithContext(ctx)
	readAll := func(conn C) error {
		for r := range next {
			if len(next) == 0 {
				once.Do(func() { close(taken) })
			}
			if err := read(gctx, conn, r, emit); err != nil {
				return err
			}
		}
		once.Do(func() { close(taken) })
		return nil
	}
	g.Go(func() error { return readAll(first) })
	g.Go(func() error {
		for {
			select {
			case <-taken:
				return nil
			case <-gctx.Done():
				return nil
			case conn := <-pool:
				if len(next) == 0 {
					pool <- conn
					return nil
				}
				g.Go(func() error {
					defer func() { pool <- conn }()
					return readAll(conn)
				})
			}
		}
	})
	return g.Wait()
}
