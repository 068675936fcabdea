package bacpac

import (
	"math/big"
	"testing"
)

// TestParseDecimal covers both paths: up to 18 digits (int64) and more
// (big.Int), signs, and malformed text.
func TestParseDecimal(t *testing.T) {
	cases := []struct {
		in       string
		unscaled string
		scale    int
	}{
		{"0", "0", 0}, {"-0.00", "0", 2}, {"+12.5", "125", 1}, {".5", "5", 1}, {"7.", "7", 0},
		{"-123.4500", "-1234500", 4}, {"999999999999999999", "999999999999999999", 0},
		{"-99999999999999999.9", "-999999999999999999", 1},
		{"1000000000000000000", "1000000000000000000", 0},
		{"-12345678901234567890123456789.012345678", "-12345678901234567890123456789012345678", 9},
	}
	for _, c := range cases {
		d, err := ParseDecimal(c.in)
		want, _ := new(big.Int).SetString(c.unscaled, 10)
		if err != nil || d.Unscaled.Cmp(want) != 0 || d.Scale != c.scale {
			t.Errorf("ParseDecimal(%q) = %v scale %d, %v; want %s scale %d", c.in, d.Unscaled, d.Scale,
				err, c.unscaled, c.scale)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "1e5", "12a", "١٢"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
}

func TestDecimalDigits(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "10", "-99", "100", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "-12345678901234567890123"} {
		n, _ := new(big.Int).SetString(s, 10)
		want := len(new(big.Int).Abs(n).String())
		if got := (Decimal{Unscaled: n}).Digits(); got != want {
			t.Errorf("Digits(%s) = %d, want %d", s, got, want)
		}
	}
}
