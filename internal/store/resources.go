package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Resource is one ARM resource as stored: its document as served (without
// secrets) and its write-only fields, sealed at rest and opened on read.
type Resource struct {
	ID      string          // ARM id as the client first spelled it
	Parent  string          // ARM id of the parent (resource group, server …)
	Type    string          // e.g. "Microsoft.Sql/servers"
	Doc     json.RawMessage // the resource as served
	Secret  json.RawMessage // write-only fields; nil when none
	Created time.Time
	Updated time.Time
}

// Key is the case-insensitive form of an ARM id under which it is stored.
func Key(id string) string { return strings.ToLower(strings.TrimSuffix(id, "/")) }

// GetResource reads one resource by ARM id.
func (s *Store) GetResource(ctx context.Context, id string) (*Resource, error) {
	return s.getResource(ctx, s.r, id)
}

// GetResourceTx reads one resource inside a transaction.
func (s *Store) GetResourceTx(ctx context.Context, tx *sql.Tx, id string) (*Resource, error) {
	return s.getResource(ctx, tx, id)
}

func (s *Store) getResource(ctx context.Context, q Querier, id string) (*Resource, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, parent, type, doc, secret, created, updated
		FROM resources WHERE key = ?`, Key(id))
	if err != nil {
		return nil, fmt.Errorf("read resource: %w", err)
	}
	list, err := s.scanResources(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return list[0], nil
}

// PutResource creates or replaces a resource, reporting whether it was
// created.
func (s *Store) PutResource(ctx context.Context, q Querier, r *Resource) (created bool, err error) {
	key := Key(r.ID)
	var sealed []byte
	if r.Secret != nil {
		sealed = s.sealer.Seal(r.Secret, key)
	}
	ts := now()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE key = ?`, key).
		Scan(&n); err != nil {
		return false, fmt.Errorf("write resource: %w", err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO resources (key, parent, type, doc, secret, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, secret = excluded.secret,
			updated = excluded.updated`,
		key, Key(r.Parent), strings.ToLower(r.Type), string(r.Doc), sealed, ts, ts)
	if err != nil {
		return false, fmt.Errorf("write resource: %w", err)
	}
	return n == 0, nil
}

// DeleteResource deletes a resource and everything under it.
func (s *Store) DeleteResource(ctx context.Context, q Querier, id string) error {
	key := Key(id)
	res, err := q.ExecContext(ctx,
		`DELETE FROM resources WHERE key = ? OR substr(key, 1, ?) = ?`,
		key, len(key)+1, key+"/")
	if err != nil {
		return fmt.Errorf("delete resource: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListChildren lists the resources of one type directly under parent.
func (s *Store) ListChildren(ctx context.Context, parent, typ string) ([]*Resource, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, parent, type, doc, secret, created, updated
		FROM resources WHERE parent = ? AND type = ? ORDER BY key`, Key(parent), strings.ToLower(typ))
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	return s.scanResources(rows)
}

// ListUnder lists the resources of one type anywhere under scope (for
// example every server of a subscription).
func (s *Store) ListUnder(ctx context.Context, scope, typ string) ([]*Resource, error) {
	prefix := Key(scope) + "/"
	rows, err := s.r.QueryContext(ctx, `SELECT key, parent, type, doc, secret, created, updated
		FROM resources WHERE type = ? AND substr(key, 1, ?) = ? ORDER BY key`,
		strings.ToLower(typ), len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	return s.scanResources(rows)
}

func (s *Store) scanResources(rows *sql.Rows) ([]*Resource, error) {
	defer rows.Close()
	var list []*Resource
	for rows.Next() {
		var (
			r                      Resource
			key, doc, typ          string
			sealed                 []byte
			created, updated, prnt string
		)
		if err := rows.Scan(&key, &prnt, &typ, &doc, &sealed, &created, &updated); err != nil {
			return nil, fmt.Errorf("read resource: %w", err)
		}
		r.Doc = json.RawMessage(doc)
		var head struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r.Doc, &head); err != nil {
			return nil, fmt.Errorf("read resource %s: %w", key, err)
		}
		r.ID, r.Type, r.Parent = head.ID, head.Type, prnt
		if sealed != nil {
			pt, err := s.sealer.Open(sealed, key)
			if err != nil {
				return nil, fmt.Errorf("read resource %s: %w", key, err)
			}
			r.Secret = pt
		}
		r.Created, _ = time.Parse(time.RFC3339Nano, created)
		r.Updated, _ = time.Parse(time.RFC3339Nano, updated)
		list = append(list, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read resources: %w", err)
	}
	return list, nil
}

// IsNotFound reports whether err means an absent row.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ServerSecret is the sealed part of a SQL server resource.
type ServerSecret struct {
	AdministratorLoginPassword string `json:"administratorLoginPassword,omitempty"`
	// EngineDSN is the full address of the engine the server is bound to.
	// The document shows it without any password it may hold.
	EngineDSN string `json:"engineDsn,omitempty"`
}

// ServerEngine reads the engine binding of a server resource: the driver
// name from its document and the full DSN from its secret.
func ServerEngine(r *Resource) (driver string, sec ServerSecret, err error) {
	var doc struct {
		Properties struct {
			Engine struct {
				Type string `json:"type"`
			} `json:"engine"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(r.Doc, &doc); err != nil {
		return "", sec, fmt.Errorf("read server %s: %w", r.ID, err)
	}
	if r.Secret != nil {
		if err := json.Unmarshal(r.Secret, &sec); err != nil {
			return "", sec, fmt.Errorf("read server %s: %w", r.ID, err)
		}
	}
	return doc.Properties.Engine.Type, sec, nil
}
