package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Principal is an identity that calls the API with bearer tokens.
type Principal struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Admin   bool      `json:"admin"`
	Created time.Time `json:"created"`
}

// RoleAssignment grants a principal a role at a scope.
type RoleAssignment struct {
	ID          string    `json:"id"`
	PrincipalID string    `json:"principalId"`
	Role        string    `json:"role"`
	Scope       string    `json:"scope"`
	Created     time.Time `json:"created"`
}

// AddPrincipal creates a principal.
func (s *Store) AddPrincipal(ctx context.Context, p *Principal) error {
	p.Created = time.Now().UTC()
	_, err := s.w.ExecContext(ctx, `INSERT INTO principals (id, name, admin, created) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, p.Admin, p.Created.Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("add principal: %w", err)
	}
	return nil
}

// Principals lists every principal.
func (s *Store) Principals(ctx context.Context) ([]*Principal, error) {
	return s.queryPrincipals(ctx, `ORDER BY created`)
}

// GetPrincipal reads one principal by id or name.
func (s *Store) GetPrincipal(ctx context.Context, idOrName string) (*Principal, error) {
	list, err := s.queryPrincipals(ctx, `WHERE id = ? OR name = ?`, idOrName, idOrName)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return list[0], nil
}

// DeletePrincipal removes a principal with its tokens and assignments.
func (s *Store) DeletePrincipal(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM principals WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete principal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *Store) queryPrincipals(ctx context.Context, clause string, args ...any) ([]*Principal, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, admin, created FROM principals `+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("read principals: %w", err)
	}
	defer rows.Close()
	var list []*Principal
	for rows.Next() {
		var p Principal
		var created string
		if err := rows.Scan(&p.ID, &p.Name, &p.Admin, &created); err != nil {
			return nil, fmt.Errorf("read principal: %w", err)
		}
		p.Created, _ = time.Parse(time.RFC3339Nano, created)
		list = append(list, &p)
	}
	return list, rows.Err()
}

// AddToken records the hash of a principal's token.
func (s *Store) AddToken(ctx context.Context, principalID, hash string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens (hash, principal_id, created) VALUES (?, ?, ?)`,
		hash, principalID, now())
	if err != nil {
		return fmt.Errorf("add token: %w", err)
	}
	return nil
}

// PrincipalByToken finds the principal owning a token hash.
func (s *Store) PrincipalByToken(ctx context.Context, hash string) (*Principal, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT principal_id FROM tokens WHERE hash = ?`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return s.GetPrincipal(ctx, id)
}

// AddRoleAssignment grants a role.
func (s *Store) AddRoleAssignment(ctx context.Context, a *RoleAssignment) error {
	a.Created = time.Now().UTC()
	_, err := s.w.ExecContext(ctx, `INSERT INTO role_assignments
		(id, principal_id, role, scope, scope_shown, created) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.PrincipalID, a.Role, Key(a.Scope), a.Scope, a.Created.Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("add role assignment: %w", err)
	}
	return nil
}

// DeleteRoleAssignment revokes a role assignment.
func (s *Store) DeleteRoleAssignment(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM role_assignments WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete role assignment: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RoleAssignments lists a principal's assignments, or all when principalID
// is empty.
func (s *Store) RoleAssignments(ctx context.Context, principalID string) ([]*RoleAssignment, error) {
	q := `SELECT id, principal_id, role, scope_shown, created FROM role_assignments`
	var args []any
	if principalID != "" {
		q += ` WHERE principal_id = ?`
		args = append(args, principalID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created`, args...)
	if err != nil {
		return nil, fmt.Errorf("read role assignments: %w", err)
	}
	defer rows.Close()
	var list []*RoleAssignment
	for rows.Next() {
		var a RoleAssignment
		var created string
		if err := rows.Scan(&a.ID, &a.PrincipalID, &a.Role, &a.Scope, &created); err != nil {
			return nil, fmt.Errorf("read role assignment: %w", err)
		}
		a.Created, _ = time.Parse(time.RFC3339Nano, created)
		list = append(list, &a)
	}
	return list, rows.Err()
}
