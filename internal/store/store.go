// Package store keeps bacport's state in SQLite: the ARM resources (resource
// groups, servers, databases, firewall rules, storage accounts), the
// import/export operations with their history, and the principals, tokens
// and role assignments of access control. River's job tables live in the same
// database file, so an operation, its first history entry and its job are
// written in one transaction.
//
// Two pools share the file: a writer with a single connection (SQLite admits
// one writer at a time, and River's SQLite driver asks for one connection to
// avoid SQLITE_BUSY) and a reader with several connections for the API's
// queries, which WAL lets run beside the writer.
//
// Secrets (passwords, storage keys, SAS tokens) are sealed with AES-GCM under
// a key kept in a file beside the database, and are never part of a
// resource's document or an operation's request as stored.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned when a resource, operation or principal is absent.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, such
// as a second running operation on one database.
var ErrConflict = errors.New("conflict")

// Store is the state database.
type Store struct {
	w      *sql.DB // one connection: all writes and River
	r      *sql.DB // readers
	sealer *Sealer
}

// Querier is what both *sql.DB and *sql.Tx offer; store functions that may
// run inside a caller's transaction take one.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open opens (creating if needed) the state database at path and seals
// secrets with sealer.
func Open(ctx context.Context, path string, sealer *Sealer) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open state database: %w", err)
	}
	r.SetMaxOpenConns(4)

	s := &Store{w: w, r: r, sealer: sealer}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Writer is the single-connection pool; River runs on it so that its
// inserts can share the store's transactions.
func (s *Store) Writer() *sql.DB { return s.w }

// Reader is the pool for queries.
func (s *Store) Reader() *sql.DB { return s.r }

// Sealer returns the sealer of secrets.
func (s *Store) Sealer() *Sealer { return s.sealer }

// InTx runs fn in a write transaction, committing when fn returns nil.
// fn must use tx for every statement: the writer has one connection, so a
// statement on the pool inside fn would wait for itself.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

var migrations = []string{
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE resources (
		key     TEXT PRIMARY KEY,  -- lower-cased ARM id
		parent  TEXT NOT NULL,     -- lower-cased ARM id of the parent
		type    TEXT NOT NULL,     -- lower-cased type, e.g. microsoft.sql/servers
		doc     TEXT NOT NULL,     -- the resource as served, without secrets
		secret  BLOB,              -- sealed JSON of its write-only fields
		created TEXT NOT NULL,
		updated TEXT NOT NULL)`,
	`CREATE INDEX resources_parent ON resources (parent, type)`,
	`CREATE INDEX resources_type ON resources (type)`,
	`CREATE TABLE operations (
		id          TEXT PRIMARY KEY,
		server_key  TEXT NOT NULL,
		db_key      TEXT NOT NULL,
		doc         TEXT NOT NULL,
		status      TEXT NOT NULL,
		active      INTEGER NOT NULL,
		queued_at   TEXT NOT NULL,
		seq         INTEGER NOT NULL)`,
	`CREATE INDEX operations_server ON operations (server_key, seq)`,
	`CREATE UNIQUE INDEX operations_active ON operations (db_key) WHERE active = 1`,
	`CREATE TABLE operation_secrets (id TEXT PRIMARY KEY, secret BLOB NOT NULL)`,
	`CREATE TABLE history (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT,
		operation_id TEXT NOT NULL,
		server_key   TEXT NOT NULL,
		at           TEXT NOT NULL,
		event        TEXT NOT NULL,
		status       TEXT NOT NULL,
		phase        TEXT NOT NULL,
		message      TEXT NOT NULL,
		principal    TEXT NOT NULL)`,
	`CREATE INDEX history_operation ON history (operation_id, seq)`,
	`CREATE TABLE principals (
		id      TEXT PRIMARY KEY,
		name    TEXT NOT NULL UNIQUE,
		admin   INTEGER NOT NULL,
		created TEXT NOT NULL)`,
	`CREATE TABLE tokens (
		hash         TEXT PRIMARY KEY,
		principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
		created      TEXT NOT NULL)`,
	`CREATE TABLE role_assignments (
		id           TEXT PRIMARY KEY,
		principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
		role         TEXT NOT NULL,
		scope        TEXT NOT NULL,  -- lower-cased ARM scope
		scope_shown  TEXT NOT NULL,
		created      TEXT NOT NULL)`,
	`CREATE INDEX role_assignments_principal ON role_assignments (principal_id)`,
}

func (s *Store) migrate(ctx context.Context) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`CREATE TABLE IF NOT EXISTS bacport_migrations (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(version), 0) FROM bacport_migrations`).Scan(&n); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for i := n; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("apply migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO bacport_migrations (version) VALUES (?)`, i+1); err != nil {
				return fmt.Errorf("record migration %d: %w", i+1, err)
			}
		}
		return nil
	})
}

// Meta returns a value of the meta table, or "" when unset.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta sets a value of the meta table.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES (?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write meta %q: %w", key, err)
	}
	return nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }
