// Package embedded serves the Azure Blob REST API for bacport's embedded
// storage accounts from a folder on local disk, so workers talk to embedded
// and external accounts through the same azblob SDK code.
//
// The server listens on its own address in the path style Azurite uses,
// http://host:port/{account}/{container}/{blob}, and holds several accounts,
// added and removed at run time (AddAccount, RegenerateKey, RemoveAccount),
// optionally persisted with their keys in accounts.json.
//
// It implements block blobs: containers (create, properties, list, delete),
// Put Blob, Put Block, Put Block List, Get Block List, Get Blob with ranges,
// Get Blob Properties, Set Blob Metadata, Delete Blob and List Blobs with
// prefix, delimiter and markers; the conditional headers; Content-MD5
// checks on upload. Requests are authorized by SharedKey (either of two
// keys) or by a service SAS (container or blob) or account SAS, whose
// signatures are computed as Azure computes them. Anonymous requests are
// refused. Errors carry Azure's status, x-ms-error-code and XML body.
//
// # Storage layout and atomicity
//
// A committed blob is a small JSON manifest naming its block files in
// order, not one concatenated file. A commit writes the new manifest to a
// temporary file and renames it over the old one, so a reader sees the old
// blob or the new one, and a crash at any point leaves one of the two:
// block files not yet named by a manifest are removed on the next start.
// A manifest was chosen over concatenation because a commit then costs a
// rename and hard links instead of copying gigabytes, and Put Block List can
// reuse committed blocks without copying. Block data streams to disk on
// upload and from disk on download, so memory stays bounded by a few
// buffers per request. Readers pin the block files of the blob they opened,
// so a concurrent commit or delete frees them only when the reader ends.
//
// Uncommitted blocks live beside the blob until a commit (which discards
// the unused ones, as Azure does) or until StagedBlockTTL passes without a
// new block, when the sweeper removes them.
//
// # Limitations
//
// Page and append blobs, snapshots, versions, leases, tiers, tags, copy
// operations, container ACLs and stored access policies, user delegation
// SAS and the service properties endpoints are not implemented and answer
// 501 NotImplemented (or fail SAS validation). Listing reads every
// manifest of the container for each page, which is fine for bacport's few
// large packages but slow for millions of blobs; include=uncommittedblobs
// is ignored. Metadata names come back capitalized the way Go's HTTP server
// canonicalizes header names, not in the exact case sent. x-ms-content-crc64
// is not verified. SharedKeyLite is not accepted. A container SAS grants
// only List Blobs and blob operations; container management needs a key or
// an account SAS. Account keys persisted in accounts.json are stored in the
// clear (mode 0600).
package embedded
