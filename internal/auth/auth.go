// Package auth decides who a caller is and what they may do. Callers
// present bearer tokens; a token belongs to a principal; a principal holds
// roles (Owner, Contributor, Reader) at scopes that are ARM ids: "/" (every
// subscription), a subscription, a resource group or one resource. A role
// at a scope applies to everything under it, as in Azure RBAC.
//
// Tokens are random 256-bit values shown once; only their SHA-256 is kept.
// The admin principal, created on first start, is Owner at "/" and may also
// manage principals and role assignments.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bacport/bacport/internal/store"
)

// Role is a level of access; a higher role includes the lower ones.
type Role int

// Roles, weakest first.
const (
	None Role = iota
	Reader
	Contributor
	Owner
)

func (r Role) String() string {
	switch r {
	case Reader:
		return "Reader"
	case Contributor:
		return "Contributor"
	case Owner:
		return "Owner"
	}
	return "None"
}

// ParseRole reads a role name, case-insensitively.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Reader, Contributor, Owner} {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
	}
	return None, fmt.Errorf("unknown role %q: use Owner, Contributor or Reader", s)
}

// ErrUnauthenticated means the request carried no valid token.
var ErrUnauthenticated = errors.New("no valid bearer token")

// Identity is an authenticated caller with their role assignments.
type Identity struct {
	Principal   *store.Principal
	Assignments []*store.RoleAssignment
}

// RoleAt returns the caller's strongest role that applies to resourceID.
func (id *Identity) RoleAt(resourceID string) Role {
	if id.Principal.Admin {
		return Owner
	}
	key := store.Key(resourceID)
	best := None
	for _, a := range id.Assignments {
		if !covers(store.Key(a.Scope), key) {
			continue
		}
		if r, err := ParseRole(a.Role); err == nil && r > best {
			best = r
		}
	}
	return best
}

// Can reports whether the caller holds at least role need at resourceID.
func (id *Identity) Can(resourceID string, need Role) bool {
	return id.RoleAt(resourceID) >= need
}

// covers reports whether scope is resource or one of its ancestors, on
// segment boundaries ("/subscriptions/a" does not cover "/subscriptions/ab").
func covers(scope, resource string) bool {
	if scope == "" || scope == "/" {
		return true
	}
	scope = strings.TrimSuffix(scope, "/")
	return resource == scope || strings.HasPrefix(resource, scope+"/")
}

// NewToken returns a fresh token and the hash under which it is stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("read random token: " + err.Error())
	}
	token = "bpt_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewID returns a random identifier for principals and assignments.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("read random id: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Authenticator turns Authorization headers into identities.
type Authenticator struct {
	Store *store.Store
}

// Authenticate checks an Authorization header value.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Identity, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(header, "bearer ")
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return nil, ErrUnauthenticated
	}
	p, err := a.Store.PrincipalByToken(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	list, err := a.Store.RoleAssignments(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &Identity{Principal: p, Assignments: list}, nil
}

// EnsureAdmin creates the admin principal and its token on first start,
// writing the token to tokenFile (mode 0600). It returns the token when it
// was created now, or "" when the admin already existed.
func EnsureAdmin(ctx context.Context, st *store.Store, tokenFile string) (string, error) {
	if _, err := st.GetPrincipal(ctx, "admin"); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	p := &store.Principal{ID: NewID(), Name: "admin", Admin: true}
	if err := st.AddPrincipal(ctx, p); err != nil {
		return "", err
	}
	token, hash := NewToken()
	if err := st.AddToken(ctx, p.ID, hash); err != nil {
		return "", err
	}
	if err := st.AddRoleAssignment(ctx, &store.RoleAssignment{
		ID: NewID(), PrincipalID: p.ID, Role: Owner.String(), Scope: "/",
	}); err != nil {
		return "", err
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token file: %w", err)
	}
	return token, nil
}
