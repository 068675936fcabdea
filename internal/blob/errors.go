package blob

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Sentinel errors that callers branch on; they are wrapped together with
// the SDK's error.
var (
	// ErrNotFound means the container or blob does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means the blob exists and the caller asked not to
	// overwrite it.
	ErrExists = errors.New("blob already exists")
	// ErrAccessDenied means the key or SAS was refused: a wrong key, a
	// tampered, expired or out-of-scope SAS, or a missing permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrChanged means the blob was replaced while a Reader read it.
	ErrChanged = errors.New("blob changed while reading")
)

// ServiceError is a failure answered by the Blob service.
type ServiceError struct {
	Status int    // HTTP status
	Code   string // x-ms-error-code, for example "BlobNotFound"
	err    error  // the SDK's *azcore.ResponseError
	kind   error  // one of the sentinels, or nil
}

func (e *ServiceError) Error() string {
	return "blob service answered " + http.StatusText(e.Status) + " (" + e.Code + ")"
}

// Unwrap returns the sentinel (when one applies) and the SDK's error.
func (e *ServiceError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// classify turns an SDK error into a ServiceError, and strips the query
// (which may hold a SAS) from transport errors' URLs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		se := &ServiceError{Status: re.StatusCode, Code: re.ErrorCode, err: err}
		switch {
		case re.StatusCode == http.StatusNotFound:
			se.kind = ErrNotFound
		case re.ErrorCode == "BlobAlreadyExists":
			se.kind = ErrExists
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
			se.kind = ErrAccessDenied
		case re.StatusCode == http.StatusPreconditionFailed:
			se.kind = ErrChanged
		}
		if se.Code == "" && re.StatusCode == http.StatusNotFound {
			se.Code = "ResourceNotFound"
		}
		return se
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	return err
}
