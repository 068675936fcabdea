// Package blob is bacport's client side of Azure Blob storage: a storage
// account reached through the official azblob SDK, whether it is an
// embedded account served by package embedded, Azurite or Azure Storage.
// Workers use one code path for all of them.
//
// An Account is made from an endpoint and a credential (an account key for
// SharedKey, or a SAS token); ParseURI splits a storageUri into endpoint,
// account, container and blob, path style or virtual-host style. Upload
// streams a reader into a block blob in fixed-size blocks staged in
// parallel (each retried by the SDK's retry policy) and one final Put
// Block List carrying the MD5 of the whole content, so memory stays at
// (Concurrency+1)×BlockSize whatever the blob's size, nothing is visible
// until the commit, and a reader can check what it downloads against the
// blob's Content-MD5. Blocks carry no transactional MD5 of their own: TCP's
// and TLS's checks already cover the transfer, as in AzCopy's default, and
// hashing every byte a second time (and again on the service) was ≈ 5% of
// an export's CPU. Open returns a Reader, an io.ReaderAt over a
// blob made of ranged GETs pinned to the blob's ETag, with a small cache
// of aligned chunks for the many small reads a zip reader makes.
//
// Errors wrap the sentinels ErrNotFound, ErrExists and ErrAccessDenied
// together with the SDK's own error, so callers can branch with errors.Is
// and bloberror.HasCode still works. Errors never carry a SAS token or key.
//
// # Limitations
//
// A Reader detects a blob replaced under it (the ETag check fails with
// ErrChanged) but does not follow the new version. Upload does not resume
// an upload interrupted by a crash: a new Upload starts over with fresh
// block IDs and the orphaned blocks are collected by the service.
package blob
