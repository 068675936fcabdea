package privatelink

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAccess(t *testing.T) {
	open := ServerAccess{Name: "srv", AllowAzureServices: true}
	cases := []struct {
		name      string
		server    ServerAccess
		storage   StorageAccess
		wantIn    string // substring of the error; empty means allowed
		wantWhere string
	}{
		{"all open", open, StorageAccess{Name: "acct"}, "", ""},
		{"allow azure off", ServerAccess{Name: "srv"}, StorageAccess{}, "0.0.0.0", "server srv"},
		{"public access off", ServerAccess{Name: "srv", PublicNetworkAccess: "Disabled", AllowAzureServices: true},
			StorageAccess{}, "publicNetworkAccess", "server srv"},
		{"storage denies", open, StorageAccess{Name: "acct", DefaultAction: "Deny"}, "bypass", "storage account acct"},
		{"storage public access off", open,
			StorageAccess{Name: "acct", PublicNetworkAccess: "Disabled", Bypass: "AzureServices"},
			"publicNetworkAccess", "storage account acct"},
		{"storage denies but bypasses", open,
			StorageAccess{Name: "acct", DefaultAction: "Deny", Bypass: "Logging, AzureServices"}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckAccess(c.server, c.storage)
			if c.wantIn == "" {
				if err != nil {
					t.Fatalf("CheckAccess = %v, want nil", err)
				}
				return
			}
			var ae *AccessError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.wantIn) || ae.Resource != c.wantWhere {
				t.Fatalf("CheckAccess = %v, want an AccessError on %q mentioning %q", err, c.wantWhere, c.wantIn)
			}
		})
	}
}

func TestCloudOfEndpoint(t *testing.T) {
	cases := map[string]string{
		"https://acct.blob.core.windows.net/":         "AzureCloud",
		"https://acct.blob.core.usgovcloudapi.net":    "AzureUSGovernment",
		"https://acct.blob.core.chinacloudapi.cn/c/b": "AzureChinaCloud",
		"http://127.0.0.1:10000/devstoreaccount1":     "AzureCloud",
	}
	for in, want := range cases {
		if got := CloudOfEndpoint(in); got != want {
			t.Errorf("CloudOfEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
	if err := CheckSameCloud("AzureCloud", "AzureUSGovernment"); err == nil {
		t.Error("CheckSameCloud across clouds = nil, want an error")
	}
	if err := CheckSameCloud("", "AzureCloud"); err != nil {
		t.Errorf("CheckSameCloud same cloud = %v", err)
	}
}
