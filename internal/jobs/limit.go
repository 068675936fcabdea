package jobs

import (
	"context"
	"io"
	"sync"
	"time"
)

// limiter spreads a stream's bytes over time at a fixed rate: after n bytes
// in total, the stream may go on only once n/rate seconds have passed
// since it started. It is safe for concurrent use.
type limiter struct {
	rate  float64 // bytes per second
	start time.Time

	mu sync.Mutex
	n  int64
}

func newLimiter(bytesPerSecond int64) *limiter {
	return &limiter{rate: float64(bytesPerSecond), start: time.Now()}
}

// wait accounts for n bytes and sleeps until the rate allows them, or until
// ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	l.mu.Lock()
	l.n += int64(n)
	due := l.start.Add(time.Duration(float64(l.n) / l.rate * float64(time.Second)))
	l.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// limitChunk bounds one write or read so that a large buffer does not come
// out as one burst followed by a long pause.
const limitChunk = 32 << 10

type limitedWriter struct {
	ctx context.Context
	w   io.Writer
	l   *limiter
}

func (lw limitedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), limitChunk)
		if err := lw.l.wait(lw.ctx, n); err != nil {
			return written, err
		}
		m, err := lw.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

type limitedReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
	l   *limiter
}

func (lr limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := lr.r.ReadAt(p, off)
	if werr := lr.l.wait(lr.ctx, n); werr != nil && err == nil {
		err = werr
	}
	return n, err
}

func (x *Transfer) limitWriter(ctx context.Context, w io.Writer) io.Writer {
	if x.BytesPerSecond <= 0 {
		return w
	}
	return limitedWriter{ctx, w, newLimiter(x.BytesPerSecond)}
}

func (x *Transfer) limitReaderAt(ctx context.Context, r io.ReaderAt) io.ReaderAt {
	if x.BytesPerSecond <= 0 {
		return r
	}
	return limitedReaderAt{ctx, r, newLimiter(x.BytesPerSecond)}
}
