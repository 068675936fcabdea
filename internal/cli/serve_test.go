package cli

import "testing"

func TestParseBandwidth(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"512KiB", 512 << 10, true}, {"20MB", 20e6, true},
		{"4m", 4 << 20, true}, {"1 GiB", 1 << 30, true}, {"100B", 100, true},
		{"", 0, false}, {"-1", 0, false}, {"fast", 0, false}, {"1.5MB", 0, false},
	} {
		got, err := parseBandwidth(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseBandwidth(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
