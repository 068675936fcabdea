package embedded_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/bacport/bacport/internal/blob/embedded"
)

func startServer(t *testing.T, dir string, persist bool) *embedded.Server {
	t.Helper()
	srv, err := embedded.New(embedded.Config{Dir: dir, PersistAccounts: persist})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func client(t *testing.T, srv *embedded.Server, acct string, key []byte) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(acct, base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	o := &azblob.ClientOptions{}
	o.Retry.MaxRetries = -1
	c, err := azblob.NewClientWithSharedKeyCredential(srv.AccountURL(acct)+"/", cred, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func TestServer_Keys(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), false)
	k1, k2 := embedded.NewKey(), embedded.NewKey()
	if err := srv.AddAccount("keys", k1, k2); err != nil {
		t.Fatalf("add account: %v", err)
	}
	if err := srv.AddAccount("keys", k1, k2); !errors.Is(err, embedded.ErrAccountExists) {
		t.Fatalf("add twice: %v, want ErrAccountExists", err)
	}
	if err := srv.AddAccount("Bad_Name", k1, k2); !errors.Is(err, embedded.ErrInvalidName) {
		t.Fatalf("add invalid name: %v, want ErrInvalidName", err)
	}
	if _, err := client(t, srv, "keys", k1).CreateContainer(ctx, "box", nil); err != nil {
		t.Fatalf("create with key1: %v", err)
	}
	if _, err := client(t, srv, "keys", k2).UploadBuffer(ctx, "box", "b", []byte("x"), nil); err != nil {
		t.Fatalf("upload with key2: %v", err)
	}

	newK1, err := srv.RegenerateKey("keys", embedded.Key1)
	if err != nil {
		t.Fatalf("regenerate key1: %v", err)
	}
	_, err = client(t, srv, "keys", k1).UploadBuffer(ctx, "box", "b", []byte("x"), nil)
	wantCode(t, "old key1 after regeneration", err, "AuthenticationFailed")
	if _, err := client(t, srv, "keys", newK1).UploadBuffer(ctx, "box", "b", []byte("y"), nil); err != nil {
		t.Fatalf("new key1: %v", err)
	}
	if _, err := client(t, srv, "keys", k2).UploadBuffer(ctx, "box", "b", []byte("z"), nil); err != nil {
		t.Fatalf("key2 after key1 regenerated: %v", err)
	}

	// A SAS signed with key2 stops working when key2 is regenerated.
	cred, _ := azblob.NewSharedKeyCredential("keys", base64.StdEncoding.EncodeToString(k2))
	q, _ := sas.BlobSignatureValues{ExpiryTime: time.Now().Add(time.Hour), Permissions: "r",
		ContainerName: "box", BlobName: "b"}.SignWithSharedKey(cred)
	u := srv.AccountURL("keys") + "/box/b?" + q.Encode()
	if status := httpGet(t, u); status != http.StatusOK {
		t.Fatalf("SAS signed with key2: status %d", status)
	}
	if _, err := srv.RegenerateKey("keys", embedded.Key2); err != nil {
		t.Fatal(err)
	}
	if status := httpGet(t, u); status != http.StatusForbidden {
		t.Fatalf("SAS signed with a regenerated key: status %d, want 403", status)
	}

	if err := srv.RemoveAccount("keys"); err != nil {
		t.Fatalf("remove: %v", err)
	}
	_, err = client(t, srv, "keys", newK1).NewListContainersPager(nil).NextPage(ctx)
	wantCode(t, "removed account", err, "ResourceNotFound")
	if err := srv.RemoveAccount("keys"); !errors.Is(err, embedded.ErrAccountNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
}

func httpGet(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServer_PersistAccounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startServer(t, dir, true)
	k1, k2 := embedded.NewKey(), embedded.NewKey()
	if err := srv.AddAccount("kept", k1, k2); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv, "kept", k1)
	c.CreateContainer(ctx, "box", nil)
	if _, err := c.UploadBuffer(ctx, "box", "b", []byte("persisted"), nil); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // stopping twice is fine

	srv2 := startServer(t, dir, true)
	if got := srv2.Accounts(); len(got) != 1 || got[0] != "kept" {
		t.Fatalf("accounts after restart: %v", got)
	}
	buf := make([]byte, 9)
	if _, err := client(t, srv2, "kept", k2).DownloadBuffer(ctx, "box", "b", buf, nil); err != nil || string(buf) != "persisted" {
		t.Fatalf("blob after restart: %q %v", buf, err)
	}

	// Without persistence the data stays but the account must be added again.
	srv2.Close()
	srv3 := startServer(t, dir, false)
	if got := srv3.Accounts(); len(got) != 0 {
		t.Fatalf("accounts without persistence: %v", got)
	}
	srv3.AddAccount("kept", k1, k2)
	if _, err := client(t, srv3, "kept", k1).DownloadBuffer(ctx, "box", "b", buf, nil); err != nil {
		t.Fatalf("blob after re-adding the account: %v", err)
	}
}

// TestServer_ClockSkew checks that a SharedKey request dated too far from
// the server's clock is refused, as Azure refuses it.
func TestServer_ClockSkew(t *testing.T) {
	now := time.Now().Add(time.Hour)
	srv, err := embedded.New(embedded.Config{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Listen("127.0.0.1:0")
	t.Cleanup(func() { srv.Close() })
	k := embedded.NewKey()
	srv.AddAccount("skew", k, k)
	_, err = client(t, srv, "skew", k).CreateContainer(context.Background(), "box", nil)
	wantCode(t, "request an hour behind the server", err, "AuthenticationFailed")
}

func TestServer_LargeBlockStreams(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), false)
	k := embedded.NewKey()
	srv.AddAccount("big", k, k)
	c := client(t, srv, "big", k)
	c.CreateContainer(ctx, "box", nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	if _, err := c.UploadBuffer(ctx, "box", "b", data, &azblob.UploadBufferOptions{BlockSize: 5 << 20}); err != nil {
		t.Fatalf("upload: %v", err)
	}
	got := make([]byte, len(data))
	if _, err := c.DownloadBuffer(ctx, "box", "b", got, &azblob.DownloadBufferOptions{BlockSize: 3 << 20}); err != nil {
		t.Fatalf("download: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded content differs")
	}
}

// TestServer_Allow checks the network-rule hook: a refused request gets
// 403 AuthorizationFailure even with a valid key.
func TestServer_Allow(t *testing.T) {
	var open atomic.Bool
	srv, err := embedded.New(embedded.Config{Dir: t.TempDir(),
		Allow: func(r *http.Request, account string) bool { return open.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Listen("127.0.0.1:0")
	t.Cleanup(func() { srv.Close() })
	k := embedded.NewKey()
	srv.AddAccount("fenced", k, k)
	c := client(t, srv, "fenced", k)
	_, err = c.CreateContainer(context.Background(), "box", nil)
	wantCode(t, "request refused by the network rule", err, "AuthorizationFailure")
	open.Store(true)
	if _, err := c.CreateContainer(context.Background(), "box", nil); err != nil {
		t.Fatalf("request allowed by the network rule: %v", err)
	}
}

// TestServer_SASProtocol checks that a SAS limited to HTTPS is refused over
// plain HTTP unless the server is told it sits behind TLS.
func TestServer_SASProtocol(t *testing.T) {
	for _, assume := range []bool{false, true} {
		srv, err := embedded.New(embedded.Config{Dir: t.TempDir(), AssumeHTTPS: assume})
		if err != nil {
			t.Fatal(err)
		}
		srv.Listen("127.0.0.1:0")
		t.Cleanup(func() { srv.Close() })
		k := embedded.NewKey()
		srv.AddAccount("proto", k, k)
		c := client(t, srv, "proto", k)
		c.CreateContainer(context.Background(), "box", nil)
		c.UploadBuffer(context.Background(), "box", "b", []byte("x"), nil)
		cred, _ := azblob.NewSharedKeyCredential("proto", base64.StdEncoding.EncodeToString(k))
		q, _ := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, ExpiryTime: time.Now().Add(time.Hour),
			Permissions: "r", ContainerName: "box", BlobName: "b"}.SignWithSharedKey(cred)
		want := http.StatusForbidden
		if assume {
			want = http.StatusOK
		}
		if got := httpGet(t, srv.AccountURL("proto")+"/box/b?"+q.Encode()); got != want {
			t.Fatalf("spr=https over HTTP with AssumeHTTPS=%v: status %d, want %d", assume, got, want)
		}
	}
}
