package blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/bacport/bacport/internal/blob"
	"github.com/bacport/bacport/internal/blob/blobtest"
)

// TestReader_ReadAheadInterleavedScans reads two regions of a blob in
// small steps, alternating between them as an import reading two tables
// at once does, and wants each scan's next chunks fetched ahead of it:
// only the first two chunks of each scan (before it looks like one) may
// be misses.
func TestReader_ReadAheadInterleavedScans(t *testing.T) {
	const chunk = 64 << 10
	ctx := context.Background()
	a := account(t, blobtest.Embedded(t))
	data, err := io.ReadAll(source(7, 40*chunk))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Upload(ctx, "transfer", "scans", bytes.NewReader(data), nil); err != nil {
		t.Fatalf("upload: %v", err)
	}
	r, err := a.OpenWith(ctx, "transfer", "scans", &blob.ReaderOptions{ChunkSize: chunk, Scans: 2})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	scans := []int64{0, 20 * chunk} // where each scan is
	step := int64(chunk / 4)
	buf := make([]byte, step)
	for range 4 * 16 {
		for i, off := range scans {
			if _, err := r.ReadAt(buf, off); err != nil {
				t.Fatalf("ReadAt(%d): %v", off, err)
			}
			if !bytes.Equal(buf, data[off:off+step]) {
				t.Fatalf("ReadAt(%d): wrong bytes", off)
			}
			scans[i] += step
		}
	}
	if m := r.Misses(); m > 4 {
		t.Errorf("two interleaved scans of 16 chunks each waited for %d chunks; want only their first two (4)", m)
	}
}
