package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Run runs the conformance suite against env. Every subtest works in its
// own container, so they run in parallel.
func Run(t *testing.T, env Env) {
	s := &suite{env: env}
	tests := []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"Containers", testContainers},
		{"PutAndGetBlob", testPutGet},
		{"NotFound", testNotFound},
		{"Ranges", testRanges},
		{"RawRangeHeader", testRawRange},
		{"BlockList", testBlockList},
		{"AbandonedBlocks", testAbandoned},
		{"CommitIsAtomic", testCommitAtomic},
		{"Conditional", testConditional},
		{"ContentMD5", testMD5},
		{"ListPagination", testListing},
		{"ServiceSAS", testServiceSAS},
		{"ServiceSASRefusals", testServiceSASRefusals},
		{"AccountSAS", testAccountSAS},
		{"WrongKey", testWrongKey},
		{"Anonymous", testAnonymous},
		{"ErrorBody", testErrorBody},
		{"ClientUploadAndReaderAt", testClient},
		{"ClientWithSAS", testClientSAS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, s)
		})
	}
}

type suite struct{ env Env }

// deviates reports (and logs) a success where Azure documents a failure,
// which the suite accepts from Azurite only.
func (s *suite) deviates(t *testing.T, err error, format string, args ...any) bool {
	t.Helper()
	if s.env.Azurite && err == nil {
		t.Logf("azurite deviation: "+format, args...)
		return true
	}
	return false
}

func (s *suite) cred(t *testing.T) *azblob.SharedKeyCredential {
	t.Helper()
	c, err := azblob.NewSharedKeyCredential(s.env.Account, s.env.Key)
	if err != nil {
		t.Fatalf("shared key credential: %v", err)
	}
	return c
}

func (s *suite) client(t *testing.T) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientWithSharedKeyCredential(s.env.Endpoint+"/", s.cred(t), clientOptions())
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

func clientOptions() *azblob.ClientOptions {
	o := &azblob.ClientOptions{}
	o.Retry.MaxRetries = 1
	o.Telemetry.Disabled = true
	return o
}

// newContainer creates a container with a random name, deleted at the end.
func (s *suite) newContainer(t *testing.T) *container.Client {
	t.Helper()
	name := "c" + randomHex(8)
	cc := s.client(t).ServiceClient().NewContainerClient(name)
	if _, err := cc.Create(context.Background(), nil); err != nil {
		t.Fatalf("%s: create container %s: %v", s.env.Name, name, err)
	}
	t.Cleanup(func() { cc.Delete(context.Background(), nil) })
	return cc
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func md5Of(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

type rsc struct{ *bytes.Reader }

func (rsc) Close() error { return nil }

func body(b []byte) io.ReadSeekCloser { return rsc{bytes.NewReader(b)} }

func put(t *testing.T, cc *container.Client, name string, data []byte) blockblob.UploadResponse {
	t.Helper()
	resp, err := cc.NewBlockBlobClient(name).Upload(context.Background(), body(data), nil)
	if err != nil {
		t.Fatalf("put blob %q: %v", name, err)
	}
	return resp
}

func get(t *testing.T, bc *blob.Client, o *blob.DownloadStreamOptions) ([]byte, blob.DownloadStreamResponse, error) {
	t.Helper()
	resp, err := bc.DownloadStream(context.Background(), o)
	if err != nil {
		return nil, resp, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp, err
}

// wantCode checks that err is a service error with the status and code.
// codes lists acceptable codes (Azure's first).
func wantCode(t *testing.T, what string, err error, status int, codes ...string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got error %v, want HTTP %d %v", what, err, status, codes)
	}
	if re.StatusCode != status {
		t.Fatalf("%s: got HTTP %d %s, want %d %v", what, re.StatusCode, re.ErrorCode, status, codes)
	}
	if len(codes) == 0 {
		return
	}
	for _, c := range codes {
		if re.ErrorCode == c {
			return
		}
	}
	t.Fatalf("%s: got code %q, want one of %v", what, re.ErrorCode, codes)
}

func wantBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (md5 %x), want %d bytes (md5 %x)",
			what, len(got), md5Of(got), len(want), md5Of(want))
	}
}

func ptr[T any](v T) *T { return &v }

func testContainers(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.client(t).ServiceClient()
	name := "ct" + randomHex(6)
	cc := svc.NewContainerClient(name)
	if _, err := cc.Create(ctx, &container.CreateOptions{Metadata: map[string]*string{"owner": ptr("suite")}}); err != nil {
		t.Fatalf("create container: %v", err)
	}
	_, err := cc.Create(ctx, nil)
	wantCode(t, "create it again", err, http.StatusConflict, "ContainerAlreadyExists")
	props, err := cc.GetProperties(ctx, nil)
	if err != nil || props.ETag == nil || props.LastModified == nil {
		t.Fatalf("get container properties: %+v, %v", props, err)
	}
	if v := props.Metadata["Owner"]; v == nil || *v != "suite" {
		t.Fatalf("container metadata: got %v, want Owner=suite", props.Metadata)
	}
	found := false
	pager := svc.NewListContainersPager(&service.ListContainersOptions{Prefix: ptr(name)})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		for _, c := range page.ContainerItems {
			found = found || *c.Name == name
		}
	}
	if !found {
		t.Fatalf("list containers with prefix %q did not list it", name)
	}
	if _, err := cc.Delete(ctx, nil); err != nil {
		t.Fatalf("delete container: %v", err)
	}
	_, err = cc.GetProperties(ctx, nil)
	wantCode(t, "properties of a deleted container", err, http.StatusNotFound, "ContainerNotFound")
	_, err = cc.Delete(ctx, nil)
	wantCode(t, "delete a deleted container", err, http.StatusNotFound, "ContainerNotFound")
}

func testPutGet(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	data := randomBytes(100_000)
	bb := cc.NewBlockBlobClient("dir/päckage 1.bacpac")
	_, err := bb.Upload(ctx, body(data), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/zip")},
		// Names with underscores and digits exercise the order in which
		// SharedKey signs x-ms-meta-* headers.
		Metadata: map[string]*string{"sha256": ptr("abc"), "a_b": ptr("1"), "ab": ptr("2"),
			"a1": ptr("3"), "z9": ptr("4")},
	})
	if err != nil {
		t.Fatalf("put blob: %v", err)
	}
	got, resp, err := get(t, bb.BlobClient(), nil)
	if err != nil {
		t.Fatalf("get blob: %v", err)
	}
	wantBytes(t, "get blob", got, data)
	if deref(resp.ContentLength) != int64(len(data)) || deref(resp.ContentType) != "application/zip" ||
		deref(resp.BlobType) != blob.BlobTypeBlockBlob || deref(resp.AcceptRanges) != "bytes" ||
		resp.ETag == nil || resp.LastModified == nil {
		t.Fatalf("get blob headers: length %d type %q blob type %v ranges %q",
			deref(resp.ContentLength), deref(resp.ContentType), deref(resp.BlobType), deref(resp.AcceptRanges))
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("get properties: %v", err)
	}
	if !bytes.Equal(p.ContentMD5, md5Of(data)) {
		t.Fatalf("stored Content-MD5: got %x, want %x", p.ContentMD5, md5Of(data))
	}
	if v := p.Metadata["Sha256"]; v == nil || *v != "abc" || len(p.Metadata) != 5 {
		t.Fatalf("metadata: got %d entries %v, want 5 with Sha256=abc", len(p.Metadata), p.Metadata)
	}
	if deref(p.ContentLength) != int64(len(data)) || deref(p.BlobType) != blob.BlobTypeBlockBlob {
		t.Fatalf("properties: length %d type %v", deref(p.ContentLength), deref(p.BlobType))
	}

	// Overwrite, then delete.
	put(t, cc, "dir/päckage 1.bacpac", []byte("second"))
	got, _, _ = get(t, bb.BlobClient(), nil)
	wantBytes(t, "overwritten blob", got, []byte("second"))
	if _, err := bb.Delete(ctx, nil); err != nil {
		t.Fatalf("delete blob: %v", err)
	}
	_, _, err = get(t, bb.BlobClient(), nil)
	wantCode(t, "get deleted blob", err, http.StatusNotFound, "BlobNotFound")
}

func testNotFound(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.client(t).ServiceClient()
	missing := svc.NewContainerClient("missing" + randomHex(4)).NewBlockBlobClient("x")
	_, _, err := get(t, missing.BlobClient(), nil)
	wantCode(t, "get blob in missing container", err, http.StatusNotFound, "ContainerNotFound")
	_, err = missing.Upload(ctx, body([]byte("x")), nil)
	wantCode(t, "put blob in missing container", err, http.StatusNotFound, "ContainerNotFound")
	_, err = missing.StageBlock(ctx, blockIDs(1)[0], body([]byte("x")), nil)
	wantCode(t, "put block in missing container", err, http.StatusNotFound, "ContainerNotFound")

	cc := s.newContainer(t)
	bb := cc.NewBlockBlobClient("nope")
	_, _, err = get(t, bb.BlobClient(), nil)
	wantCode(t, "get missing blob", err, http.StatusNotFound, "BlobNotFound")
	_, err = bb.GetProperties(ctx, nil)
	wantCode(t, "properties of missing blob", err, http.StatusNotFound, "BlobNotFound")
	_, err = bb.Delete(ctx, nil)
	wantCode(t, "delete missing blob", err, http.StatusNotFound, "BlobNotFound")
}

func testRanges(t *testing.T, s *suite) {
	cc := s.newContainer(t)
	data := randomBytes(1000)
	put(t, cc, "r", data)
	bc := cc.NewBlobClient("r")
	for _, tc := range []struct {
		name         string
		off, count   int64
		from, to     int64 // expected slice
		contentRange string
	}{
		{"first byte", 0, 1, 0, 1, "bytes 0-0/1000"},
		{"middle", 100, 50, 100, 150, "bytes 100-149/1000"},
		{"open-ended", 990, 0, 990, 1000, "bytes 990-999/1000"},
		{"last byte", 999, 1, 999, 1000, "bytes 999-999/1000"},
		{"past the end is clipped", 995, 100, 995, 1000, "bytes 995-999/1000"},
		{"whole blob as a range", 0, 1000, 0, 1000, "bytes 0-999/1000"},
	} {
		got, resp, err := get(t, bc, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: tc.off, Count: tc.count}})
		if err != nil {
			t.Fatalf("%s: range %d+%d: %v", tc.name, tc.off, tc.count, err)
		}
		wantBytes(t, tc.name, got, data[tc.from:tc.to])
		if deref(resp.ContentRange) != tc.contentRange {
			t.Fatalf("%s: Content-Range %q, want %q", tc.name, deref(resp.ContentRange), tc.contentRange)
		}
	}
	for _, off := range []int64{1000, 5000} {
		got, _, err := get(t, bc, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: 10}})
		what := fmt.Sprintf("range starting at %d of 1000", off)
		if s.deviates(t, err, what+" returned %d bytes instead of 416 InvalidRange", len(got)) {
			continue
		}
		wantCode(t, what, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	}

	// An empty blob has no satisfiable range; a plain GET returns nothing.
	put(t, cc, "empty", nil)
	_, _, err := get(t, cc.NewBlobClient("empty"), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: 1}})
	if !s.deviates(t, err, "a range of an empty blob succeeded instead of 416 InvalidRange") {
		wantCode(t, "range of an empty blob", err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	}
	got, _, err := get(t, cc.NewBlobClient("empty"), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("get empty blob: %d bytes, %v", len(got), err)
	}

	// x-ms-range-get-content-md5 returns the digest of the range.
	_, resp, err := get(t, bc, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: 10, Count: 20}, RangeGetContentMD5: ptr(true)})
	if err != nil || !bytes.Equal(resp.ContentMD5, md5Of(data[10:30])) {
		t.Fatalf("range MD5: got %x (%v), want %x", resp.ContentMD5, err, md5Of(data[10:30]))
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// testRawRange sends the standard Range header (not x-ms-range) through a
// SAS URL with net/http, and checks the XML error on a bad range.
func testRawRange(t *testing.T, s *suite) {
	cc := s.newContainer(t)
	data := randomBytes(300)
	put(t, cc, "raw", data)
	u := s.blobSAS(t, cc, "raw", "r")
	for _, tc := range []struct {
		rng      string
		status   int
		from, to int
	}{
		{"bytes=10-19", http.StatusPartialContent, 10, 20},
		{"bytes=290-", http.StatusPartialContent, 290, 300},
		{"bytes=299-299", http.StatusPartialContent, 299, 300},
		{"bytes=0-1000", http.StatusPartialContent, 0, 300},
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Range", tc.rng)
		req.Header.Set("x-ms-version", "2025-11-05")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET with Range %s: %v", tc.rng, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("Range %s: status %d, want %d", tc.rng, resp.StatusCode, tc.status)
		}
		wantBytes(t, "Range "+tc.rng, got, data[tc.from:tc.to])
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=300-400")
	req.Header.Set("x-ms-version", "2025-11-05")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET past the end: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if s.env.Azurite && resp.StatusCode == http.StatusPartialContent {
		t.Logf("azurite deviation: Range past the end answered 206 with %d bytes, Azure answers 416 InvalidRange", len(b))
		return
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable ||
		resp.Header.Get("x-ms-error-code") != "InvalidRange" ||
		!strings.Contains(string(b), "<Code>InvalidRange</Code>") {
		t.Fatalf("Range past the end: status %d code %q body %q, want 416 InvalidRange",
			resp.StatusCode, resp.Header.Get("x-ms-error-code"), b)
	}
}

func blockIDs(n int) []string {
	prefix := randomHex(4)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s-%06d", prefix, i)))
	}
	return ids
}
