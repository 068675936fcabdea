package jobs

import (
	"context"
	"errors"
	"net"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/bacport/bacport/internal/blob"
)

func containerMissing(err error) bool {
	return bloberror.HasCode(err, bloberror.ContainerNotFound)
}

// storageError maps a storage failure to a coded error that says what to
// do. Messages name the blob URL (which carries no SAS: that travels in
// storageKey) and never the key.
func storageError(err error, uri string) error {
	var je *Error
	switch {
	case errors.As(err, &je):
		return je
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case containerMissing(err):
		return Errorf(CodeStorageURI, err, "the container of %s does not exist; create it first", uri)
	case errors.Is(err, blob.ErrNotFound):
		return Errorf(CodeBlobNotFound, err, "no package at %s; check storageUri", uri)
	case errors.Is(err, blob.ErrExists):
		return Errorf(CodeBlobExists, err, "a blob already exists at %s; choose another storageUri "+
			"or set overwrite to true", uri)
	case errors.Is(err, blob.ErrAccessDenied):
		return Errorf(CodeStorageCredentials, err, "the storage account refused storageKey for %s; give "+
			"a current account key, or a SAS with read, write and create permission", uri)
	case errors.Is(err, blob.ErrChanged):
		return Errorf(CodeJobError, err, "the package at %s was replaced while it was read; run the "+
			"import again", uri)
	}
	var se *blob.ServiceError
	if errors.As(err, &se) {
		return Errorf(CodeJobError, err, "the storage account failed a request for %s: %v", uri, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &ne) || errors.As(err, &oe) {
		return Errorf(CodeStorageURI, err, "the storage account of %s could not be reached; check "+
			"storageUri and that the account is up", uri)
	}
	return Errorf(CodeJobError, err, "the storage request for %s failed: %v", uri, err)
}
