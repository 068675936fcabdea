package blobtest

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// blobSAS returns a URL of the blob carrying a blob SAS with perms.
func (s *suite) blobSAS(t *testing.T, cc *container.Client, name, perms string) string {
	t.Helper()
	q := s.sign(t, sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: perms, ContainerName: containerName(cc), BlobName: name})
	return cc.NewBlobClient(name).URL() + "?" + q
}

func (s *suite) sign(t *testing.T, v sas.BlobSignatureValues) string {
	t.Helper()
	q, err := v.SignWithSharedKey(s.cred(t))
	if err != nil {
		t.Fatalf("sign SAS: %v", err)
	}
	return q.Encode()
}

func containerName(cc *container.Client) string {
	u, _ := url.Parse(cc.URL())
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	return parts[len(parts)-1]
}

func sasContainer(t *testing.T, cc *container.Client, query string) *container.Client {
	t.Helper()
	c, err := container.NewClientWithNoCredential(cc.URL()+"?"+query, &container.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatalf("SAS container client: %v", err)
	}
	return c
}

// wantDenied checks a 403 whose code is one of codes.
func wantDenied(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	wantCode(t, what, err, http.StatusForbidden, codes...)
}

// authFailed lists the codes accepted for a bad signature or time window:
// Azure's AuthenticationFailed, and for Azurite also the
// AuthorizationFailure it answers instead (a known Azurite deviation).
func (s *suite) authFailed() []string {
	if s.env.Azurite {
		return []string{"AuthenticationFailed", "AuthorizationFailure"}
	}
	return []string{"AuthenticationFailed"}
}

func testServiceSAS(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	other := s.newContainer(t)
	put(t, cc, "x", []byte("x data"))
	put(t, cc, "y", []byte("y data"))
	put(t, other, "x", []byte("other x"))
	now := time.Now().UTC()
	base := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP,
		StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour), ContainerName: containerName(cc)}

	// A read+list container SAS lists and reads, but cannot write.
	v := base
	v.Permissions = (&sas.ContainerPermissions{Read: true, List: true}).String()
	q := s.sign(t, v)
	rl := sasContainer(t, cc, q)
	pager := rl.NewListBlobsFlatPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 2 {
		t.Fatalf("list with a container SAS: %v", err)
	}
	got, _, err := get(t, rl.NewBlobClient("x"), nil)
	if err != nil || string(got) != "x data" {
		t.Fatalf("read with a container SAS: %q, %v", got, err)
	}
	_, err = rl.NewBlockBlobClient("new").Upload(ctx, body([]byte("w")), nil)
	wantDenied(t, "write with a read-only container SAS", err, "AuthorizationPermissionMismatch")
	_, err = rl.NewBlobClient("x").Delete(ctx, nil)
	wantDenied(t, "delete with a read-only container SAS", err, "AuthorizationPermissionMismatch")

	// The same token on another container is the wrong resource.
	_, _, err = get(t, sasContainer(t, other, q).NewBlobClient("x"), nil)
	wantDenied(t, "container SAS used on another container", err, s.authFailed()...)

	// A write+create container SAS can upload.
	v.Permissions = (&sas.ContainerPermissions{Create: true, Write: true}).String()
	wc := sasContainer(t, cc, s.sign(t, v))
	if _, err := wc.NewBlockBlobClient("new").Upload(ctx, body([]byte("w")), nil); err != nil {
		t.Fatalf("write with a write container SAS: %v", err)
	}
	_, _, err = get(t, wc.NewBlobClient("new"), nil)
	wantDenied(t, "read with a write-only container SAS", err, "AuthorizationPermissionMismatch")

	// Create without write adds blobs but cannot replace them.
	v.Permissions = (&sas.ContainerPermissions{Create: true}).String()
	co := sasContainer(t, cc, s.sign(t, v))
	if _, err := co.NewBlockBlobClient("created").Upload(ctx, body([]byte("c")), nil); err != nil {
		t.Fatalf("create with a create-only SAS: %v", err)
	}
	_, err = co.NewBlockBlobClient("created").Upload(ctx, body([]byte("c2")), nil)
	wantDenied(t, "overwrite with a create-only SAS", err, "AuthorizationPermissionMismatch")

}

// testServiceSASRefusals checks blob scope, response overrides, the time
// window and tampering.
func testServiceSASRefusals(t *testing.T, s *suite) {
	cc := s.newContainer(t)
	put(t, cc, "x", []byte("x data"))
	put(t, cc, "y", []byte("y data"))
	now := time.Now().UTC()
	base := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP,
		StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour), ContainerName: containerName(cc)}

	// A blob SAS reaches its blob only.
	bv := base
	bv.BlobName, bv.Permissions = "x", (&sas.BlobPermissions{Read: true}).String()
	bq := s.sign(t, bv)
	bc := sasContainer(t, cc, bq)
	if got, _, err := get(t, bc.NewBlobClient("x"), nil); err != nil || string(got) != "x data" {
		t.Fatalf("read with a blob SAS: %q, %v", got, err)
	}
	_, _, err := get(t, bc.NewBlobClient("y"), nil)
	wantDenied(t, "blob SAS used on another blob", err, s.authFailed()...)

	// Response headers fixed by the SAS are signed and applied.
	ov := bv
	ov.ContentType, ov.ContentDisposition = "text/plain", "attachment; filename=x.txt"
	_, resp, err := get(t, sasContainer(t, cc, s.sign(t, ov)).NewBlobClient("x"), nil)
	if err != nil || deref(resp.ContentType) != "text/plain" || deref(resp.ContentDisposition) != "attachment; filename=x.txt" {
		t.Fatalf("SAS response overrides: type %q disposition %q, %v",
			deref(resp.ContentType), deref(resp.ContentDisposition), err)
	}

	// Time window.
	expired := base
	expired.StartTime, expired.ExpiryTime = now.Add(-2*time.Hour), now.Add(-time.Hour)
	expired.Permissions = "r"
	_, _, err = get(t, sasContainer(t, cc, s.sign(t, expired)).NewBlobClient("x"), nil)
	wantDenied(t, "expired SAS", err, s.authFailed()...)
	early := base
	early.StartTime, early.ExpiryTime = now.Add(time.Hour), now.Add(2*time.Hour)
	early.Permissions = "r"
	_, _, err = get(t, sasContainer(t, cc, s.sign(t, early)).NewBlobClient("x"), nil)
	wantDenied(t, "SAS not yet valid", err, s.authFailed()...)

	// Tampering: a changed signature, or widened permissions kept with the
	// old signature.
	q := bq
	vals, _ := url.ParseQuery(q)
	sig, _ := base64.StdEncoding.DecodeString(vals.Get("sig"))
	sig[0] ^= 0xff
	vals.Set("sig", base64.StdEncoding.EncodeToString(sig))
	_, _, err = get(t, sasContainer(t, cc, vals.Encode()).NewBlobClient("x"), nil)
	wantDenied(t, "tampered signature", err, s.authFailed()...)
	vals, _ = url.ParseQuery(q)
	vals.Set("sp", "rwdl")
	_, err = sasContainer(t, cc, vals.Encode()).NewBlockBlobClient("x").Upload(context.Background(), body([]byte("z")), nil)
	wantDenied(t, "permissions widened without re-signing", err, s.authFailed()...)
}

func testAccountSAS(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	put(t, cc, "x", []byte("x data"))
	now := time.Now().UTC()
	sign := func(perms sas.AccountPermissions, rt sas.AccountResourceTypes, start, expiry time.Time) *azblob.Client {
		t.Helper()
		q, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, StartTime: start, ExpiryTime: expiry,
			Permissions: perms.String(), ResourceTypes: rt.String()}.SignWithSharedKey(s.cred(t))
		if err != nil {
			t.Fatalf("sign account SAS: %v", err)
		}
		c, err := azblob.NewClientWithNoCredential(s.env.Endpoint+"/?"+q.Encode(), clientOptions())
		if err != nil {
			t.Fatalf("account SAS client: %v", err)
		}
		return c
	}
	hour := now.Add(time.Hour)
	all := sas.AccountResourceTypes{Service: true, Container: true, Object: true}

	c := sign(sas.AccountPermissions{Read: true, List: true}, all, now.Add(-time.Minute), hour)
	if _, err := c.NewListContainersPager(nil).NextPage(ctx); err != nil {
		t.Fatalf("list containers with an account SAS: %v", err)
	}
	if got, _, err := get(t, c.ServiceClient().NewContainerClient(containerName(cc)).NewBlobClient("x"), nil); err != nil || string(got) != "x data" {
		t.Fatalf("read with an account SAS: %q %v", got, err)
	}
	_, err := c.UploadBuffer(ctx, containerName(cc), "new", []byte("n"), nil)
	wantDenied(t, "write with a read+list account SAS", err, "AuthorizationPermissionMismatch")

	objOnly := sign(sas.AccountPermissions{Read: true, List: true}, sas.AccountResourceTypes{Object: true}, now.Add(-time.Minute), hour)
	_, err = objOnly.NewListContainersPager(nil).NextPage(ctx)
	wantDenied(t, "list containers with an object-only account SAS", err, "AuthorizationResourceTypeMismatch")
	_, err = objOnly.NewListBlobsFlatPager(containerName(cc), nil).NextPage(ctx)
	wantDenied(t, "list blobs with an object-only account SAS", err, "AuthorizationResourceTypeMismatch")

	rw := sign(sas.AccountPermissions{Read: true, Write: true, Create: true, Delete: true, List: true},
		sas.AccountResourceTypes{Container: true, Object: true}, now.Add(-time.Minute), hour)
	name := "acctsas" + randomHex(4)
	if _, err := rw.CreateContainer(ctx, name, nil); err != nil {
		t.Fatalf("create container with an account SAS: %v", err)
	}
	if _, err := rw.UploadBuffer(ctx, name, "b", []byte("b"), nil); err != nil {
		t.Fatalf("upload with an account SAS: %v", err)
	}
	if _, err := rw.DeleteContainer(ctx, name, nil); err != nil {
		t.Fatalf("delete container with an account SAS: %v", err)
	}

	expired := sign(sas.AccountPermissions{Read: true, List: true}, all, now.Add(-2*time.Hour), now.Add(-time.Hour))
	_, err = expired.NewListContainersPager(nil).NextPage(ctx)
	wantDenied(t, "expired account SAS", err, s.authFailed()...)
}

func testWrongKey(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	put(t, cc, "x", []byte("x"))
	wrong, _ := azblob.NewSharedKeyCredential(s.env.Account, base64.StdEncoding.EncodeToString(randomBytes(64)))
	c, err := azblob.NewClientWithSharedKeyCredential(s.env.Endpoint+"/", wrong, clientOptions())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	_, err = c.NewListContainersPager(nil).NextPage(ctx)
	wantDenied(t, "list containers with a wrong key", err, s.authFailed()...)
	_, _, err = get(t, c.ServiceClient().NewContainerClient(containerName(cc)).NewBlobClient("x"), nil)
	wantDenied(t, "read with a wrong key", err, s.authFailed()...)
	_, err = c.UploadBuffer(ctx, containerName(cc), "x", []byte("overwrite"), nil)
	wantDenied(t, "write with a wrong key", err, s.authFailed()...)
}

// testAnonymous checks that a request with no credentials reads nothing.
// Azure answers 401 NoAuthenticationInformation (or 404 ResourceNotFound
// for reads of private blobs); Azurite answers 403 or 404.
func testAnonymous(t *testing.T, s *suite) {
	ctx := context.Background()
	cc := s.newContainer(t)
	put(t, cc, "x", []byte("secret"))
	anon, err := container.NewClientWithNoCredential(cc.URL(), &container.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatalf("anonymous client: %v", err)
	}
	denied := func(what string, err error) {
		t.Helper()
		var re *azcore.ResponseError
		if !errors.As(err, &re) || (re.StatusCode != 401 && re.StatusCode != 403 && re.StatusCode != 404) {
			t.Fatalf("anonymous %s: got %v, want 401, 403 or 404", what, err)
		}
	}
	_, _, err = get(t, anon.NewBlobClient("x"), nil)
	denied("read", err)
	_, err = anon.NewListBlobsFlatPager(nil).NextPage(ctx)
	denied("list", err)
	_, err = anon.NewBlockBlobClient("y").Upload(ctx, body([]byte("y")), nil)
	denied("write", err)
	svc, _ := service.NewClientWithNoCredential(s.env.Endpoint+"/", &service.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	_, err = svc.NewListContainersPager(nil).NextPage(ctx)
	denied("list containers", err)
}

// testErrorBody checks the raw wire form of an error: status, header and
// XML body.
func testErrorBody(t *testing.T, s *suite) {
	cc := s.newContainer(t)
	u := s.blobSAS(t, cc, "missing", "r")
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("x-ms-version", "2025-11-05")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET missing blob: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "BlobNotFound" ||
		!strings.Contains(string(b), "<Error>") || !strings.Contains(string(b), "<Code>BlobNotFound</Code>") ||
		resp.Header.Get("x-ms-request-id") == "" || (resp.Header.Get("x-ms-version") == "" && !s.env.Azurite) {
		t.Fatalf("missing blob: status %d code %q request id %q body %q", resp.StatusCode,
			resp.Header.Get("x-ms-error-code"), resp.Header.Get("x-ms-request-id"), b)
	}
	if resp.Header.Get("x-ms-version") == "" {
		t.Logf("azurite deviation: no x-ms-version header on an error response")
	}
}
