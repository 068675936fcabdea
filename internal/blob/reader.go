package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// Reader defaults, applied to zero ReaderOptions fields.
const (
	DefaultChunkSize   = 4 << 20
	DefaultCacheChunks = 8
	DefaultReadAhead   = 2
)

// ReaderOptions tune a Reader.
type ReaderOptions struct {
	// ChunkSize is the unit of ranged GETs for small reads (default 4 MiB).
	// Reads of at least a chunk bypass the cache.
	ChunkSize int64
	// CacheChunks is how many chunks are kept (default 8), so memory use is
	// about ChunkSize×CacheChunks.
	CacheChunks int
	// ReadAhead is how many chunks are fetched ahead of a sequential scan
	// (default 2, at most CacheChunks/2).
	ReadAhead int
	// Scans is how many sequential scans run at once (tables read in
	// parallel). Without CacheChunks, the cache holds each scan's
	// previous, current and read-ahead chunks, so that one scan's chunks
	// are not evicted by another's before they are used.
	Scans int
}

// Reader is an io.ReaderAt over one committed blob, made of ranged GETs
// conditioned on the ETag seen at Open: if the blob is replaced, reads fail
// with ErrChanged instead of mixing two versions. It is safe for
// concurrent use.
type Reader struct {
	ctx   context.Context
	bc    *blob.Client
	size  int64
	etag  azcore.ETag
	chunk int64
	max   int

	ahead int

	mu     sync.Mutex
	misses int64 // reads whose chunk was neither cached nor in flight
	cache  map[int64]*chunk
	order  []int64 // chunk indexes, least recently used first
}

type chunk struct {
	ready chan struct{}
	data  []byte
	err   error
}

// Open returns a Reader over container/name; ErrNotFound when missing. ctx
// governs every later read.
func (a *Account) Open(ctx context.Context, containerName, name string) (*Reader, error) {
	return a.OpenWith(ctx, containerName, name, nil)
}

// OpenWith is Open with options.
func (a *Account) OpenWith(ctx context.Context, containerName, name string, opts *ReaderOptions) (*Reader, error) {
	bc := a.blobClient(containerName, name)
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("open blob %q: %w", name, classify(err))
	}
	r := &Reader{ctx: ctx, bc: bc, size: deref(p.ContentLength), etag: deref(p.ETag),
		chunk: DefaultChunkSize, max: DefaultCacheChunks, ahead: DefaultReadAhead,
		cache: map[int64]*chunk{}}
	if opts != nil && opts.ChunkSize > 0 {
		r.chunk = opts.ChunkSize
	}
	if opts != nil && opts.CacheChunks > 0 {
		r.max = opts.CacheChunks
	}
	if opts != nil && opts.ReadAhead > 0 {
		r.ahead = opts.ReadAhead
	}
	if opts != nil && opts.CacheChunks <= 0 && opts.Scans > 1 {
		r.max = max(r.max, opts.Scans*(2+r.ahead)+2)
	}
	r.ahead = min(r.ahead, r.max/2)
	return r, nil
}

// Size is the blob's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// ETag is the version of the blob this Reader reads.
func (r *Reader) ETag() azcore.ETag { return r.etag }

// Misses counts the small reads that found their chunk neither cached nor
// being fetched ahead, so they waited for a whole ranged GET: on a
// sequential scan, only its first chunks.
func (r *Reader) Misses() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.misses
}

// ReadAt reads len(p) bytes at off, returning io.EOF when p reaches past
// the end, as io.ReaderAt requires.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read blob: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	var n int64
	var err error
	if want >= r.chunk {
		n, err = r.fetch(p[:want], off)
	} else {
		n, err = r.cached(p[:want], off)
	}
	if err == nil && n < int64(len(p)) {
		err = io.EOF
	}
	return int(n), err
}

// cached serves a small read from aligned chunks.
func (r *Reader) cached(p []byte, off int64) (int64, error) {
	var n int64
	for n < int64(len(p)) {
		idx := (off + n) / r.chunk
		c := r.getChunk(idx)
		<-c.ready
		if c.err != nil {
			return n, c.err
		}
		start := off + n - idx*r.chunk
		n += int64(copy(p[n:], c.data[start:]))
	}
	return n, nil
}

func (r *Reader) getChunk(idx int64) *chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cache[idx]
	switch {
	case ok && isDone(c) && c.err != nil:
		r.order = slices.DeleteFunc(r.order, func(v int64) bool { return v == idx })
		c = r.startLocked(idx) // retry a failed chunk
	case ok:
		r.touch(idx)
	default:
		r.misses++
		c = r.startLocked(idx)
	}
	// A chunk whose predecessor is still cached looks like a sequential
	// scan (a zip entry being inflated): keep the following chunks in
	// flight. Several scans interleave when tables are read at once, so
	// this looks at the cache rather than at the chunk read last.
	if _, scanning := r.cache[idx-1]; scanning {
		for next := idx + 1; next <= idx+int64(r.ahead) && next*r.chunk < r.size; next++ {
			if _, ok := r.cache[next]; !ok {
				r.startLocked(next)
			}
		}
	}
	return c
}

// startLocked starts fetching chunk idx in the background and caches it,
// evicting the least recently used chunks beyond the limit.
func (r *Reader) startLocked(idx int64) *chunk {
	c := &chunk{ready: make(chan struct{})}
	r.cache[idx] = c
	r.order = append(r.order, idx)
	for len(r.order) > r.max {
		delete(r.cache, r.order[0])
		r.order = r.order[1:]
	}
	go func() {
		start := idx * r.chunk
		buf := make([]byte, min(r.chunk, r.size-start))
		_, c.err = r.fetch(buf, start)
		c.data = buf
		close(c.ready)
	}()
	return c
}

func isDone(c *chunk) bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

func (r *Reader) touch(idx int64) {
	for i, v := range r.order {
		if v == idx {
			r.order = append(append(r.order[:i:i], r.order[i+1:]...), idx)
			return
		}
	}
	r.order = append(r.order, idx)
}

// fetch fills p from the blob at off with one ranged GET, retried by the
// SDK; a body cut short is resumed by the SDK's retry reader.
func (r *Reader) fetch(p []byte, off int64) (int64, error) {
	etag := r.etag
	resp, err := r.bc.DownloadStream(r.ctx, &blob.DownloadStreamOptions{
		Range:            blob.HTTPRange{Offset: off, Count: int64(len(p))},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}},
	})
	if err != nil {
		return 0, fmt.Errorf("read blob range at %d: %w", off, classify(err))
	}
	body := resp.NewRetryReader(r.ctx, &blob.RetryReaderOptions{MaxRetries: DefaultMaxRetries})
	defer body.Close()
	n, err := io.ReadFull(body, p)
	if err != nil {
		return int64(n), fmt.Errorf("read blob range at %d: %w", off, classify(err))
	}
	return int64(n), nil
}
