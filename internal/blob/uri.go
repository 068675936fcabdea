package blob

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// URI is a parsed blob URL such as an Import/Export storageUri.
type URI struct {
	// Endpoint is the account's Blob endpoint, e.g.
	// "https://acct.blob.core.windows.net" or "http://127.0.0.1:10000/acct".
	Endpoint  string
	Account   string
	Container string
	Blob      string // decoded; empty for a container URL
	// SAS is the query string when it carries a signature ("sig"), else "".
	SAS string
}

// ParseURI splits a blob or container URL. A host that is an IP address or
// localhost, or any host not of the form {account}.blob.{suffix}, is read
// path style, /{account}/{container}/{blob}, as Azurite and bacport's
// embedded service serve it.
func ParseURI(raw string) (URI, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return URI{}, fmt.Errorf("parse storage URI: %w", redactURLError(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return URI{}, fmt.Errorf("parse storage URI: want an http or https URL with a host")
	}
	var out URI
	path := strings.TrimPrefix(u.Path, "/")
	host := u.Hostname()
	base := u.Scheme + "://" + u.Host
	if acct, ok := virtualHostAccount(host); ok {
		out.Account, out.Endpoint = acct, base
	} else {
		out.Account, path, _ = strings.Cut(path, "/")
		if out.Account == "" {
			return URI{}, fmt.Errorf("parse storage URI: no account in the path of a path-style URL")
		}
		out.Endpoint = base + "/" + out.Account
	}
	out.Container, out.Blob, _ = strings.Cut(path, "/")
	if out.Container == "" {
		return URI{}, fmt.Errorf("parse storage URI: no container")
	}
	if u.Query().Get("sig") != "" {
		out.SAS = u.RawQuery
	}
	return out, nil
}

// virtualHostAccount reports the account of a host like
// "acct.blob.core.windows.net".
func virtualHostAccount(host string) (string, bool) {
	if net.ParseIP(host) != nil || host == "localhost" {
		return "", false
	}
	labels := strings.Split(host, ".")
	if len(labels) >= 3 && labels[1] == "blob" && labels[0] != "" {
		return labels[0], true
	}
	return "", false
}

// redactURLError drops the URL, which may hold a SAS, from a parse error.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// String is the URI without its SAS.
func (u URI) String() string {
	s := u.Endpoint + "/" + u.Container
	if u.Blob != "" {
		s += "/" + (&url.URL{Path: u.Blob}).EscapedPath()
	}
	return s
}

// OpenURI connects to the account of a storageUri with the request's key
// type and key (StorageAccessKey or SharedAccessKey). A SAS inside the URI
// is used when key is empty.
func OpenURI(raw, keyType, key string, opts *Options) (*Account, URI, error) {
	u, err := ParseURI(raw)
	if err != nil {
		return nil, URI{}, err
	}
	var cred Credential
	if key == "" && u.SAS != "" {
		cred.SAS = u.SAS
	} else if cred, err = CredentialFor(keyType, key); err != nil {
		return nil, URI{}, err
	}
	a, err := NewAccount(u.Endpoint, cred, opts)
	if err != nil {
		return nil, URI{}, err
	}
	return a, u, nil
}
