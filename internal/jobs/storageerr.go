package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
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

// probeBlockID names the block probeWrite stages. It has the length of the
// IDs blob.Upload uses (16 bytes), because a blob's uncommitted blocks must
// all have IDs of one length.
var probeBlockID = base64.StdEncoding.EncodeToString([]byte("bacport-probe-01"))

// probeWrite checks, before an export starts, that the credential may
// write its package: it stages a one-byte block that is never committed.
// A staged block is invisible; the storage service discards it (Azure
// after a week), and the export's own upload never commits it.
func probeWrite(ctx context.Context, acct *blob.Account, u blob.URI) error {
	bb := acct.Client().ServiceClient().NewContainerClient(u.Container).NewBlockBlobClient(u.Blob)
	_, err := bb.StageBlock(ctx, probeBlockID, streaming.NopCloser(bytes.NewReader([]byte{0})), nil)
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	denied := errors.As(err, &re) &&
		(re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized)
	if denied {
		return Errorf(CodeStorageCredentials, err, "storageKey does not allow writing %s; give an "+
			"account key, or a SAS with write and create permission", u.Blob)
	}
	return storageError(err, acct.Endpoint()+"/"+u.Container+"/"+u.Blob)
}
