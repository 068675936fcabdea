package mysql

import (
	"math"
	"math/big"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
)

// The fast paths of format must write exactly what the big.Int paths write,
// and give way to them whenever a value does not fit.

func TestAppendDecimal64_MatchesString(t *testing.T) {
	values := []int64{0, 1, -1, 5, -5, 9, 10, 99, 100, 123456, -123456, 999999999999,
		math.MaxInt64, math.MinInt64 + 1, math.MinInt64}
	for _, u := range values {
		for scale := 0; scale <= 20; scale++ {
			d := bacpac.NewDecimal(u, scale)
			got, ok := appendDecimal64([]byte("x"), d, 38, scale, false)
			if !ok {
				t.Fatalf("%s: fast path refused a value that fits", d)
			}
			if want := "x" + d.String(); string(got) != want {
				t.Errorf("appendDecimal64(%d, scale %d) = %q, want %q", u, scale, got, want)
			}
		}
	}
}

func TestAppendDecimal64_GivesWay(t *testing.T) {
	huge := bacpac.Decimal{Unscaled: new(big.Int).Lsh(big.NewInt(1), 70), Scale: 2}
	for _, c := range []struct {
		name     string
		d        bacpac.Decimal
		p, s     int
		unsigned bool
	}{
		{"other scale", bacpac.NewDecimal(12345, 3), 10, 2, false},
		{"too many digits", bacpac.NewDecimal(123456, 2), 5, 2, false},
		{"negative unsigned", bacpac.NewDecimal(-1, 2), 10, 2, true},
		{"beyond int64", huge, 38, 2, false},
	} {
		if out, ok := appendDecimal64(nil, c.d, c.p, c.s, c.unsigned); ok || len(out) != 0 {
			t.Errorf("%s: fast path took %s (wrote %q)", c.name, c.d, out)
		}
	}
}

func TestIntFits_MatchesRanges(t *testing.T) {
	probe := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		65535, 65536, 1<<23 - 1, 1 << 23, -1 << 23, -1<<23 - 1, 1<<24 - 1, 1 << 24,
		math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, math.MaxUint32,
		math.MaxUint32 + 1, math.MaxInt64, math.MinInt64}
	for base, r := range intRange {
		for i, unsigned := range []bool{false, true} {
			for _, x := range probe {
				n := big.NewInt(x)
				want := n.Cmp(r[i][0]) >= 0 && n.Cmp(r[i][1]) <= 0
				if got := intFits(x, base, unsigned); got != want {
					t.Errorf("intFits(%d, %s, unsigned=%v) = %v, want %v", x, base, unsigned, got, want)
				}
			}
		}
	}
}
