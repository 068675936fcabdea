package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// loadBatch is how many rows one load transaction holds. Large
// transactions are what makes SQLite inserts fast; the batch bound keeps
// the journal of an existing database from growing without limit.
const loadBatch = 100_000

// target is a database opened for import. SQLite has one writer, so all
// work goes through one connection.
type target struct {
	db      *sql.DB
	loc     location
	created bool
	mu      sync.Mutex // one Load at a time
	skipped []engine.Skipped
	closed  bool
}

// OpenTarget opens (or, with create, creates) a database to import into.
func (d *Driver) OpenTarget(ctx context.Context, cfg engine.Config, create bool) (engine.Target, error) {
	loc, err := locate(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDir(loc); err != nil {
		return nil, err
	}
	if err := gate(ctx, cfg, loc.path); err != nil {
		return nil, err
	}
	if create {
		return createTarget(ctx, loc)
	}
	if _, err := existing(ctx, cfg); err != nil {
		return nil, err
	}
	db, err := open(loc.path, "rw", 1)
	if err != nil {
		return nil, err
	}
	t := &target{db: db, loc: loc}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
		WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&n)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %q for import: %w", loc.name, notDatabase(err))
	}
	if n > 0 {
		db.Close()
		return nil, fmt.Errorf("import into database %q: %w (it holds %d objects)", loc.name, engine.ErrNotEmpty, n)
	}
	return t, nil
}

func createTarget(ctx context.Context, loc location) (*target, error) {
	// O_EXCL makes the existence check and the creation one step.
	f, err := os.OpenFile(loc.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create database %q: %w", loc.name, engine.ErrDatabaseExists)
	}
	if err != nil {
		return nil, fmt.Errorf("create database %q: %w", loc.name, err)
	}
	f.Close()
	db, err := open(loc.path, "rw", 1)
	if err != nil {
		_ = removeFiles(loc.path)
		return nil, err
	}
	// A created database is dropped on any failure, so the load needs no
	// crash safety: no journal, no fsync.
	for _, p := range []string{"PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			db.Close()
			_ = removeFiles(loc.path)
			return nil, fmt.Errorf("create database %q: %w", loc.name, err)
		}
	}
	return &target{db: db, loc: loc, created: true}, nil
}

// MaxLoadParallel is 1: SQLite has a single writer.
func (t *target) MaxLoadParallel() int { return 1 }

// CreateTables creates every table with its primary key, unique, foreign
// key and check constraints inline, since SQLite cannot add them later.
// Indexes wait for Finish.
func (t *target) CreateTables(ctx context.Context, m *bacpac.Model) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	defer tx.Rollback()
	for _, tbl := range m.Tables {
		stmt, skipped, err := createTableSQL(tbl)
		if err != nil {
			return fmt.Errorf("create table %s: %w", tableName(tbl), err)
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create table %s: %w", tableName(tbl), err)
		}
		t.skipped = append(t.skipped, skipped...)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	return nil
}

// Load inserts the rows of one table with a prepared statement, in
// transactions of loadBatch rows.
func (t *target) Load(ctx context.Context, tbl *bacpac.Table, next func() ([]any, error)) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cols := tbl.DataColumns()
	same := engine.FromEngine(tbl, Name)
	writers := make([]writeValue, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		declared, err := columnType(c, same)
		if err != nil {
			return 0, fmt.Errorf("load table %s: %w", tableName(tbl), err)
		}
		writers[i] = writer(c, declared, same)
		names[i] = quote(c.Name)
	}
	stmt := "INSERT INTO " + quote(tableName(tbl)) + " (" + strings.Join(names, ", ") +
		") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"

	var n int64
	args := make([]any, len(cols))
	for {
		done, err := t.loadBatch(ctx, tbl, stmt, writers, cols, args, &n, next)
		if err != nil {
			return n, err
		}
		if done {
			return n, nil
		}
	}
}

func (t *target) loadBatch(ctx context.Context, tbl *bacpac.Table, stmt string, writers []writeValue,
	cols []*bacpac.Column, args []any, n *int64, next func() ([]any, error)) (done bool, err error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("load table %s: %w", tableName(tbl), err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return false, fmt.Errorf("load table %s: %w", tableName(tbl), err)
	}
	defer ins.Close()
	for range loadBatch {
		row, err := next()
		if err == io.EOF {
			done = true
			break
		}
		if err != nil {
			return false, fmt.Errorf("load table %s: %w", tableName(tbl), err)
		}
		*n++
		if *n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return false, fmt.Errorf("load table %s: %w", tableName(tbl), err)
			}
		}
		for i, v := range row {
			if v == nil {
				args[i] = nil
				continue
			}
			if args[i], err = writers[i](v); err != nil {
				return false, &engine.ValueError{Table: tbl.Schema + "." + tbl.Name,
					Column: cols[i].Name, Row: *n, Err: err}
			}
		}
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return false, fmt.Errorf("load table %s row %d: %w", tableName(tbl), *n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("load table %s: %w", tableName(tbl), err)
	}
	return done, nil
}

// Finish creates the indexes and checks the foreign keys over the loaded
// rows. Identity values need no step: SQLite numbers an INTEGER PRIMARY
// KEY past the largest key, and AUTOINCREMENT tracks inserted keys.
func (t *target) Finish(ctx context.Context, m *bacpac.Model) ([]engine.Skipped, error) {
	used := map[string]bool{}
	for _, tbl := range m.Tables {
		for _, idx := range tbl.Indexes {
			if col, ok := carried(tbl, idx); !ok {
				t.skipped = append(t.skipped, engine.Skipped{Kind: "SqlIndex", Name: indexName(tbl, idx.Name),
					Reason: "it covers the computed column " + col + ", which is not carried"})
				continue
			}
			stmt, note := createIndexSQL(tbl, idx, used)
			if note != "" {
				t.skipped = append(t.skipped, engine.Skipped{Kind: "index option",
					Name: indexName(tbl, idx.Name), Reason: note})
			}
			if _, err := t.db.ExecContext(ctx, stmt); err != nil {
				if idx.Filter == "" || engine.FromEngine(tbl, Name) {
					return t.skipped, fmt.Errorf("create index %s: %w", idx.Name, err)
				}
				// A T-SQL filter SQLite does not understand.
				t.skipped = append(t.skipped, engine.Skipped{Kind: "SqlIndex",
					Name: indexName(tbl, idx.Name), Reason: "its filter is T-SQL that SQLite cannot evaluate: " + idx.Filter})
			}
		}
	}
	if err := t.checkForeignKeys(ctx); err != nil {
		return t.skipped, err
	}
	if t.created {
		if _, err := t.db.ExecContext(ctx, "PRAGMA journal_mode = DELETE"); err != nil {
			return t.skipped, fmt.Errorf("finish: %w", err)
		}
	}
	return t.skipped, nil
}

func (t *target) checkForeignKeys(ctx context.Context) error {
	rows, err := t.db.QueryContext(ctx, `SELECT "table", rowid, parent FROM pragma_foreign_key_check`)
	if err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		_ = rows.Scan(&table, &rowid, &parent)
		return fmt.Errorf("check foreign keys: a row of %s (rowid %d) references a missing row of %s",
			table, rowid.Int64, parent)
	}
	return rows.Err()
}

// Abort drops a created database, or empties an existing one again.
func (t *target) Abort(ctx context.Context) error {
	if t.created {
		t.Close()
		if err := removeFiles(t.loc.path); err != nil {
			return fmt.Errorf("abort import: %w", err)
		}
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	rows, err := t.db.QueryContext(ctx, `SELECT type, name FROM sqlite_master
		WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return fmt.Errorf("abort import: %w", err)
	}
	var drops []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			rows.Close()
			return fmt.Errorf("abort import: %w", err)
		}
		drops = append(drops, "DROP "+strings.ToUpper(typ)+" IF EXISTS "+quote(name))
	}
	rows.Close()
	for _, d := range drops {
		if _, err := t.db.ExecContext(ctx, d); err != nil {
			return fmt.Errorf("abort import: %w", err)
		}
	}
	return nil
}

// Close releases the connection.
func (t *target) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.db.Close()
}
