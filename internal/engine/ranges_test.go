package engine

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSplitRange(t *testing.T) {
	cases := []struct {
		lo, hi int64
		parts  int
	}{
		{1, 100, 3}, {1, 4, 4}, {-50, 50, 7}, {math.MinInt64, math.MaxInt64, 4}, {0, 1 << 40, 16},
	}
	for _, c := range cases {
		rs := SplitRange(c.lo, c.hi, c.parts)
		if len(rs) == 0 || len(rs) > c.parts {
			t.Fatalf("SplitRange(%d, %d, %d) = %v", c.lo, c.hi, c.parts, rs)
		}
		if rs[0].Lo != c.lo || rs[len(rs)-1].Hi != c.hi {
			t.Errorf("SplitRange(%d, %d, %d) = %v: does not span the bounds", c.lo, c.hi, c.parts, rs)
		}
		for i, r := range rs {
			if r.Lo > r.Hi {
				t.Errorf("SplitRange(%d, %d, %d): range %d is empty: %v", c.lo, c.hi, c.parts, i, r)
			}
			if i > 0 && rs[i-1].Hi+1 != r.Lo {
				t.Errorf("SplitRange(%d, %d, %d): gap or overlap between %v and %v", c.lo, c.hi, c.parts, rs[i-1], r)
			}
		}
	}
}

// TestReadRanges_FreedConnectionJoins: a table starts on one connection
// with none free; a connection that comes back to the pool while ranges
// are left takes some of them. Every range is read once, rows reach fn one
// at a time, and the pool holds its connections again afterwards.
func TestReadRanges_FreedConnectionJoins(t *testing.T) {
	pool := make(chan int, 2)
	ranges := SplitRange(1, 80, 8)
	var mu sync.Mutex
	readBy := map[KeyRange]int{}
	released := false
	var inFn atomic.Int32
	var joined atomic.Bool // connection 2 read a range
	rows := 0
	err := ReadRanges(context.Background(), 1, pool, ranges,
		func(ctx context.Context, conn int, r KeyRange, emit func([]any) error) error {
			mu.Lock()
			readBy[r]++
			if conn == 1 && !released {
				// Another table finishes: its connection comes back.
				released = true
				pool <- 2
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			for k := r.Lo; k <= r.Hi; k++ {
				if err := emit([]any{k, conn}); err != nil {
					return err
				}
			}
			return nil
		},
		func(row []any) error {
			if inFn.Add(1) != 1 {
				t.Error("fn called concurrently")
			}
			rows++
			if row[1].(int) == 2 {
				joined.Store(true)
			}
			inFn.Add(-1)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 80 {
		t.Errorf("%d rows, want 80", rows)
	}
	for _, r := range ranges {
		if readBy[r] != 1 {
			t.Errorf("range %v read %d times", r, readBy[r])
		}
	}
	if !joined.Load() {
		t.Error("the connection freed mid-way read no range")
	}
	if len(pool) != 1 || <-pool != 2 {
		t.Error("the recruited connection did not go back to the pool")
	}
}

// TestReadRanges_ErrorStops: the first error ends the read, and it does
// not wait for a connection that never comes.
func TestReadRanges_ErrorStops(t *testing.T) {
	boom := errors.New("boom")
	pool := make(chan int, 1)
	err := ReadRanges(context.Background(), 1, pool, SplitRange(1, 100, 10),
		func(ctx context.Context, conn int, r KeyRange, emit func([]any) error) error {
			return boom
		},
		func([]any) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}
