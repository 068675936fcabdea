package blobtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func blockNames(bl []*blockblob.Block) []string {
	var out []string
	for _, b := range bl {
		out = append(out, *b.Name)
	}
	return out
}

func testBlockList(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	bb := cc.NewBlockBlobClient("blocks")
	ids := blockIDs(4)
	parts := [][]byte{[]byte("aaaa"), []byte("bbbbbb"), []byte("cc"), []byte("dddddddd")}
	for i := 0; i < 3; i++ {
		if _, err := bb.StageBlock(ctx, ids[i], body(parts[i]), nil); err != nil {
			t.Fatalf("stage block %d: %v", i, err)
		}
	}

	// Staged blocks are invisible until committed.
	_, _, err := get(t, bb.BlobClient(), nil)
	wantCode(t, "get a blob with only staged blocks", err, http.StatusNotFound, "BlobNotFound")
	bl, err := bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatalf("get block list: %v", err)
	}
	if len(bl.CommittedBlocks) != 0 || !slices.Equal(sortedCopy(blockNames(bl.UncommittedBlocks)), sortedCopy(ids[:3])) {
		t.Fatalf("before commit: committed %v uncommitted %v, want none and %v",
			blockNames(bl.CommittedBlocks), blockNames(bl.UncommittedBlocks), ids[:3])
	}

	// Commit a subset out of order; the unused block is discarded.
	if _, err := bb.CommitBlockList(ctx, []string{ids[2], ids[0]}, nil); err != nil {
		t.Fatalf("commit [2 0]: %v", err)
	}
	got, _, err := get(t, bb.BlobClient(), nil)
	if err != nil {
		t.Fatalf("get committed blob: %v", err)
	}
	wantBytes(t, "committed [2 0]", got, []byte("ccaaaa"))
	bl, err = bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatalf("get block list: %v", err)
	}
	if !slices.Equal(blockNames(bl.CommittedBlocks), []string{ids[2], ids[0]}) || len(bl.UncommittedBlocks) != 0 {
		t.Fatalf("after commit: committed %v uncommitted %v, want [%s %s] and none",
			blockNames(bl.CommittedBlocks), blockNames(bl.UncommittedBlocks), ids[2], ids[0])
	}
	if *bl.CommittedBlocks[0].Size != 2 || *bl.CommittedBlocks[1].Size != 4 {
		t.Fatalf("committed block sizes %d %d, want 2 4", *bl.CommittedBlocks[0].Size, *bl.CommittedBlocks[1].Size)
	}

	// A block that was staged but discarded by the commit is gone.
	_, err = bb.CommitBlockList(ctx, []string{ids[1]}, nil)
	wantCode(t, "commit a discarded block", err, http.StatusBadRequest, "InvalidBlockList")

	testRecommit(t, bb, ids, parts)
}

// testRecommit continues testBlockList on a blob committed as [2 0].
func testRecommit(t *testing.T, bb *blockblob.Client, ids []string, parts [][]byte) {
	t.Helper()
	ctx := context.Background()

	// Committed blocks can be recommitted (Latest falls back to committed),
	// repeated, and mixed with a new staged block.
	if _, err := bb.StageBlock(ctx, ids[3], body(parts[3]), nil); err != nil {
		t.Fatalf("stage block 3: %v", err)
	}
	if _, err := bb.CommitBlockList(ctx, []string{ids[0], ids[3], ids[0]}, nil); err != nil {
		t.Fatalf("commit [0 3 0]: %v", err)
	}
	got, _, _ := get(t, bb.BlobClient(), nil)
	wantBytes(t, "committed [0 3 0]", got, []byte("aaaaddddddddaaaa"))

	// A staged block with a committed block's ID wins under Latest.
	if _, err := bb.StageBlock(ctx, ids[0], body([]byte("ZZ")), nil); err != nil {
		t.Fatalf("restage block 0: %v", err)
	}
	if _, err := bb.CommitBlockList(ctx, []string{ids[0], ids[3]}, nil); err != nil {
		t.Fatalf("commit [0' 3]: %v", err)
	}
	got, _, _ = get(t, bb.BlobClient(), nil)
	wantBytes(t, "committed [0' 3]", got, []byte("ZZdddddddd"))

	// An unknown block fails the commit and leaves the blob as it was.
	_, err := bb.CommitBlockList(ctx, []string{ids[3], blockIDs(1)[0]}, nil)
	wantCode(t, "commit an unknown block", err, http.StatusBadRequest, "InvalidBlockList")
	got, _, _ = get(t, bb.BlobClient(), nil)
	wantBytes(t, "after a failed commit", got, []byte("ZZdddddddd"))

	// An empty list commits an empty blob.
	if _, err := bb.CommitBlockList(ctx, nil, nil); err != nil {
		t.Fatalf("commit empty list: %v", err)
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil || deref(p.ContentLength) != 0 {
		t.Fatalf("empty commit: length %d, %v", deref(p.ContentLength), err)
	}

}

// testAbandoned stages blocks and never commits them, as a writer that
// crashed would: they never show up as a blob.
func testAbandoned(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	ids := blockIDs(1)
	parts := [][]byte{[]byte("aaaa")}
	other := cc.NewBlockBlobClient("abandoned")
	if _, err := other.StageBlock(ctx, ids[0], body(parts[0]), nil); err != nil {
		t.Fatalf("stage abandoned block: %v", err)
	}
	_, err := other.GetProperties(ctx, nil)
	wantCode(t, "properties of a blob with only abandoned blocks", err, http.StatusNotFound, "BlobNotFound")
	pager := cc.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list blobs: %v", err)
		}
		for _, it := range page.Segment.BlobItems {
			if *it.Name == "abandoned" {
				t.Fatalf("list blobs shows a blob that was never committed")
			}
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// testCommitAtomic reads a blob over and over while it is recommitted with
// different content and size; every read must return one whole version.
func testCommitAtomic(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	bb := cc.NewBlockBlobClient("flip")
	versions := [][]byte{bytes.Repeat([]byte("A"), 300_000), bytes.Repeat([]byte("B"), 700_000)}
	commit := func(v []byte) {
		t.Helper()
		ids := blockIDs(3)
		third := len(v) / 3
		chunks := [][]byte{v[:third], v[third : 2*third], v[2*third:]}
		for i, id := range ids {
			if _, err := bb.StageBlock(ctx, id, body(chunks[i]), nil); err != nil {
				t.Fatalf("stage: %v", err)
			}
		}
		if _, err := bb.CommitBlockList(ctx, ids, nil); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	commit(versions[0])

	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := bb.DownloadStream(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				var buf bytes.Buffer
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				if got := buf.Bytes(); !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					errs <- fmt.Errorf("read %d bytes that are neither version", len(got))
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range 10 {
		commit(versions[(i+1)%2])
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("reader during commits: %v", err)
	}
	t.Logf("%s: %d whole reads during 10 commits", s.env.Name, reads.Load())
}

func testConditional(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	bb := cc.NewBlockBlobClient("cond")
	noOverwrite := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}}

	first, err := bb.Upload(ctx, body([]byte("one")), &blockblob.UploadOptions{AccessConditions: noOverwrite})
	if err != nil {
		t.Fatalf("put with If-None-Match * on a new blob: %v", err)
	}
	_, err = bb.Upload(ctx, body([]byte("two")), &blockblob.UploadOptions{AccessConditions: noOverwrite})
	wantCode(t, "put with If-None-Match * on an existing blob", err, http.StatusConflict, "BlobAlreadyExists")
	ids := blockIDs(1)
	if _, err := bb.StageBlock(ctx, ids[0], body([]byte("two")), nil); err != nil {
		t.Fatalf("stage: %v", err)
	}
	_, err = bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{AccessConditions: noOverwrite})
	wantCode(t, "commit with If-None-Match * on an existing blob", err, http.StatusConflict, "BlobAlreadyExists")
	got, _, _ := get(t, bb.BlobClient(), nil)
	wantBytes(t, "after refused overwrites", got, []byte("one"))

	ifMatch := func(e azcore.ETag) *blob.AccessConditions {
		return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e}}
	}
	_, err = bb.Upload(ctx, body([]byte("three")), &blockblob.UploadOptions{AccessConditions: ifMatch("\"0x1234\"")})
	wantCode(t, "put with a stale If-Match", err, http.StatusPreconditionFailed, "ConditionNotMet")
	second, err := bb.Upload(ctx, body([]byte("three")), &blockblob.UploadOptions{AccessConditions: ifMatch(*first.ETag)})
	if err != nil {
		t.Fatalf("put with the current If-Match: %v", err)
	}
	if *second.ETag == *first.ETag {
		t.Fatalf("ETag did not change on overwrite: %s", *second.ETag)
	}
	_, _, err = get(t, bb.BlobClient(), &blob.DownloadStreamOptions{AccessConditions: ifMatch(*first.ETag)})
	wantCode(t, "get with a stale If-Match", err, http.StatusPreconditionFailed, "ConditionNotMet")
	_, err = bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: second.ETag}}})
	wantCode(t, "properties with If-None-Match current", err, http.StatusNotModified)
	_, err = bb.Delete(ctx, &blob.DeleteOptions{AccessConditions: ifMatch(*first.ETag)})
	wantCode(t, "delete with a stale If-Match", err, http.StatusPreconditionFailed, "ConditionNotMet")
	_, err = cc.NewBlockBlobClient("absent").Upload(ctx, body([]byte("x")),
		&blockblob.UploadOptions{AccessConditions: ifMatch(*first.ETag)})
	wantCode(t, "put with If-Match on a missing blob", err, http.StatusPreconditionFailed, "ConditionNotMet")
	if _, err := bb.Delete(ctx, &blob.DeleteOptions{AccessConditions: ifMatch(*second.ETag)}); err != nil {
		t.Fatalf("delete with the current If-Match: %v", err)
	}
}

func testMD5(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	bb := cc.NewBlockBlobClient("md5")
	data := []byte("checked content")
	bad := md5Of([]byte("something else"))
	_, err := bb.Upload(ctx, body(data), &blockblob.UploadOptions{
		TransactionalValidation: blob.TransferValidationTypeMD5(bad)})
	// Azurite 3.35.0 answers InvalidOperation here; Azure answers Md5Mismatch.
	wantCode(t, "put blob with a wrong Content-MD5", err, http.StatusBadRequest, s.md5Codes()...)
	_, err = bb.GetProperties(ctx, nil)
	wantCode(t, "blob after a refused put", err, http.StatusNotFound, "BlobNotFound")

	ids := blockIDs(1)
	_, err = bb.StageBlock(ctx, ids[0], body(data), &blockblob.StageBlockOptions{
		TransactionalValidation: blob.TransferValidationTypeMD5(bad)})
	wantCode(t, "put block with a wrong Content-MD5", err, http.StatusBadRequest, s.md5Codes()...)
	_, err = bb.StageBlock(ctx, ids[0], body(data), &blockblob.StageBlockOptions{
		TransactionalValidation: blob.TransferValidationTypeMD5(md5Of(data))})
	if err != nil {
		t.Fatalf("put block with the right Content-MD5: %v", err)
	}
	_, err = bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentMD5: md5Of(data)}})
	if err != nil {
		t.Fatalf("commit with x-ms-blob-content-md5: %v", err)
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil || !bytes.Equal(p.ContentMD5, md5Of(data)) {
		t.Fatalf("stored x-ms-blob-content-md5: got %x (%v), want %x", p.ContentMD5, err, md5Of(data))
	}
}

func testListing(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	names := []string{"a/1", "a/2", "b/1", "c", "d", "e/x/y", "f"}
	for _, n := range names {
		put(t, cc, n, []byte(n))
	}
	if _, err := cc.NewBlockBlobClient("c").SetMetadata(ctx, map[string]*string{"k": ptr("v")}, nil); err != nil {
		t.Fatalf("set metadata: %v", err)
	}

	var flat []string
	pages := 0
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: ptr(int32(2)),
		Include: container.ListBlobsInclude{Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list flat page %d: %v", pages, err)
		}
		pages++
		if len(page.Segment.BlobItems) > 2 {
			t.Fatalf("page %d has %d items, maxresults 2", pages, len(page.Segment.BlobItems))
		}
		for _, it := range page.Segment.BlobItems {
			flat = append(flat, *it.Name)
			if *it.Properties.ContentLength != int64(len(*it.Name)) ||
				deref(it.Properties.BlobType) != blob.BlobTypeBlockBlob {
				t.Fatalf("listed %s: length %d type %v", *it.Name, *it.Properties.ContentLength,
					deref(it.Properties.BlobType))
			}
			if *it.Name == "c" && (it.Metadata["K"] == nil && it.Metadata["k"] == nil) {
				t.Fatalf("listed c without its metadata: %v", it.Metadata)
			}
		}
	}
	if !slices.Equal(flat, names) || pages != 4 {
		t.Fatalf("flat listing: got %v in %d pages, want %v in 4", flat, pages, names)
	}

	var tree []string
	hp := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{MaxResults: ptr(int32(2))})
	for hp.More() {
		page, err := hp.NextPage(ctx)
		if err != nil {
			t.Fatalf("list hierarchy: %v", err)
		}
		var items []string
		for _, p := range page.Segment.BlobPrefixes {
			items = append(items, *p.Name)
		}
		for _, b := range page.Segment.BlobItems {
			items = append(items, *b.Name)
		}
		if len(items) > 2 {
			t.Fatalf("hierarchy page has %d items, maxresults 2: %v", len(items), items)
		}
		tree = append(tree, items...)
	}
	slices.Sort(tree)
	if want := []string{"a/", "b/", "c", "d", "e/", "f"}; !slices.Equal(tree, want) {
		t.Fatalf("hierarchy listing: got %v, want %v", tree, want)
	}

	var under []string
	pp := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("a/")})
	for pp.More() {
		page, err := pp.NextPage(ctx)
		if err != nil {
			t.Fatalf("list prefix: %v", err)
		}
		for _, it := range page.Segment.BlobItems {
			under = append(under, *it.Name)
		}
	}
	if !slices.Equal(under, []string{"a/1", "a/2"}) {
		t.Fatalf("prefix a/: got %v", under)
	}
}

func (s *suite) md5Codes() []string {
	if s.env.Azurite {
		return []string{"Md5Mismatch", "InvalidOperation"}
	}
	return []string{"Md5Mismatch"}
}
