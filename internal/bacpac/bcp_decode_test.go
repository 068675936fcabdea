package bacpac

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestDecodeUTF16(t *testing.T) {
	enc := func(units ...uint16) []byte {
		var b []byte
		for _, u := range units {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	hi, lo := utf16.EncodeRune('😀')
	cases := []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{enc('A', 'b'), "Ab"},
		{enc(0xa3, 0x0e01), "£ก"},
		{enc(uint16(hi), uint16(lo), 'x'), "😀x"},
		{enc(uint16(hi)), "\ufffd"},
		{enc(uint16(lo), 'x'), "\ufffdx"},
		{enc(uint16(hi), 'x'), "\ufffdx"},
	}
	for _, c := range cases {
		got, err := decodeUTF16(c.in)
		if err != nil || got != c.want {
			t.Errorf("decodeUTF16(% x) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := decodeUTF16([]byte{1, 2, 3}); !errors.Is(err, ErrBadValue) {
		t.Errorf("odd length: %v, want ErrBadValue", err)
	}
}

// Long text crosses the ASCII fast path's chunk boundaries and leaves and
// re-enters it around other characters.
func TestDecodeUTF16_LongMixed(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("a", 200),
		strings.Repeat("ab", 40) + "é" + strings.Repeat("c", 70) + "😀" + strings.Repeat("d", 64),
		"\x00\x7f\u0080" + strings.Repeat("€x", 50),
	} {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		if got, err := decodeUTF16(b); err != nil || got != s {
			t.Errorf("decodeUTF16(%q) = %q, %v", s, got, err)
		}
	}
}

func TestDecodeDecimal_Wide(t *testing.T) {
	// -99999999999999999999999999999999999999 at decimal(38,0): the
	// magnitude needs all 16 bytes.
	b := []byte{38, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x22, 0x8a, 0x09, 0x7a, 0xc4, 0x86, 0x5a, 0xa8, 0x4c, 0x3b, 0x4b}
	d, err := decodeDecimal(b)
	if err != nil || d.String() != "-99999999999999999999999999999999999999" {
		t.Errorf("decodeDecimal = %v, %v", d, err)
	}
	b[3] = 0x00 // one more than the largest magnitude
	b[3], b[4], b[5], b[6], b[7] = 0x00, 0x00, 0x00, 0x00, 0x40
	if _, err := decodeDecimal(b); !errors.Is(err, ErrBadValue) {
		t.Errorf("decimal over 38 digits: %v, want ErrBadValue", err)
	}
}
