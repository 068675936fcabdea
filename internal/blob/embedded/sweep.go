package embedded

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// recover runs before serving and repairs what a crash can leave: spooled
// uploads, half-created or half-deleted containers and accounts, block
// files that no manifest names (a commit that died before its rename), and
// manifests' temporary files. Staged blocks older than ttl go as well.
func (st *store) recover(now time.Time, ttl time.Duration) error {
	accts, err := os.ReadDir(st.root)
	if err != nil {
		return fmt.Errorf("recover blob data: %w", err)
	}
	for _, a := range accts {
		p := filepath.Join(st.root, a.Name())
		if strings.HasPrefix(a.Name(), ".") {
			os.RemoveAll(p)
			continue
		}
		cs, err := os.ReadDir(p)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if strings.HasPrefix(c.Name(), ".") {
				os.RemoveAll(filepath.Join(p, c.Name()))
				continue
			}
			if err := st.recoverContainer(filepath.Join(p, c.Name())); err != nil {
				return err
			}
		}
	}
	st.sweepStaged(now, ttl)
	return nil
}

func (st *store) recoverContainer(dir string) error {
	tmp := filepath.Join(dir, "tmp")
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("recover container: %w", err)
	}
	used := map[string]bool{}
	blobs := filepath.Join(dir, "blobs")
	ents, _ := os.ReadDir(blobs)
	for _, e := range ents {
		p := filepath.Join(blobs, e.Name())
		if !strings.HasSuffix(e.Name(), ".json") {
			os.Remove(p) // a manifest write that never got renamed
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("recover container: %w", err)
		}
		var m manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("recover container: decode %s: %w", p, err)
		}
		for _, blk := range m.Blocks {
			used[blk.File] = true
		}
	}
	blocks := filepath.Join(dir, "blocks")
	ents, _ = os.ReadDir(blocks)
	for _, e := range ents {
		if !used[e.Name()] {
			os.Remove(filepath.Join(blocks, e.Name()))
		}
	}
	return nil
}

// sweepStaged deletes the staged blocks of blobs that have received no
// block for ttl, and returns how many blobs it cleared.
func (st *store) sweepStaged(now time.Time, ttl time.Duration) int {
	n := 0
	accts, _ := os.ReadDir(st.root)
	for _, a := range accts {
		cs, _ := os.ReadDir(filepath.Join(st.root, a.Name()))
		for _, c := range cs {
			staged := filepath.Join(st.root, a.Name(), c.Name(), "staged")
			ents, _ := os.ReadDir(staged)
			for _, e := range ents {
				fi, err := e.Info()
				if err != nil || now.Sub(fi.ModTime()) < ttl {
					continue
				}
				st.mu.Lock()
				os.RemoveAll(filepath.Join(staged, e.Name()))
				st.mu.Unlock()
				n++
			}
		}
	}
	return n
}
