package bacpac

import (
	"fmt"
	"math/big"
	"strings"
)

// Decimal is an exact decimal number: Unscaled × 10^-Scale. It never goes
// through float64, so decimal(38,s) values keep every digit.
type Decimal struct {
	Unscaled *big.Int
	Scale    int
}

// NewDecimal returns unscaled × 10^-scale.
func NewDecimal(unscaled int64, scale int) Decimal {
	return Decimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

// ParseDecimal parses plain decimal notation such as "-123.4500". The scale
// is the number of digits after the point, as written.
func ParseDecimal(s string) (Decimal, error) {
	text := s
	neg := false
	switch {
	case strings.HasPrefix(text, "-"):
		neg, text = true, text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	whole, frac, _ := strings.Cut(text, ".")
	if whole == "" && frac == "" {
		return Decimal{}, fmt.Errorf("parse decimal %q: no digits", s)
	}
	for _, part := range [2]string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return Decimal{}, fmt.Errorf("parse decimal %q: unexpected %q", s, r)
			}
		}
	}
	if len(whole)+len(frac) <= 18 {
		// Fits an int64: skip big.Int's string parsing, the common case
		// (exports parse every decimal cell of a table through here).
		var n int64
		for _, part := range [2]string{whole, frac} {
			for i := 0; i < len(part); i++ {
				n = n*10 + int64(part[i]-'0')
			}
		}
		if neg {
			n = -n
		}
		return Decimal{Unscaled: big.NewInt(n), Scale: len(frac)}, nil
	}
	n, _ := new(big.Int).SetString(whole+frac, 10)
	if neg {
		n.Neg(n)
	}
	return Decimal{Unscaled: n, Scale: len(frac)}, nil
}

// String formats d in plain notation with exactly Scale fractional digits.
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "0"
	}
	digits := new(big.Int).Abs(d.Unscaled).String()
	sign := ""
	if d.Unscaled.Sign() < 0 {
		sign = "-"
	}
	if d.Scale <= 0 {
		return sign + digits + strings.Repeat("0", -d.Scale)
	}
	if len(digits) <= d.Scale {
		digits = strings.Repeat("0", d.Scale-len(digits)+1) + digits
	}
	cut := len(digits) - d.Scale
	return sign + digits[:cut] + "." + digits[cut:]
}

// Rescale returns d with the given scale. It reports false when reducing the
// scale would drop non-zero digits.
func (d Decimal) Rescale(scale int) (Decimal, bool) {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	switch {
	case scale == d.Scale:
		return Decimal{Unscaled: new(big.Int).Set(u), Scale: scale}, true
	case scale > d.Scale:
		f := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.Scale)), nil)
		return Decimal{Unscaled: new(big.Int).Mul(u, f), Scale: scale}, true
	}
	f := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-scale)), nil)
	q, r := new(big.Int).QuoRem(u, f, new(big.Int))
	return Decimal{Unscaled: q, Scale: scale}, r.Sign() == 0
}

// Digits returns the number of significant decimal digits of the unscaled
// value (at least 1), which is the precision d needs at its scale.
func (d Decimal) Digits() int {
	if d.Unscaled == nil || d.Unscaled.Sign() == 0 {
		return 1
	}
	if d.Unscaled.IsInt64() {
		// Most values: count without formatting the number.
		n := d.Unscaled.Int64()
		u := uint64(n)
		if n < 0 {
			u = -u // two's complement: right for MinInt64 too
		}
		digits := 1
		for ; u >= 10; u /= 10 {
			digits++
		}
		return digits
	}
	return len(new(big.Int).Abs(d.Unscaled).String())
}

// Cmp compares d and e by value, whatever their scales.
func (d Decimal) Cmp(e Decimal) int {
	s := max(d.Scale, e.Scale)
	a, _ := d.Rescale(s)
	b, _ := e.Rescale(s)
	return a.Unscaled.Cmp(b.Unscaled)
}
