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

// ReadRanges reads ranges on every one of conns at once: each connection
// takes the next unread range until none is left, and read reads one range
// on one connection, passing each row to emit. The calls of fn are
// serialized, so fn sees one row at a time. The first error stops every
// reader.
func ReadRanges[C any](ctx context.Context, conns []C, ranges []KeyRange,
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
	g, gctx := errgroup.WithContext(ctx)
	for _, conn := range conns {
		g.Go(func() error {
			for r := range next {
				if err := read(gctx, conn, r, emit); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
