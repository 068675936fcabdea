package bacpac

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestUTF16ASCIIRuns checks the word-at-a-time conversions against the
// definition, with the first non-ASCII character at every position of
// strings long enough to span several 8-character words.
func TestUTF16ASCIIRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, odd := range []string{"é", "€", "😀", "\x7f", "\u0100"} {
		for n := 0; n <= 40; n++ {
			for at := 0; at <= n; at++ {
				var sb strings.Builder
				for i := 0; i < n; i++ {
					if i == at && at < n {
						sb.WriteString(odd)
						continue
					}
					sb.WriteByte(byte(' ' + rng.IntN(95)))
				}
				s := sb.String()
				checkUTF16Text(t, s)
			}
		}
	}
}

func checkUTF16Text(t *testing.T, s string) {
	t.Helper()
	// Encoding: the package's bytes equal UTF-16LE of s.
	var want []byte
	for _, u := range utf16.Encode([]rune(s)) {
		want = append(want, byte(u), byte(u>>8))
	}
	c := &colEncoder{kind: encString}
	got, err := c.appendString(nil, s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	body := got[len(got)-len(want):]
	if string(body) != string(want) {
		t.Fatalf("%q encodes to % x, want % x", s, body, want)
	}
	// Decoding gives s back.
	back, err := decodeUTF16(want)
	if err != nil || back != s {
		t.Fatalf("%q decodes to %q, %v", s, back, err)
	}
	// The ASCII prefix counts agree with a byte-by-byte scan.
	prefix := 0
	for prefix < len(s) && s[prefix] < 0x80 {
		prefix++
	}
	dst := make([]byte, 2*len(s))
	if k := widenASCII(dst, s); k != prefix {
		t.Fatalf("%q: widenASCII converted %d bytes, want %d", s, k, prefix)
	}
	if k := narrowASCII(make([]byte, len(want)/2), want); k != prefix {
		t.Fatalf("%q: narrowASCII converted %d units, want %d", s, k, prefix)
	}
}

func TestPadBlanks(t *testing.T) {
	for n := 0; n <= 40; n += 2 {
		b := make([]byte, n)
		padBlanks(b)
		if want := strings.Repeat(" \x00", n/2); string(b) != want {
			t.Fatalf("padBlanks(%d) = % x", n, b)
		}
	}
}
