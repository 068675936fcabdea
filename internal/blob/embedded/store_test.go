package embedded

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setupStore returns a store with account "acct" and container "box".
func setupStore(t *testing.T) (*store, string) {
	t.Helper()
	root := t.TempDir()
	st := newStore(root)
	if err := os.MkdirAll(filepath.Join(root, "acct"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := st.createContainer("acct", "box", nil, time.Now()); err != nil {
		t.Fatalf("create container: %v", err)
	}
	return st, root
}

func stage(t *testing.T, st *store, blob, id string, data []byte) {
	t.Helper()
	p, _, _, err := st.spool("acct", "box", bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatalf("spool: %v", err)
	}
	if err := st.stageBlock("acct", "box", blob, []byte(id), p); err != nil {
		t.Fatalf("stage: %v", err)
	}
}

func commit(t *testing.T, st *store, blob string, ids ...string) *manifest {
	t.Helper()
	var list []blockListEntry
	for _, id := range ids {
		list = append(list, blockListEntry{kind: "Latest", id: base64.StdEncoding.EncodeToString([]byte(id))})
	}
	m, err := st.commitBlocks("acct", "box", blob, list, &manifest{Name: blob, ETag: st.newETag(time.Now())}, conditions{})
	if err != nil {
		t.Fatalf("commit %v: %v", ids, err)
	}
	return m
}

func read(t *testing.T, st *store, blob string) []byte {
	t.Helper()
	st.mu.Lock()
	m, err := st.readManifest("acct", "box", blob)
	if err != nil || m == nil {
		st.mu.Unlock()
		t.Fatalf("read manifest of %s: %v %v", blob, m, err)
	}
	r := st.openLocked("acct", "box", m, 0, m.Size)
	st.mu.Unlock()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", blob, err)
	}
	return b
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestStore_ReaderKeepsOldVersion opens a reader, replaces the blob, and
// checks the reader still streams the version it opened; the old block
// files go when it closes.
func TestStore_ReaderKeepsOldVersion(t *testing.T) {
	st, root := setupStore(t)
	stage(t, st, "b", "1", []byte("old-one,"))
	stage(t, st, "b", "2", []byte("old-two"))
	commit(t, st, "b", "1", "2")

	st.mu.Lock()
	m, _ := st.readManifest("acct", "box", "b")
	r := st.openLocked("acct", "box", m, 0, m.Size)
	st.mu.Unlock()
	first := make([]byte, 4)
	io.ReadFull(r, first)

	stage(t, st, "b", "3", []byte("new"))
	commit(t, st, "b", "3")
	if got := read(t, st, "b"); string(got) != "new" {
		t.Fatalf("new readers see %q, want new", got)
	}
	rest, err := io.ReadAll(r)
	if err != nil || string(first)+string(rest) != "old-one,old-two" {
		t.Fatalf("old reader got %q%q (%v), want old-one,old-two", first, rest, err)
	}
	blocks := filepath.Join(root, "acct", "box", "blocks")
	if n := countFiles(t, blocks); n != 3 {
		t.Fatalf("block files while the old reader is open: %d, want 3", n)
	}
	r.Close()
	if n := countFiles(t, blocks); n != 1 {
		t.Fatalf("block files after the old reader closed: %d, want 1", n)
	}
}

// TestStore_CrashRecovery builds the states a crash can leave at each step
// of a commit and checks that a restart serves the old or the new blob and
// removes the debris.
func TestStore_CrashRecovery(t *testing.T) {
	st, root := setupStore(t)
	box := filepath.Join(root, "acct", "box")
	stage(t, st, "b", "1", []byte("committed"))
	commit(t, st, "b", "1")

	// Crash 1: blocks staged, never committed (an abandoned upload).
	stage(t, st, "b", "2", []byte("abandoned"))
	// Crash 2: a commit linked a block into the store but died before
	// renaming the manifest.
	os.WriteFile(filepath.Join(box, "blocks", "orphan.blk"), []byte("half"), 0o600)
	// Crash 3: the manifest's temporary file was written, not renamed.
	os.WriteFile(st.manifestPath("acct", "box", "b")+".tmp-x", []byte("{"), 0o600)
	// Crash 4: an upload was being spooled.
	os.WriteFile(filepath.Join(box, "tmp", "up-1"), []byte("partial"), 0o600)
	// Crash 5: half-created and half-deleted containers.
	os.MkdirAll(filepath.Join(root, "acct", ".new-x", "blobs"), 0o700)
	os.MkdirAll(filepath.Join(root, "acct", ".trash-y", "blocks"), 0o700)

	st2 := newStore(root)
	if err := st2.recover(time.Now(), time.Hour); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if got := read(t, st2, "b"); string(got) != "committed" {
		t.Fatalf("after recovery blob is %q, want committed", got)
	}
	for _, p := range []string{
		filepath.Join(box, "blocks", "orphan.blk"),
		st.manifestPath("acct", "box", "b") + ".tmp-x",
		filepath.Join(box, "tmp", "up-1"),
		filepath.Join(root, "acct", ".new-x"),
		filepath.Join(root, "acct", ".trash-y"),
	} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived recovery", strings.TrimPrefix(p, root))
		}
	}
	// Staged blocks younger than the TTL survive, so the upload can still
	// be committed.
	_, _, unc, err := st2.blockLists("acct", "box", "b")
	if err != nil || len(unc) != 1 {
		t.Fatalf("uncommitted after recovery: %v %v, want one", unc, err)
	}
	commit(t, st2, "b", "2")
	if got := read(t, st2, "b"); string(got) != "abandoned" {
		t.Fatalf("commit after recovery: %q", got)
	}

	// Staged blocks older than the TTL are swept.
	stage(t, st2, "c", "9", []byte("stale"))
	if n := st2.sweepStaged(time.Now().Add(2*time.Hour), time.Hour); n != 1 {
		t.Fatalf("sweep removed %d blobs' blocks, want 1", n)
	}
	if _, _, _, err := st2.blockLists("acct", "box", "c"); err != errBlobNotFound {
		t.Fatalf("block list after sweep: %v, want BlobNotFound", err)
	}
}

// TestStore_FailedCommitKeepsStaged checks that a commit naming an unknown
// block changes nothing: the blob and the staged blocks stay.
func TestStore_FailedCommitKeepsStaged(t *testing.T) {
	st, root := setupStore(t)
	stage(t, st, "b", "1", []byte("one"))
	commit(t, st, "b", "1")
	stage(t, st, "b", "2", []byte("two"))
	list := []blockListEntry{
		{kind: "Latest", id: base64.StdEncoding.EncodeToString([]byte("2"))},
		{kind: "Uncommitted", id: base64.StdEncoding.EncodeToString([]byte("nope"))},
	}
	_, err := st.commitBlocks("acct", "box", "b", list, &manifest{Name: "b"}, conditions{})
	if err != errInvalidBlockList {
		t.Fatalf("commit with unknown block: %v, want InvalidBlockList", err)
	}
	if got := read(t, st, "b"); string(got) != "one" {
		t.Fatalf("blob after failed commit: %q", got)
	}
	if n := countFiles(t, filepath.Join(root, "acct", "box", "blocks")); n != 1 {
		t.Fatalf("block files after failed commit: %d, want 1", n)
	}
	commit(t, st, "b", "2")
	if got := read(t, st, "b"); string(got) != "two" {
		t.Fatalf("staged block after failed commit: %q", got)
	}
}
