package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/bacport/bacport/internal/blob"
)

func (s *suite) account(t *testing.T) *blob.Account {
	t.Helper()
	a, err := blob.NewAccount(s.env.Endpoint, blob.Credential{AccountKey: s.env.Key}, &blob.Options{MaxRetries: 1})
	if err != nil {
		t.Fatalf("new account: %v", err)
	}
	return a
}

// testClient drives bacport's own client code: streaming upload in
// parallel blocks, no-overwrite, and a ReaderAt over the result.
func testClient(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.account(t)
	if a.Name() != s.env.Account {
		t.Fatalf("account name from endpoint %s: got %q, want %q", s.env.Endpoint, a.Name(), s.env.Account)
	}
	cc := s.newContainer(t)
	cname := containerName(cc)
	data := randomBytes(3<<20 + 12345)
	var last int64
	p, err := a.Upload(ctx, cname, "pkg.bacpac", bytes.NewReader(data), &blob.UploadOptions{
		BlockSize: 256 << 10, Concurrency: 3, ContentType: "application/zip",
		Metadata: map[string]string{"origin": "suite"},
		Progress: func(n int64) { last = n }})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if p.Size != int64(len(data)) || last != int64(len(data)) {
		t.Fatalf("upload: size %d progress %d, want %d", p.Size, last, len(data))
	}
	_, err = a.Upload(ctx, cname, "pkg.bacpac", bytes.NewReader(data), nil)
	if !errors.Is(err, blob.ErrExists) {
		t.Fatalf("upload without overwrite over an existing blob: got %v, want ErrExists", err)
	}
	props, err := a.Properties(ctx, cname, "pkg.bacpac")
	if err != nil || props.Size != int64(len(data)) || !bytes.Equal(props.ContentMD5, md5Of(data)) {
		t.Fatalf("properties after upload: %+v, %v", props, err)
	}

	r, err := a.OpenWith(ctx, cname, "pkg.bacpac", &blob.ReaderOptions{ChunkSize: 64 << 10, CacheChunks: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if r.Size() != int64(len(data)) {
		t.Fatalf("reader size %d, want %d", r.Size(), len(data))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		n := rng.IntN(100_000) + 1
		if i%50 == 0 {
			n = 300_000 // bypasses the cache
		}
		off := rng.Int64N(int64(len(data) - n))
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, off); err != nil {
			t.Fatalf("ReadAt(%d, %d): %v", n, off, err)
		}
		wantBytes(t, "ReadAt", buf, data[off:off+int64(n)])
	}
	tail := make([]byte, 100)
	n, err := r.ReadAt(tail, int64(len(data)-40))
	if n != 40 || err != io.EOF {
		t.Fatalf("ReadAt over the end: n=%d err=%v, want 40 and io.EOF", n, err)
	}
	var whole bytes.Buffer
	if _, err := io.Copy(&whole, io.NewSectionReader(r, 0, r.Size())); err != nil {
		t.Fatalf("read whole through SectionReader: %v", err)
	}
	wantBytes(t, "whole blob through ReaderAt", whole.Bytes(), data)

	// Replacing the blob makes the old reader fail rather than mix versions.
	if _, err := a.Upload(ctx, cname, "pkg.bacpac", bytes.NewReader([]byte("new")), &blob.UploadOptions{Overwrite: true}); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	_, err = r.ReadAt(make([]byte, 300_000), 0)
	if !errors.Is(err, blob.ErrChanged) {
		t.Fatalf("read a replaced blob: got %v, want ErrChanged", err)
	}

	if _, err := a.Open(ctx, cname, "absent"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("open a missing blob: got %v, want ErrNotFound", err)
	}
	empty, err := a.Upload(ctx, cname, "empty", bytes.NewReader(nil), nil)
	if err != nil || empty.Size != 0 {
		t.Fatalf("upload empty: %+v %v", empty, err)
	}
	if err := a.Delete(ctx, cname, "empty"); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

// testClientSAS uses the client code with a container SAS, as a job given
// storageKeyType SharedAccessKey does, through a storageUri.
func testClientSAS(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	q := s.sign(t, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP,
		ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: containerName(cc),
		Permissions: (&sas.ContainerPermissions{Read: true, Write: true, Create: true, List: true}).String()})
	uri := cc.URL() + "/exports/db.bacpac"
	a, u, err := blob.OpenURI(uri, blob.SharedAccessKey, "?"+q, &blob.Options{MaxRetries: 1})
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	if u.Account != s.env.Account || u.Container != containerName(cc) || u.Blob != "exports/db.bacpac" {
		t.Fatalf("parsed %s as %+v", uri, u)
	}
	data := randomBytes(700_000)
	if _, err := a.Upload(ctx, u.Container, u.Blob, bytes.NewReader(data), &blob.UploadOptions{BlockSize: 100_000}); err != nil {
		t.Fatalf("upload with SAS: %v", err)
	}
	r, err := a.Open(ctx, u.Container, u.Blob)
	if err != nil {
		t.Fatalf("open with SAS: %v", err)
	}
	got := make([]byte, len(data))
	if _, err := r.ReadAt(got, 0); err != nil {
		t.Fatalf("read with SAS: %v", err)
	}
	wantBytes(t, "read with SAS", got, data)

	// A write-only SAS can upload (the existence check is left to the
	// commit) and still not overwrite.
	wo, _, err := blob.OpenURI(uri+"?"+s.sign(t, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP,
		ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: containerName(cc), Permissions: "cw"}),
		"", "", nil)
	if err != nil {
		t.Fatalf("open with a write-only SAS: %v", err)
	}
	if _, err := wo.Upload(ctx, u.Container, "write-only", bytes.NewReader(data[:1000]), nil); err != nil {
		t.Fatalf("upload with a write-only SAS: %v", err)
	}
	_, err = wo.Upload(ctx, u.Container, "write-only", bytes.NewReader(data[:1000]), nil)
	if !errors.Is(err, blob.ErrExists) {
		t.Fatalf("second upload with a write-only SAS: got %v, want ErrExists", err)
	}

	ro, _, err := blob.OpenURI(uri+"?"+s.sign(t, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP,
		ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: containerName(cc), Permissions: "r"}),
		"", "", nil)
	if err != nil {
		t.Fatalf("open with SAS in the URI: %v", err)
	}
	_, err = ro.Upload(ctx, u.Container, "other", bytes.NewReader(data), nil)
	if !errors.Is(err, blob.ErrAccessDenied) {
		t.Fatalf("upload with a read-only SAS: got %v, want ErrAccessDenied", err)
	}
}
