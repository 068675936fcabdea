package mysql

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// target is a database opened for import.
type target struct {
	s       *settings
	db      string
	pool    *sql.DB
	created bool

	mu      sync.Mutex
	names   map[[2]string]string // model schema and name → MySQL table name
	plans   map[*bacpac.Table]*tablePlan
	made    []string // tables this import created, in creation order
	skipped []engine.Skipped
	closed  bool
}

// tablePlan is how one model table lands in MySQL.
type tablePlan struct {
	name       string
	cols       []*colPlan // data columns, in part order
	identity   string
	pkDeferred bool // the primary key did not fit inline
	// created are the model columns the table has (computed columns
	// whose T-SQL expression was not translated are left out).
	created []*bacpac.Column
	byName  map[string]*colPlan // by lower-case column name
}

// colPlan is one data column's MySQL type and how values are checked and
// written into it.
type colPlan struct {
	name    string
	t       mtype
	src     bacpac.Type // the SQL Server type the package describes
	maxLen  int         // characters (text) or bytes (binary); 0 = the type's own limit
	viaVar  bool        // loaded through a user variable (BIT columns)
	isExact bool        // the type came from a MySQL source type property
	// formatAll sends every value through format, strings and binaries
	// included (BIT, DECIMAL, UUID and the integer columns).
	formatAll bool
}

// OpenTarget opens (with create, first creates) a database to import into.
func (d *Driver) OpenTarget(ctx context.Context, cfg engine.Config, create bool) (engine.Target, error) {
	s, err := d.resolve(cfg)
	if err != nil {
		return nil, err
	}
	if s.database == "" {
		return nil, errors.New("open mysql target: the DSN names no database")
	}
	server, err := s.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer server.Close()
	tg := &target{s: s, db: s.database, names: map[[2]string]string{},
		plans: map[*bacpac.Table]*tablePlan{}}
	if create {
		_, err := server.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(s.database)+
			" CHARACTER SET utf8mb4")
		var me *gomysql.MySQLError
		if errors.As(err, &me) && me.Number == errDBCreateExists {
			return nil, fmt.Errorf("create database %q: %w", s.database, engine.ErrDatabaseExists)
		}
		if err != nil {
			return nil, fmt.Errorf("create database %q: %w", s.database, err)
		}
		tg.created = true
	} else if err := checkEmpty(ctx, server, s.database); err != nil {
		return nil, err
	}
	pool, err := s.connect(ctx, s.database)
	if err != nil {
		if tg.created {
			server.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(s.database))
		}
		return nil, err
	}
	pool.SetMaxOpenConns(s.parallel + 2)
	tg.pool = pool
	return tg, nil
}

func checkEmpty(ctx context.Context, q *sql.DB, db string) error {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA
		WHERE SCHEMA_NAME = ?`, db).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up database %q: %w", db, err)
	}
	if n == 0 {
		return fmt.Errorf("open database %q: %w", db, engine.ErrNoDatabase)
	}
	err = q.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ?`, db).Scan(&n)
	if err != nil {
		return fmt.Errorf("count tables of %q: %w", db, err)
	}
	if n > 0 {
		return fmt.Errorf("open database %q: it has %d tables: %w", db, n, engine.ErrNotEmpty)
	}
	return nil
}

func (tg *target) skip(kind, name, reason string) {
	tg.mu.Lock()
	tg.skipped = append(tg.skipped, engine.Skipped{Kind: kind, Name: name, Reason: reason})
	tg.mu.Unlock()
}

// tableName is the MySQL name of a model table: its own name, or
// "schema_name" when two schemas hold tables of the same name.
func (tg *target) tableName(schema, name string) string {
	if n, ok := tg.names[[2]string{schema, name}]; ok {
		return n
	}
	return name
}

func (tg *target) assignNames(m *bacpac.Model) {
	count := map[string]int{}
	for _, t := range m.Tables {
		count[strings.ToLower(t.Name)]++
	}
	for _, t := range m.Tables {
		n := t.Name
		if count[strings.ToLower(n)] > 1 && t.Schema != schemaName {
			n = t.Schema + "_" + t.Name
		}
		tg.names[[2]string{t.Schema, t.Name}] = shortName(n)
	}
}

// shortName keeps a name within MySQL's 64-character identifier limit,
// replacing the tail of a longer one with a hash of the whole.
func shortName(n string) string {
	if len([]rune(n)) <= 64 {
		return n
	}
	sum := sha1.Sum([]byte(n))
	return string([]rune(n)[:55]) + "_" + hex.EncodeToString(sum[:4])
}

// modelName is a table's name for reports: [schema].[name].
func modelName(t *bacpac.Table) string { return "[" + t.Schema + "].[" + t.Name + "]" }

// Abort drops the database when this import created it, and otherwise
// drops the tables it created, leaving the database empty again.
func (tg *target) Abort(ctx context.Context) error {
	if tg.created {
		server, err := tg.s.open("")
		if err != nil {
			return err
		}
		defer server.Close()
		if _, err := server.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(tg.db)); err != nil {
			return fmt.Errorf("drop database %q: %w", tg.db, err)
		}
		return nil
	}
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("drop imported tables: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET foreign_key_checks = 0"); err != nil {
		return fmt.Errorf("drop imported tables: %w", err)
	}
	tg.mu.Lock()
	made := append([]string{}, tg.made...)
	tg.mu.Unlock()
	for i := len(made) - 1; i >= 0; i-- {
		if _, err := c.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(made[i])); err != nil {
			return fmt.Errorf("drop table %s: %w", made[i], err)
		}
	}
	return nil
}

// Close releases the connections.
func (tg *target) Close() error {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.closed {
		return nil
	}
	tg.closed = true
	return tg.pool.Close()
}
