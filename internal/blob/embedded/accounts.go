package embedded

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Errors returned by the account management methods.
var (
	ErrAccountExists   = errors.New("storage account already exists")
	ErrAccountNotFound = errors.New("storage account not found")
	ErrInvalidName     = errors.New("invalid storage account name")
	ErrInvalidKey      = errors.New("invalid account key")
)

// Key names an account key: Key1 or Key2, as Azure's key1 and key2.
type Key int

// The two account keys.
const (
	Key1 Key = 1
	Key2 Key = 2
)

// account is a storage account with its two keys.
type account struct {
	Name string `json:"name"`
	Key1 []byte `json:"key1"`
	Key2 []byte `json:"key2"`
}

// validAccountName reports whether name is 3–24 lower-case letters and
// digits, Azure's rule, which also makes it safe as a folder name.
func validAccountName(name string) bool {
	if len(name) < 3 || len(name) > 24 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// NewKey returns a random 64-byte account key, the size Azure issues.
func NewKey() []byte {
	k := make([]byte, 64)
	rand.Read(k)
	return k
}

// AddAccount creates the storage account name with two keys. Its data lives
// under the server's folder and survives restarts; the account itself does
// only when Config.PersistAccounts is set (otherwise the caller adds it again
// after a restart and finds its containers as they were).
func (s *Server) AddAccount(name string, key1, key2 []byte) error {
	if !validAccountName(name) {
		return fmt.Errorf("add account %q: %w", name, ErrInvalidName)
	}
	if len(key1) == 0 || len(key2) == 0 {
		return fmt.Errorf("add account %q: %w", name, ErrInvalidKey)
	}
	s.amu.Lock()
	defer s.amu.Unlock()
	if _, ok := s.accounts[name]; ok {
		return fmt.Errorf("add account %q: %w", name, ErrAccountExists)
	}
	if err := os.MkdirAll(filepath.Join(s.dataDir, name), 0o700); err != nil {
		return fmt.Errorf("add account %q: %w", name, err)
	}
	s.accounts[name] = &account{Name: name, Key1: clone(key1), Key2: clone(key2)}
	if err := s.saveAccountsLocked(); err != nil {
		delete(s.accounts, name)
		return fmt.Errorf("add account %q: %w", name, err)
	}
	s.log.Info("storage account added", "account", name)
	return nil
}

// RegenerateKey replaces one key of the account with a fresh random key and
// returns it. Requests signed with the old key fail from then on.
func (s *Server) RegenerateKey(name string, which Key) ([]byte, error) {
	k := NewKey()
	if err := s.SetKey(name, which, k); err != nil {
		return nil, fmt.Errorf("regenerate key: %w", err)
	}
	return k, nil
}

// SetKey replaces one key of the account with key.
func (s *Server) SetKey(name string, which Key, key []byte) error {
	if len(key) == 0 || (which != Key1 && which != Key2) {
		return fmt.Errorf("set key %d of %q: %w", which, name, ErrInvalidKey)
	}
	s.amu.Lock()
	defer s.amu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		return fmt.Errorf("set key of %q: %w", name, ErrAccountNotFound)
	}
	next := *a
	if which == Key1 {
		next.Key1 = clone(key)
	} else {
		next.Key2 = clone(key)
	}
	s.accounts[name] = &next
	if err := s.saveAccountsLocked(); err != nil {
		s.accounts[name] = a
		return fmt.Errorf("set key of %q: %w", name, err)
	}
	s.log.Info("storage account key replaced", "account", name, "key", int(which))
	return nil
}

// Keys returns the two keys of the account.
func (s *Server) Keys(name string) (key1, key2 []byte, err error) {
	a := s.account(name)
	if a == nil {
		return nil, nil, fmt.Errorf("get keys of %q: %w", name, ErrAccountNotFound)
	}
	return clone(a.Key1), clone(a.Key2), nil
}

// RemoveAccount deletes the account and all its containers and blobs.
func (s *Server) RemoveAccount(name string) error {
	s.amu.Lock()
	defer s.amu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		return fmt.Errorf("remove account %q: %w", name, ErrAccountNotFound)
	}
	delete(s.accounts, name)
	if err := s.saveAccountsLocked(); err != nil {
		s.accounts[name] = a
		return fmt.Errorf("remove account %q: %w", name, err)
	}
	if err := s.store.removeAccount(name); err != nil {
		return fmt.Errorf("remove account %q: %w", name, err)
	}
	s.log.Info("storage account removed", "account", name)
	return nil
}

// Accounts returns the names of all accounts, sorted.
func (s *Server) Accounts() []string {
	s.amu.RLock()
	defer s.amu.RUnlock()
	names := make([]string, 0, len(s.accounts))
	for n := range s.accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Server) account(name string) *account {
	s.amu.RLock()
	defer s.amu.RUnlock()
	return s.accounts[name]
}

func (s *Server) accountsFile() string { return filepath.Join(s.dir, "accounts.json") }

// saveAccountsLocked writes the accounts file atomically when persistence is
// on. The file holds keys, so it is readable by the owner only.
func (s *Server) saveAccountsLocked() error {
	if !s.cfg.PersistAccounts {
		return nil
	}
	list := make([]*account, 0, len(s.accounts))
	for _, a := range s.accounts {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("encode accounts: %w", err)
	}
	if err := writeFileAtomic(s.accountsFile(), b, 0o600); err != nil {
		return fmt.Errorf("save accounts: %w", err)
	}
	return nil
}

func (s *Server) loadAccounts() error {
	b, err := os.ReadFile(s.accountsFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	var list []*account
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("decode accounts: %w", err)
	}
	for _, a := range list {
		if validAccountName(a.Name) {
			s.accounts[a.Name] = a
		}
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
