package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"golang.org/x/sync/errgroup"
)

// Upload defaults, applied to zero UploadOptions fields.
const (
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 4
	maxBlocks          = 50000
)

// UploadOptions tune Upload.
type UploadOptions struct {
	// BlockSize is the size of each staged block (default 8 MiB); memory
	// use is about (Concurrency+1)×BlockSize.
	BlockSize int
	// Concurrency is how many blocks are staged at once (default 4).
	Concurrency int
	// Overwrite replaces an existing blob; without it Upload fails with
	// ErrExists, checked before the first block and again, atomically, at
	// the commit.
	Overwrite   bool
	ContentType string
	Metadata    map[string]string
	// Progress, when set, is called after each block is staged with the
	// total bytes staged so far. Calls may come from several goroutines
	// but never at once.
	Progress func(staged int64)
}

// Upload streams r into the block blob container/name: blocks are staged in
// parallel, each retried by the SDK, then committed by one Put Block List
// carrying the MD5 of the whole content (see the package doc for why the
// blocks carry none).
// Nothing is visible until that commit; if Upload fails, the blob is
// unchanged.
func (a *Account) Upload(ctx context.Context, containerName, name string, r io.Reader, opts *UploadOptions) (*Properties, error) {
	o := UploadOptions{}
	if opts != nil {
		o = *opts
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	bb := a.blockBlob(containerName, name)
	if !o.Overwrite {
		_, err := bb.GetProperties(ctx, nil)
		if err == nil {
			return nil, fmt.Errorf("upload blob %q: %w", name, ErrExists)
		}
		// A write-only SAS may not read properties; the commit's
		// If-None-Match still refuses to overwrite.
		if err = classify(err); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrAccessDenied) {
			return nil, fmt.Errorf("upload blob %q: %w", name, err)
		}
	}
	ids, sum, size, err := a.stageAll(ctx, bb, r, o)
	if err != nil {
		return nil, fmt.Errorf("upload blob %q: %w", name, err)
	}
	resp, err := bb.CommitBlockList(ctx, ids, commitOptions(o, sum))
	if err != nil {
		return nil, fmt.Errorf("commit blob %q: %w", name, classify(err))
	}
	return &Properties{Size: size, ETag: deref(resp.ETag), LastModified: deref(resp.LastModified),
		ContentMD5: sum, ContentType: o.ContentType, Metadata: o.Metadata}, nil
}

func commitOptions(o UploadOptions, sum []byte) *blockblob.CommitBlockListOptions {
	co := &blockblob.CommitBlockListOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentMD5: sum}}
	if o.ContentType != "" {
		co.HTTPHeaders.BlobContentType = &o.ContentType
	}
	if len(o.Metadata) > 0 {
		co.Metadata = map[string]*string{}
		for k, v := range o.Metadata {
			co.Metadata[k] = &v
		}
	}
	if !o.Overwrite {
		any := azcore.ETagAny
		co.AccessConditions = &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &any},
		}
	}
	return co
}

// stageAll reads r block by block into a fixed pool of buffers and stages
// them concurrently; it returns the block IDs in order and the MD5 of all
// the data.
func (a *Account) stageAll(ctx context.Context, bb *blockblob.Client, r io.Reader, o UploadOptions) ([]string, []byte, int64, error) {
	// The IDs start with a random upload ID so that blocks left behind by
	// an earlier failed upload of the same blob are never picked up.
	var uploadID [8]byte
	rand.Read(uploadID[:])
	pool := make(chan []byte, o.Concurrency+1)
	for range o.Concurrency + 1 {
		pool <- make([]byte, o.BlockSize)
	}
	g, gctx := errgroup.WithContext(ctx)
	progress, progressDone := reportProgress(o.Progress, o.Concurrency+1)
	whole := md5.New()
	var ids []string
	var size int64
	var readErr error
	for readErr == nil {
		var buf []byte
		select {
		case buf = <-pool:
		case <-gctx.Done():
		}
		if buf == nil {
			break
		}
		n, err := io.ReadFull(r, buf)
		switch {
		case n > 0 && len(ids) == maxBlocks:
			readErr = fmt.Errorf("stage block: more than %d blocks of %d bytes", maxBlocks, o.BlockSize)
		case n > 0:
			whole.Write(buf[:n])
			size += int64(n)
			id, data := blockID(uploadID, len(ids)), buf[:n]
			ids = append(ids, id)
			g.Go(func() error {
				defer func() { pool <- buf }()
				if err := stageBlock(gctx, bb, id, data); err != nil {
					return err
				}
				progress <- int64(len(data))
				return nil
			})
		default:
			pool <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil && readErr == nil {
			readErr = fmt.Errorf("read upload source: %w", err)
		}
	}
	err := g.Wait()
	close(progress)
	<-progressDone
	for _, e := range []error{readErr, err, ctx.Err()} {
		if e != nil {
			return nil, nil, 0, e
		}
	}
	return ids, whole.Sum(nil), size, nil
}

// reportProgress sums the sizes sent on the returned channel and calls fn
// with each new total, one call at a time; done closes after the channel.
func reportProgress(fn func(int64), buffer int) (sizes chan<- int64, done <-chan struct{}) {
	ch := make(chan int64, buffer)
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		var total int64
		for n := range ch {
			total += n
			if fn != nil {
				fn(total)
			}
		}
	}()
	return ch, fin
}

func blockID(uploadID [8]byte, i int) string {
	var b [16]byte
	copy(b[:8], uploadID[:])
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	return base64.StdEncoding.EncodeToString(b[:])
}

// stageBlock sends one block. The body is seekable, so the SDK's retry
// policy resends it after a transient failure.
func stageBlock(ctx context.Context, bb *blockblob.Client, id string, data []byte) error {
	_, err := bb.StageBlock(ctx, id, nopCloser{bytes.NewReader(data)}, nil)
	if err != nil {
		return fmt.Errorf("stage block %d bytes: %w", len(data), classify(err))
	}
	return nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }
