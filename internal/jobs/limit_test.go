package jobs

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestLimiter_Cancel checks that a capped stream gives way to a cancel at
// once (a cancelled job must not wait for its bandwidth share) and that
// what it passes on is unchanged.
func TestLimiter_Cancel(t *testing.T) {
	x := &Transfer{BytesPerSecond: 1 << 10}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	w := x.limitWriter(ctx, &out)
	if n, err := w.Write([]byte("a")); n != 1 || err != nil {
		t.Fatalf("first byte within the allowance: wrote %d, %v", n, err)
	}
	cancel()
	if _, err := w.Write(make([]byte, 1<<20)); !errors.Is(err, context.Canceled) {
		t.Fatalf("write after cancel: %v, want context.Canceled", err)
	}
	if out.String() != "a" {
		t.Fatalf("passed on %q, want %q", out.String(), "a")
	}

	r := x.limitReaderAt(ctx, bytes.NewReader([]byte("package")))
	buf := make([]byte, 7)
	if n, err := r.ReadAt(buf, 0); n != 7 || !errors.Is(err, context.Canceled) || string(buf) != "package" {
		t.Fatalf("read after cancel: %d %q %v", n, buf, err)
	}
	if (&Transfer{}).limitWriter(ctx, &out) != &out {
		t.Fatalf("an uncapped transfer wraps its writer")
	}
}
