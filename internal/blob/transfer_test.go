package blob_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/blob"
	"github.com/bacport/bacport/internal/blob/blobtest"
	"github.com/bacport/bacport/internal/testenv"
)

// source is a reproducible stream of n pseudo-random bytes, generated on
// the fly so the test holds none of it.
func source(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n)
}

func account(tb testing.TB, env blobtest.Env) *blob.Account {
	tb.Helper()
	a, err := blob.NewAccount(env.Endpoint, blob.Credential{AccountKey: env.Key}, nil)
	if err != nil {
		tb.Fatalf("account: %v", err)
	}
	if err := a.CreateContainer(context.Background(), "transfer"); err != nil {
		tb.Fatalf("create container: %v", err)
	}
	return a
}

// envBytes reads a size in MiB from the environment.
func envBytes(name string, defMiB int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v << 20
	}
	return defMiB << 20
}

// TestBigBlob uploads and downloads a 2 GB blob (BACPORT_BIG_MB to change)
// and checks that the process's peak resident memory stays under 128 MiB.
// The embedded server runs in this process, so its memory counts too.
// Set BACPORT_BIG=1 to run it.
func TestBigBlob(t *testing.T) {
	if os.Getenv("BACPORT_BIG") != "1" {
		t.Skip("set BACPORT_BIG=1 to move a 2 GB blob through the embedded service")
	}
	size := envBytes("BACPORT_BIG_MB", 2048)
	ctx := context.Background()
	a := account(t, blobtest.Embedded(t))
	runtime.GC()
	resetPeakRSS(t)

	start := time.Now()
	sum := sha256.New()
	p, err := a.Upload(ctx, "transfer", "big.bacpac", io.TeeReader(source(7, size), sum), &blob.UploadOptions{Overwrite: true})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	up := time.Since(start)
	if p.Size != size {
		t.Fatalf("uploaded %d bytes, want %d", p.Size, size)
	}
	upPeak := peakRSS(t)

	start = time.Now()
	r, err := a.Open(ctx, "transfer", "big.bacpac")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	got := sha256.New()
	n, err := io.CopyBuffer(got, io.NewSectionReader(r, 0, r.Size()), make([]byte, 256<<10))
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	down := time.Since(start)
	if !bytes.Equal(got.Sum(nil), sum.Sum(nil)) {
		t.Fatalf("downloaded content differs from the upload")
	}
	peak := peakRSS(t)
	mb := float64(size) / (1 << 20)
	t.Logf("%.0f MiB: upload %.1fs (%.0f MB/s), download %.1fs (%.0f MB/s); peak RSS after upload %d MiB, overall %d MiB",
		mb, up.Seconds(), mb/up.Seconds(), down.Seconds(), mb/down.Seconds(), upPeak>>20, peak>>20)
	if peak >= 128<<20 {
		t.Fatalf("peak RSS %d MiB, want under 128 MiB", peak>>20)
	}
}

// resetPeakRSS restarts the kernel's high-water mark of this process.
func resetPeakRSS(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		testenv.Missing(t, "/proc/self/clear_refs", "run on Linux to measure peak memory")
	}
}

// peakRSS reads VmHWM, the peak resident set size, from /proc.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("read /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkTransfer prints upload and download MB/s through this
// package's client for the embedded service and Azurite side by side.
// BACPORT_BENCH_MB sets the blob size (default 64 MiB), e.g.
//
//	go test -run '^$' -bench Transfer -benchtime 3x ./internal/blob/
func BenchmarkTransfer(b *testing.B) {
	size := envBytes("BACPORT_BENCH_MB", 64)
	az, stop, azErr := blobtest.StartAzurite()
	if azErr == nil {
		defer stop()
	}
	envs := []struct {
		name string
		env  func(*testing.B) blobtest.Env
	}{
		{"embedded", func(b *testing.B) blobtest.Env { return blobtest.Embedded(b) }},
		{"azurite", func(b *testing.B) blobtest.Env {
			if errors.Is(azErr, blobtest.ErrNoAzurite) {
				testenv.Missing(b, "Azurite", "run bash .ci/services.sh")
			} else if azErr != nil {
				b.Fatalf("start Azurite: %v", azErr)
			}
			return az
		}},
	}
	for _, op := range []string{"upload", "download"} {
		for _, e := range envs {
			b.Run(fmt.Sprintf("%s/%s/%dMiB", op, e.name, size>>20), func(b *testing.B) {
				a := account(b, e.env(b))
				ctx := context.Background()
				if op == "download" {
					if _, err := a.Upload(ctx, "transfer", "bench", source(1, size), &blob.UploadOptions{Overwrite: true}); err != nil {
						b.Fatalf("upload: %v", err)
					}
				}
				b.SetBytes(size)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if op == "upload" {
						if _, err := a.Upload(ctx, "transfer", "bench", source(uint64(i), size), &blob.UploadOptions{Overwrite: true}); err != nil {
							b.Fatalf("upload: %v", err)
						}
						continue
					}
					r, err := a.Open(ctx, "transfer", "bench")
					if err != nil {
						b.Fatalf("open: %v", err)
					}
					if _, err := io.CopyBuffer(io.Discard, io.NewSectionReader(r, 0, r.Size()), make([]byte, 256<<10)); err != nil {
						b.Fatalf("download: %v", err)
					}
				}
			})
		}
	}
}
