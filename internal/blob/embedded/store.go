package embedded

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// store is the on-disk layout of all accounts:
//
//	data/{account}/{container}/container.json   container properties
//	data/{account}/{container}/blobs/{h}.json   committed blob manifest
//	data/{account}/{container}/blocks/{r}.blk   immutable block data
//	data/{account}/{container}/staged/{h}/{id}  uncommitted blocks of one blob
//	data/{account}/{container}/tmp/             uploads in progress
//
// where h is the SHA-256 of the blob name and r is random. A manifest names
// the block files of its blob in order, so a commit is a rename of a small
// file and never copies data. Block files are deleted when no manifest names
// them and no reader has them pinned.
type store struct {
	root string

	mu     sync.Mutex
	pins   map[string]int  // block file → open readers
	doomed map[string]bool // block files to delete when unpinned
	seq    atomic.Uint64
}

type containerMeta struct {
	Name     string            `json:"name"`
	ETag     string            `json:"etag"`
	Modified time.Time         `json:"modified"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type blockRef struct {
	ID   string `json:"id"` // base64 block ID as the client sent it
	File string `json:"file"`
	Size int64  `json:"size"`
}

type blobProps struct {
	ContentType        string `json:"contentType,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentMD5         []byte `json:"contentMD5,omitempty"`
}

type manifest struct {
	Name     string            `json:"name"`
	ETag     string            `json:"etag"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Size     int64             `json:"size"`
	Props    blobProps         `json:"props"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Blocks   []blockRef        `json:"blocks"`
}

func newStore(root string) *store {
	return &store{root: root, pins: map[string]int{}, doomed: map[string]bool{}}
}

// validContainerName applies Azure's rule (3–63 lower-case letters, digits
// and single hyphens, starting and ending with a letter or digit), which
// also keeps the name safe as a folder name.
func validContainerName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	if strings.Contains(name, "--") {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (st *store) containerDir(acct, c string) string { return filepath.Join(st.root, acct, c) }

func nameHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

func randomName() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newETag returns a quoted, always-increasing entity tag in Azure's style.
func (st *store) newETag(now time.Time) string {
	return fmt.Sprintf("\"0x%X%04X\"", now.UnixNano(), st.seq.Add(1)&0xffff)
}

func (st *store) createContainer(acct, name string, md map[string]string, now time.Time) (*containerMeta, error) {
	acctDir := filepath.Join(st.root, acct)
	tmp := filepath.Join(acctDir, ".new-"+randomName())
	for _, sub := range []string{"blobs", "blocks", "staged", "tmp"} {
		if err := os.MkdirAll(filepath.Join(tmp, sub), 0o700); err != nil {
			return nil, fmt.Errorf("create container folder: %w", err)
		}
	}
	cm := &containerMeta{Name: name, ETag: st.newETag(now), Modified: now, Metadata: md}
	b, _ := json.Marshal(cm)
	if err := writeFileAtomic(filepath.Join(tmp, "container.json"), b, 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := os.Stat(st.containerDir(acct, name)); err == nil {
		os.RemoveAll(tmp)
		return nil, errContainerExists
	}
	if err := os.Rename(tmp, st.containerDir(acct, name)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("publish container: %w", err)
	}
	return cm, nil
}

func (st *store) container(acct, name string) (*containerMeta, error) {
	b, err := os.ReadFile(filepath.Join(st.containerDir(acct, name), "container.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errContainerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read container: %w", err)
	}
	var cm containerMeta
	if err := json.Unmarshal(b, &cm); err != nil {
		return nil, fmt.Errorf("decode container: %w", err)
	}
	return &cm, nil
}

// deleteContainer moves the container aside at once, so it disappears
// atomically, and removes its files afterwards.
func (st *store) deleteContainer(acct, name string) error {
	st.mu.Lock()
	if _, err := st.container(acct, name); err != nil {
		st.mu.Unlock()
		return err
	}
	trash := filepath.Join(st.root, acct, ".trash-"+randomName())
	err := os.Rename(st.containerDir(acct, name), trash)
	st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete container: %w", err)
	}
	go os.RemoveAll(trash)
	return nil
}

func (st *store) listContainers(acct string) ([]*containerMeta, error) {
	ents, err := os.ReadDir(filepath.Join(st.root, acct))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []*containerMeta
	for _, e := range ents {
		if !e.IsDir() || !validContainerName(e.Name()) {
			continue
		}
		cm, err := st.container(acct, e.Name())
		if err == nil {
			out = append(out, cm)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (st *store) removeAccount(acct string) error {
	dir := filepath.Join(st.root, acct)
	trash := filepath.Join(st.root, ".trash-"+acct+"-"+randomName())
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove account data: %w", err)
	}
	go os.RemoveAll(trash)
	return nil
}

func (st *store) manifestPath(acct, c, name string) string {
	return filepath.Join(st.containerDir(acct, c), "blobs", nameHash(name)+".json")
}

func (st *store) stagedDir(acct, c, name string) string {
	return filepath.Join(st.containerDir(acct, c), "staged", nameHash(name))
}

// readManifest returns the committed blob, or nil when there is none; the
// container must exist.
func (st *store) readManifest(acct, c, name string) (*manifest, error) {
	if _, err := os.Stat(filepath.Join(st.containerDir(acct, c), "container.json")); err != nil {
		return nil, errContainerNotFound
	}
	b, err := os.ReadFile(st.manifestPath(acct, c, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read blob manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode blob manifest: %w", err)
	}
	return &m, nil
}

// replaceLocked makes next the committed blob (or deletes it when next is
// nil) by one rename, then retires the block files only old used.
func (st *store) replaceLocked(acct, c, name string, old, next *manifest) error {
	path := st.manifestPath(acct, c, name)
	if next == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete blob manifest: %w", err)
		}
	} else {
		b, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode blob manifest: %w", err)
		}
		if err := writeFileAtomic(path, b, 0o600); err != nil {
			return fmt.Errorf("commit blob manifest: %w", err)
		}
	}
	if old == nil {
		return nil
	}
	keep := map[string]bool{}
	if next != nil {
		for _, b := range next.Blocks {
			keep[b.File] = true
		}
	}
	blocks := filepath.Join(st.containerDir(acct, c), "blocks")
	for _, b := range old.Blocks {
		if keep[b.File] {
			continue
		}
		p := filepath.Join(blocks, b.File)
		if st.pins[p] > 0 {
			st.doomed[p] = true
			continue
		}
		os.Remove(p)
	}
	return nil
}

// pinLocked keeps the block files of m on disk until the returned release
// is called, so a reader streams the blob it opened even when a commit
// replaces it meanwhile.
func (st *store) pinLocked(dir string, m *manifest) (paths []string, release func()) {
	paths = make([]string, len(m.Blocks))
	for i, b := range m.Blocks {
		paths[i] = filepath.Join(dir, "blocks", b.File)
		st.pins[paths[i]]++
	}
	var once sync.Once
	return paths, func() {
		once.Do(func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			for _, p := range paths {
				st.pins[p]--
				if st.pins[p] > 0 {
					continue
				}
				delete(st.pins, p)
				if st.doomed[p] {
					delete(st.doomed, p)
					os.Remove(p)
				}
			}
		})
	}
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, so path holds the old content or the new one, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp-" + randomName()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// blobReader streams a byte range of a committed blob from its pinned block
// files, opening one file at a time.
type blobReader struct {
	paths   []string
	sizes   []int64
	release func()

	idx    int   // current block
	off    int64 // offset within the current block
	remain int64 // bytes left to return
	f      *os.File
}

func (r *blobReader) Read(p []byte) (int, error) {
	for r.remain > 0 {
		if r.f == nil {
			for r.idx < len(r.sizes) && r.off >= r.sizes[r.idx] {
				r.off -= r.sizes[r.idx]
				r.idx++
			}
			if r.idx >= len(r.sizes) {
				return 0, io.ErrUnexpectedEOF
			}
			f, err := os.Open(r.paths[r.idx])
			if err != nil {
				return 0, fmt.Errorf("open block: %w", err)
			}
			if _, err := f.Seek(r.off, io.SeekStart); err != nil {
				f.Close()
				return 0, fmt.Errorf("seek block: %w", err)
			}
			r.f = f
		}
		want := min(int64(len(p)), r.remain, r.sizes[r.idx]-r.off)
		n, err := r.f.Read(p[:want])
		r.off += int64(n)
		r.remain -= int64(n)
		if r.off >= r.sizes[r.idx] || (err != nil && n == 0) {
			r.f.Close()
			r.f = nil
		}
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("read block: %w", err)
		}
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
	}
	return 0, io.EOF
}

func (r *blobReader) Close() error {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.release()
	return nil
}

// openRange returns a reader over [off, off+n) of the committed blob m.
func (st *store) openLocked(acct, c string, m *manifest, off, n int64) *blobReader {
	paths, release := st.pinLocked(st.containerDir(acct, c), m)
	sizes := make([]int64, len(m.Blocks))
	for i, b := range m.Blocks {
		sizes[i] = b.Size
	}
	return &blobReader{paths: paths, sizes: sizes, release: release, off: off, remain: n}
}
