package blob

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want URI
	}{
		{"https://acct.blob.core.windows.net/backups/db1.bacpac",
			URI{Endpoint: "https://acct.blob.core.windows.net", Account: "acct", Container: "backups", Blob: "db1.bacpac"}},
		{"https://acct.blob.core.chinacloudapi.cn/c/dir/sub/x%20y.bacpac?sv=2026-12-06&sig=abc%2B",
			URI{Endpoint: "https://acct.blob.core.chinacloudapi.cn", Account: "acct", Container: "c",
				Blob: "dir/sub/x y.bacpac", SAS: "sv=2026-12-06&sig=abc%2B"}},
		{"http://127.0.0.1:10000/devstoreaccount1/c/p.bacpac",
			URI{Endpoint: "http://127.0.0.1:10000/devstoreaccount1", Account: "devstoreaccount1", Container: "c", Blob: "p.bacpac"}},
		{"http://localhost:7000/emb/c",
			URI{Endpoint: "http://localhost:7000/emb", Account: "emb", Container: "c"}},
		{"https://storage.example.internal/acct2/c/b",
			URI{Endpoint: "https://storage.example.internal/acct2", Account: "acct2", Container: "c", Blob: "b"}},
		{"https://acct.blob.core.windows.net/c/b?timeout=30",
			URI{Endpoint: "https://acct.blob.core.windows.net", Account: "acct", Container: "c", Blob: "b"}},
	} {
		got, err := ParseURI(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{"", "ftp://a.blob.core.windows.net/c/b", "https://acct.blob.core.windows.net/",
		"http://127.0.0.1:1/", "/relative/path", "https://h/acct"} {
		if got, err := ParseURI(raw); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", raw, got)
		}
	}
}

func TestParseURI_ErrorHidesSAS(t *testing.T) {
	_, err := ParseURI("https://a b.blob.core.windows.net/c/b?sig=SECRET")
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("ParseURI error %v, want an error without the signature", err)
	}
}

func TestURI_String(t *testing.T) {
	u, _ := ParseURI("http://127.0.0.1:1/a/c/x%20y?sig=s")
	if got := u.String(); got != "http://127.0.0.1:1/a/c/x%20y" {
		t.Fatalf("String() = %q", got)
	}
}

func TestCredentialFor(t *testing.T) {
	if c, err := CredentialFor(StorageAccessKey, "k"); err != nil || c.AccountKey != "k" {
		t.Errorf("StorageAccessKey: %+v %v", c, err)
	}
	if c, err := CredentialFor(SharedAccessKey, "?sig=x"); err != nil || c.SAS != "?sig=x" {
		t.Errorf("SharedAccessKey: %+v %v", c, err)
	}
	if _, err := CredentialFor("ManagedIdentity", "x"); err == nil {
		t.Errorf("unknown key type accepted")
	}
}

func TestClassify_RedactsTransportURL(t *testing.T) {
	in := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/a/c/b?sv=1&sig=SECRET", Err: errors.New("connection refused")}
	err := classify(in)
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("classify(%v) = %v", in, err)
	}
}

func TestNewAccount_Errors(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		cred     Credential
	}{
		{"not a url", Credential{AccountKey: "a2V5"}},
		{"http://127.0.0.1:1/a", Credential{}},
		{"http://127.0.0.1:1/a", Credential{AccountKey: "a2V5", SAS: "sig=x"}},
		{"http://127.0.0.1:1/a", Credential{AccountKey: "not base64!"}},
	} {
		if _, err := NewAccount(tc.endpoint, tc.cred, nil); err == nil {
			t.Errorf("NewAccount(%q, %+v) succeeded", tc.endpoint, tc.cred)
		} else if strings.Contains(err.Error(), "not base64!") {
			t.Errorf("error shows the key: %v", err)
		}
	}
}
