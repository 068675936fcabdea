package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// maxReaders caps the connections an export reads tables with.
const maxReaders = 4

// source is a database opened for export. Every reader connection holds a
// read transaction begun at the same point of the write-ahead log, so all
// tables come from one snapshot while other connections keep writing.
type source struct {
	db      *sql.DB
	readers chan *sql.Conn
	all     []*sql.Conn
	once    sync.Once
}

// OpenSource opens the database and starts the snapshot. It switches the
// database to WAL journal mode (a persistent, harmless change) so that
// writers are not blocked for the length of the export; a database whose
// file is read-only is read in one transaction on one connection instead.
func (d *Driver) OpenSource(ctx context.Context, cfg engine.Config) (engine.Source, error) {
	loc, err := existing(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n := min(max(runtime.NumCPU(), 1), maxReaders)
	s, err := openSnapshot(ctx, loc.path, n)
	if err != nil {
		return nil, fmt.Errorf("open database %q for export: %w", loc.name, err)
	}
	return s, nil
}

func openSnapshot(ctx context.Context, path string, n int) (*source, error) {
	db, err := open(path, "rw", n+1)
	if err != nil {
		return nil, err
	}
	s := &source{db: db}
	wal, err := ensureWAL(ctx, db)
	if err != nil {
		db.Close()
		if !isReadOnly(err) {
			return nil, err
		}
		// A read-only file: one read transaction on one connection.
		if db, err = open(path, "ro", 1); err != nil {
			return nil, err
		}
		s.db, n, wal = db, 1, false
	}
	if err := s.begin(ctx, n, wal); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func isReadOnly(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "readonly") ||
		strings.Contains(strings.ToLower(err.Error()), "read-only")
}

func ensureWAL(ctx context.Context, db *sql.DB) (bool, error) {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return false, fmt.Errorf("read journal mode: %w", err)
	}
	if strings.EqualFold(mode, "wal") {
		return true, nil
	}
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return false, fmt.Errorf("switch to WAL journal mode: %w", err)
	}
	return strings.EqualFold(mode, "wal"), nil
}

// begin starts the read transactions. With several readers, a write
// transaction held meanwhile keeps any commit from landing between them,
// so they all start at the same snapshot.
func (s *source) begin(ctx context.Context, n int, wal bool) error {
	var lock *sql.Conn
	if n > 1 && wal {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			c.Close()
			return fmt.Errorf("hold writers while the snapshot starts: %w", err)
		}
		lock = c
		defer func() {
			_, _ = lock.ExecContext(context.Background(), "ROLLBACK")
			lock.Close()
		}()
	} else {
		n = 1
	}
	s.readers = make(chan *sql.Conn, n)
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		s.all = append(s.all, c)
		if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
			return fmt.Errorf("begin snapshot: %w", err)
		}
		// The snapshot starts at the first read.
		var count int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&count); err != nil {
			return fmt.Errorf("begin snapshot: %w", notDatabase(err))
		}
		s.readers <- c
	}
	return nil
}

func notDatabase(err error) error {
	if strings.Contains(err.Error(), "not a database") {
		return fmt.Errorf("the file is not a SQLite database: %w", err)
	}
	return err
}

func (s *source) conn(ctx context.Context) (*sql.Conn, error) {
	select {
	case c := <-s.readers:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Model reads the schema at the snapshot.
func (s *source) Model(ctx context.Context) (*bacpac.Model, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { s.readers <- c }()
	return readModel(ctx, c)
}

// Rows streams one table. A large rowid table is read in rowid ranges on
// several snapshot connections at once (see split.go); others in one
// query.
func (s *source) Rows(ctx context.Context, t *bacpac.Table, fn func(row []any) error) error {
	rd := newTableReader(t)
	if rd == nil {
		return nil
	}
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	defer func() { s.readers <- c }()
	if ranges := s.ranges(ctx, c, t); len(ranges) > 1 {
		return s.readRanges(ctx, c, rd, ranges, fn)
	}
	var n atomic.Int64
	return rd.read(ctx, c, "", &n, fn)
}

// tableReader reads the rows of one table.
type tableReader struct {
	name      string
	cols      []*bacpac.Column
	readers   []readValue
	selectSQL string // without a WHERE clause
}

func newTableReader(t *bacpac.Table) *tableReader {
	cols := t.DataColumns()
	if len(cols) == 0 {
		return nil
	}
	rd := &tableReader{name: tableName(t), cols: cols, readers: make([]readValue, len(cols))}
	names := make([]string, len(cols))
	for i, c := range cols {
		rd.readers[i] = reader(c)
		// A unary plus hides the declared type from the database/sql
		// driver, which would otherwise turn date text into time.Time.
		names[i] = "+" + quote(c.Name)
	}
	rd.selectSQL = "SELECT " + strings.Join(names, ", ") + " FROM " + quote(rd.name)
	return rd
}

// read runs the query with an optional WHERE clause on c, calling fn per
// row. n numbers rows for errors; ranges read at once share it.
func (rd *tableReader) read(ctx context.Context, c *sql.Conn, where string, n *atomic.Int64,
	fn func(row []any) error) error {
	rows, err := c.QueryContext(ctx, rd.selectSQL+where)
	if err != nil {
		return fmt.Errorf("read table %s: %w", rd.name, err)
	}
	defer rows.Close()

	cols := rd.cols
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := make([]any, len(cols))
	for rows.Next() {
		k := n.Add(1)
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read table %s row %d: %w", rd.name, k, err)
		}
		for i, v := range raw {
			if v == nil {
				if !cols[i].Nullable {
					return &engine.ValueError{Table: rd.name, Column: cols[i].Name, Row: k,
						Err: errors.New("NULL in a NOT NULL or primary key column")}
				}
				row[i] = nil
				continue
			}
			val, err := rd.readers[i](v)
			if err != nil {
				return &engine.ValueError{Table: rd.name, Column: cols[i].Name, Row: k, Err: err}
			}
			row[i] = val
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table %s: %w", rd.name, err)
	}
	return nil
}

// Close ends the snapshot.
func (s *source) Close() error {
	s.once.Do(func() {
		for _, c := range s.all {
			_, _ = c.ExecContext(context.Background(), "ROLLBACK")
			c.Close()
		}
		s.db.Close()
	})
	return nil
}
