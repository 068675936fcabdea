package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Defaults applied by NewAccount.
const (
	DefaultMaxRetries = 4
	DefaultTryTimeout = 2 * time.Minute
)

// Key types as the Import/Export API names them (storageKeyType).
const (
	StorageAccessKey = "StorageAccessKey"
	SharedAccessKey  = "SharedAccessKey"
)

// Credential authenticates to a storage account: exactly one of AccountKey
// (base64, for SharedKey) and SAS (a token, with or without a leading "?").
type Credential struct {
	AccountKey string
	SAS        string
}

// CredentialFor builds a Credential from an Import/Export request's
// storageKeyType and storageKey.
func CredentialFor(keyType, key string) (Credential, error) {
	switch keyType {
	case StorageAccessKey:
		return Credential{AccountKey: key}, nil
	case SharedAccessKey:
		return Credential{SAS: key}, nil
	}
	return Credential{}, fmt.Errorf("build storage credential: unknown key type %q", keyType)
}

// Options tune an Account.
type Options struct {
	// HTTPClient sends the requests, for example one whose transport
	// dials through a private endpoint; nil uses the SDK's default.
	HTTPClient *http.Client
	// MaxRetries is how often a failed request is retried (default 4).
	MaxRetries int
	// TryTimeout bounds one attempt of one request (default 2 minutes).
	TryTimeout time.Duration
	// Logger receives retry warnings; nil discards them.
	Logger *slog.Logger
}

// Account is a storage account reached through the Blob REST API. It is
// safe for concurrent use.
type Account struct {
	name     string
	endpoint string
	svc      *azblob.Client
	log      *slog.Logger
}

// NewAccount connects to the Blob endpoint of one account, for example
// "http://127.0.0.1:10000/devstoreaccount1" (path style) or
// "https://name.blob.core.windows.net". Nothing is sent until first use.
func NewAccount(endpoint string, cred Credential, opts *Options) (*Account, error) {
	if opts == nil {
		opts = &Options{}
	}
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("open storage account: invalid endpoint %q", endpoint)
	}
	u.RawQuery = ""
	name := accountFromURL(u)
	co := clientOptions(opts)
	a := &Account{name: name, endpoint: u.String(), log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cred.AccountKey != "" && cred.SAS != "":
		return nil, errors.New("open storage account: give an account key or a SAS, not both")
	case cred.AccountKey != "":
		kc, err := azblob.NewSharedKeyCredential(name, cred.AccountKey)
		if err != nil {
			return nil, errors.New("open storage account: the account key is not valid base64")
		}
		a.svc, err = azblob.NewClientWithSharedKeyCredential(a.endpoint+"/", kc, co)
		if err != nil {
			return nil, fmt.Errorf("open storage account %q: %w", name, err)
		}
	case cred.SAS != "":
		a.svc, err = azblob.NewClientWithNoCredential(
			a.endpoint+"/?"+strings.TrimPrefix(cred.SAS, "?"), co)
		if err != nil {
			return nil, fmt.Errorf("open storage account %q: %w", name, err)
		}
	default:
		return nil, errors.New("open storage account: no account key or SAS given")
	}
	return a, nil
}

func clientOptions(opts *Options) *azblob.ClientOptions {
	co := &azblob.ClientOptions{}
	co.Retry = policy.RetryOptions{MaxRetries: int32(opts.MaxRetries), TryTimeout: opts.TryTimeout}
	if co.Retry.MaxRetries <= 0 {
		co.Retry.MaxRetries = DefaultMaxRetries
	}
	if co.Retry.TryTimeout <= 0 {
		co.Retry.TryTimeout = DefaultTryTimeout
	}
	if opts.HTTPClient != nil {
		co.Transport = opts.HTTPClient
	}
	co.Telemetry.Disabled = true
	return co
}

// accountFromURL finds the account name: the first path segment for
// path-style endpoints (an IP address, localhost or any endpoint with a
// path), else the first label of the host.
func accountFromURL(u *url.URL) string {
	if seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); seg != "" {
		return seg
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil || host == "localhost" {
		return ""
	}
	name, _, _ := strings.Cut(host, ".")
	return name
}

// Name is the storage account's name.
func (a *Account) Name() string { return a.name }

// Endpoint is the account's Blob endpoint, without credentials.
func (a *Account) Endpoint() string { return a.endpoint }

// Client returns the underlying SDK client, for operations this package
// does not wrap.
func (a *Account) Client() *azblob.Client { return a.svc }

func (a *Account) container(name string) *container.Client {
	return a.svc.ServiceClient().NewContainerClient(name)
}

func (a *Account) blockBlob(containerName, name string) *blockblob.Client {
	return a.container(containerName).NewBlockBlobClient(name)
}

// CreateContainer creates a container; an existing one is not an error.
func (a *Account) CreateContainer(ctx context.Context, name string) error {
	_, err := a.container(name).Create(ctx, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.ErrorCode == "ContainerAlreadyExists" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create container %q: %w", name, classify(err))
	}
	return nil
}

// Properties describes a committed blob.
type Properties struct {
	Size         int64
	ETag         azcore.ETag
	LastModified time.Time
	ContentMD5   []byte
	ContentType  string
	Metadata     map[string]string
}

// Properties returns the blob's size, ETag and metadata; ErrNotFound when
// the blob or its container is missing.
func (a *Account) Properties(ctx context.Context, containerName, name string) (*Properties, error) {
	resp, err := a.blockBlob(containerName, name).GetProperties(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("get properties of blob %q: %w", name, classify(err))
	}
	p := &Properties{ContentMD5: resp.ContentMD5, Metadata: map[string]string{}}
	p.Size = deref(resp.ContentLength)
	p.ETag = deref(resp.ETag)
	p.LastModified = deref(resp.LastModified)
	p.ContentType = deref(resp.ContentType)
	for k, v := range resp.Metadata {
		if v != nil {
			p.Metadata[k] = *v
		}
	}
	return p, nil
}

// Delete removes a blob; ErrNotFound when it is missing.
func (a *Account) Delete(ctx context.Context, containerName, name string) error {
	if _, err := a.blockBlob(containerName, name).Delete(ctx, nil); err != nil {
		return fmt.Errorf("delete blob %q: %w", name, classify(err))
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Store is what jobs need from a storage account; *Account implements it
// for every endpoint. Each method wraps ErrNotFound, ErrExists or
// ErrAccessDenied as documented on Account's methods.
type Store interface {
	CreateContainer(ctx context.Context, name string) error
	Upload(ctx context.Context, container, name string, r io.Reader, opts *UploadOptions) (*Properties, error)
	Open(ctx context.Context, container, name string) (*Reader, error)
	Properties(ctx context.Context, container, name string) (*Properties, error)
	Delete(ctx context.Context, container, name string) error
}

var _ Store = (*Account)(nil)

// blobClient is used by Reader for ranged GETs.
func (a *Account) blobClient(containerName, name string) *blob.Client {
	return a.container(containerName).NewBlobClient(name)
}
