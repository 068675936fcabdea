package engine

import (
	"math"
	"testing"
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
