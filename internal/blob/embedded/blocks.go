package embedded

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// spool streams body into a new synced file under the container's tmp
// folder and returns its path, size and MD5. A wantMD5 that differs from
// the data fails with Md5Mismatch; a body shorter than wantLen (when >= 0)
// fails too.
func (st *store) spool(acct, c string, body io.Reader, wantLen int64, wantMD5 []byte) (path string, size int64, sum []byte, err error) {
	dir := filepath.Join(st.containerDir(acct, c), "tmp")
	f, err := os.CreateTemp(dir, "up-")
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil, errContainerNotFound
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("create upload file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	var h hash.Hash = md5.New()
	size, err = io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		return "", 0, nil, fmt.Errorf("receive upload: %w", err)
	}
	if wantLen >= 0 && size != wantLen {
		return "", 0, nil, errInvalidInput("The request body is shorter than Content-Length.")
	}
	sum = h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(sum, wantMD5) {
		return "", 0, nil, errMD5Mismatch
	}
	if err = f.Sync(); err != nil {
		return "", 0, nil, fmt.Errorf("sync upload: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, nil, fmt.Errorf("close upload: %w", err)
	}
	return f.Name(), size, sum, nil
}

// putBlob commits a spooled file as the whole blob, after checking cond
// against the blob it replaces.
func (st *store) putBlob(acct, c, name, spooled string, size int64, next *manifest, cond conditions) (*manifest, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old, err := st.readManifest(acct, c, name)
	if err == nil {
		err = cond.checkWrite(old)
	}
	if err != nil {
		os.Remove(spooled)
		return nil, err
	}
	file := randomName() + ".blk"
	dir := st.containerDir(acct, c)
	if err := os.Rename(spooled, filepath.Join(dir, "blocks", file)); err != nil {
		os.Remove(spooled)
		return nil, fmt.Errorf("store blob data: %w", err)
	}
	next.Size = size
	next.Blocks = []blockRef{{File: file, Size: size}}
	keepCreated(old, next)
	if err := st.replaceLocked(acct, c, name, old, next); err != nil {
		os.Remove(filepath.Join(dir, "blocks", file))
		return nil, err
	}
	os.RemoveAll(st.stagedDir(acct, c, name))
	return next, nil
}

func keepCreated(old, next *manifest) {
	if old != nil {
		next.Created = old.Created
	}
}

// blockFile is the staged file name of a block ID: hex keeps any ID safe
// as a file name and distinct IDs distinct.
func blockFile(id []byte) string { return hex.EncodeToString(id) + ".blk" }

// decodeBlockID checks a base64 block ID as Azure does (at most 64 bytes).
func decodeBlockID(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > 64 {
		return nil, false
	}
	return b, true
}

// stageBlock publishes a spooled block for blob name, replacing a staged
// block with the same ID.
func (st *store) stageBlock(acct, c, name string, id []byte, spooled string) error {
	dir := st.stagedDir(acct, c, name)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		os.Remove(spooled)
		return fmt.Errorf("create staging folder: %w", err)
	}
	if err := os.Rename(spooled, filepath.Join(dir, blockFile(id))); err != nil {
		os.Remove(spooled)
		return fmt.Errorf("stage block: %w", err)
	}
	return nil
}

// blockListEntry is one item of a Put Block List body.
type blockListEntry struct {
	kind string // Committed, Uncommitted or Latest
	id   string
}

// commitBlocks makes the listed blocks the content of the blob in one
// rename. Staged blocks that the list does not use are discarded, as Azure
// discards them.
func (st *store) commitBlocks(acct, c, name string, list []blockListEntry, next *manifest, cond conditions) (*manifest, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old, err := st.readManifest(acct, c, name)
	if err == nil {
		err = cond.checkWrite(old)
	}
	if err != nil {
		return nil, err
	}
	committed := map[string]blockRef{}
	if old != nil {
		for _, b := range old.Blocks {
			if _, dup := committed[b.ID]; !dup && b.ID != "" {
				committed[b.ID] = b
			}
		}
	}
	staged := st.stagedDir(acct, c, name)
	dir := st.containerDir(acct, c)
	moved := map[string]blockRef{} // staged ID → its new block file
	var undo []string
	fail := func(err error) (*manifest, error) {
		for _, p := range undo {
			os.Remove(p)
		}
		return nil, err
	}
	for _, e := range list {
		raw, ok := decodeBlockID(e.id)
		if !ok {
			return fail(errInvalidBlockList)
		}
		ref, err := st.resolveBlock(e, raw, staged, dir, committed, moved, &undo)
		if err != nil {
			return fail(err)
		}
		next.Blocks = append(next.Blocks, ref)
		next.Size += ref.Size
	}
	keepCreated(old, next)
	if err := st.replaceLocked(acct, c, name, old, next); err != nil {
		return fail(err)
	}
	os.RemoveAll(staged)
	return next, nil
}

// resolveBlock finds the data of one list entry: a staged block is linked
// into the block store (once, however often the list names it); a
// committed one keeps its file.
func (st *store) resolveBlock(e blockListEntry, raw []byte, staged, dir string,
	committed, moved map[string]blockRef, undo *[]string) (blockRef, error) {
	if e.kind != "Committed" {
		if ref, ok := moved[e.id]; ok {
			return ref, nil
		}
		src := filepath.Join(staged, blockFile(raw))
		fi, err := os.Stat(src)
		if err == nil {
			ref := blockRef{ID: e.id, File: randomName() + ".blk", Size: fi.Size()}
			dst := filepath.Join(dir, "blocks", ref.File)
			// A hard link leaves the staged copy in place until the
			// manifest is committed, so a failed commit loses nothing.
			if err := os.Link(src, dst); err != nil {
				return blockRef{}, fmt.Errorf("link staged block: %w", err)
			}
			*undo = append(*undo, dst)
			moved[e.id] = ref
			return ref, nil
		}
		if e.kind == "Uncommitted" {
			return blockRef{}, errInvalidBlockList
		}
	}
	ref, ok := committed[e.id]
	if !ok {
		return blockRef{}, errInvalidBlockList
	}
	return ref, nil
}

// blockInfo is one entry of a Get Block List answer.
type blockInfo struct {
	ID   string
	Size int64
}

// blockLists returns the committed and uncommitted blocks of a blob; m is
// nil when nothing is committed.
func (st *store) blockLists(acct, c, name string) (m *manifest, committed, uncommitted []blockInfo, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	m, err = st.readManifest(acct, c, name)
	if err != nil {
		return nil, nil, nil, err
	}
	if m != nil {
		for _, b := range m.Blocks {
			if b.ID != "" {
				committed = append(committed, blockInfo{ID: b.ID, Size: b.Size})
			}
		}
	}
	ents, err := os.ReadDir(st.stagedDir(acct, c, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("list staged blocks: %w", err)
	}
	type staged struct {
		blockInfo
		mod time.Time
	}
	var list []staged
	for _, e := range ents {
		raw, err := hex.DecodeString(strings.TrimSuffix(e.Name(), ".blk"))
		fi, ierr := e.Info()
		if err != nil || ierr != nil {
			continue
		}
		id := base64.StdEncoding.EncodeToString(raw)
		list = append(list, staged{blockInfo{ID: id, Size: fi.Size()}, fi.ModTime()})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].mod.Before(list[j].mod) })
	for _, s := range list {
		uncommitted = append(uncommitted, s.blockInfo)
	}
	if m == nil && len(ents) == 0 {
		return nil, nil, nil, errBlobNotFound
	}
	return m, committed, uncommitted, nil
}

// deleteBlob removes the committed blob and its staged blocks.
func (st *store) deleteBlob(acct, c, name string, cond conditions) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	old, err := st.readManifest(acct, c, name)
	if err != nil {
		return err
	}
	if old == nil {
		return errBlobNotFound
	}
	if err := cond.checkWrite(old); err != nil {
		return err
	}
	if err := st.replaceLocked(acct, c, name, old, nil); err != nil {
		return err
	}
	os.RemoveAll(st.stagedDir(acct, c, name))
	return nil
}
