package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// maxTargetConns bounds the connections an import opens.
const maxTargetConns = 8

// target is a database opened for import.
type target struct {
	d       *Driver
	cfg     engine.Config
	name    string
	created bool
	pool    *pgxpool.Pool

	mu        sync.Mutex
	schemaOf  func(string) string // package schema → PostgreSQL schema
	tables    map[[2]string]*loadTable
	made      []string // tables this import created, qualified
	madeSch   []string // schemas this import created
	madeTypes []string // enum types this import created, qualified
	skipped   []engine.Skipped
}

// loadTable is a created table and its columns as created.
type loadTable struct {
	schema, name string
	fromPG       bool
	cols         []*targetCol // data columns, in package order
	binary       bool
	// skippedComputed names computed columns Finish could not add.
	skippedComputed map[string]bool
	// finished is set once FinishTable has added the table's own keys,
	// indexes and constraints.
	finished bool
}

// OpenTarget opens (or with create, creates) the database to import into.
func (d *Driver) OpenTarget(ctx context.Context, cfg engine.Config, create bool) (engine.Target, error) {
	name, err := databaseName(cfg)
	if err != nil {
		return nil, err
	}
	if _, lossy, err := cutLossy(cfg.DSN); err != nil {
		return nil, err
	} else if lossy {
		cfg.Lossy = true
	}
	t := &target{d: d, cfg: cfg, name: name, tables: map[[2]string]*loadTable{}}
	if create {
		if err := t.createDatabase(ctx); err != nil {
			return nil, err
		}
	}
	if err := t.open(ctx); err != nil {
		if t.created {
			t.dropCreated(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	if !create {
		if err := t.checkEmpty(ctx); err != nil {
			t.pool.Close()
			return nil, err
		}
	}
	return t, nil
}

func (t *target) createDatabase(ctx context.Context) error {
	conn, err := connect(ctx, t.cfg, DefaultMaintenanceDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+quoteIdent(t.name)+" ENCODING 'UTF8' TEMPLATE template0")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return fmt.Errorf("create database %q: %w", t.name, engine.ErrDatabaseExists)
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", t.name, err)
	}
	t.created = true
	return nil
}

func (t *target) open(ctx context.Context) error {
	cc, err := connConfig(t.cfg, t.name)
	if err != nil {
		return err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return fmt.Errorf("configure pool: %w", err)
	}
	pc.ConnConfig = cc
	pc.MaxConns = maxTargetConns
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Commits need not wait for the WAL flush: an import interrupted
		// by a crash is redone anyway.
		_, err := c.Exec(ctx, `SET synchronous_commit = off; SET DateStyle = ISO;
SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'; SET IntervalStyle = postgres`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("open pool: %w", err)
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return classify(err, cc)
	}
	c.Release()
	t.pool = pool
	return nil
}

func (t *target) checkEmpty(ctx context.Context) error {
	var n int
	err := t.pool.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("check database %q is empty: %w", t.name, err)
	}
	if n > 0 {
		return fmt.Errorf("import into database %q holding %d tables: %w", t.name, n, engine.ErrNotEmpty)
	}
	return nil
}

// pgSchemaFunc maps package schemas to PostgreSQL: dbo becomes public
// unless the package also has a schema named public.
func pgSchemaFunc(m *bacpac.Model) func(string) string {
	hasPublic := false
	for _, s := range m.Schemas {
		if s == "public" {
			hasPublic = true
		}
	}
	for _, tb := range m.Tables {
		if tb.Schema == "public" {
			hasPublic = true
		}
	}
	return func(s string) string {
		if s == "dbo" && !hasPublic {
			return "public"
		}
		return s
	}
}

// CreateTables creates the schemas, enum types and tables of the model,
// with column types, NOT NULL and identity but no keys or constraints.
func (t *target) CreateTables(ctx context.Context, m *bacpac.Model) error {
	t.mu.Lock()
	t.schemaOf = pgSchemaFunc(m)
	t.mu.Unlock()
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	defer conn.Release()
	c := conn.Conn()

	schemas := map[string]bool{}
	for _, tb := range m.Tables {
		schemas[t.schemaOf(tb.Schema)] = true
	}
	for s := range schemas {
		if err := t.ensureSchema(ctx, c, s); err != nil {
			return err
		}
	}
	for _, tb := range m.Tables {
		if err := t.createTable(ctx, c, tb); err != nil {
			return err
		}
	}
	return nil
}

func (t *target) ensureSchema(ctx context.Context, c *pgx.Conn, s string) error {
	var exists bool
	err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
		s).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up schema %q: %w", s, err)
	}
	if exists {
		return nil
	}
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+quoteIdent(s)); err != nil {
		return fmt.Errorf("create schema %q: %w", s, err)
	}
	t.mu.Lock()
	t.madeSch = append(t.madeSch, s)
	t.mu.Unlock()
	return nil
}

func (t *target) skip(kind, name, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skipped = append(t.skipped, engine.Skipped{Kind: kind, Name: name, Reason: reason})
}

func (t *target) createTable(ctx context.Context, c *pgx.Conn, tb *bacpac.Table) error {
	lt := &loadTable{schema: t.schemaOf(tb.Schema), name: tb.Name,
		fromPG: engine.FromEngine(tb, engineName)}
	qname := qualified(lt.schema, lt.name)
	var defs []string
	for _, col := range tb.Columns {
		def, ok, err := t.columnDef(ctx, c, lt, tb, col)
		if err != nil {
			return err
		}
		if ok {
			defs = append(defs, def)
		}
	}
	sql := "CREATE TABLE " + qname + " (\n\t" + strings.Join(defs, ",\n\t") + "\n)"
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create table %s.%s: %w", tb.Schema, tb.Name, err)
	}
	t.mu.Lock()
	t.made = append(t.made, qname)
	t.mu.Unlock()

	if err := t.describeColumns(ctx, c, lt, tb); err != nil {
		return err
	}
	t.mu.Lock()
	t.tables[[2]string{tb.Schema, tb.Name}] = lt
	t.mu.Unlock()
	return nil
}

// columnDef returns one column's definition in CREATE TABLE; ok is false
// for a computed column added later (or skipped) in Finish.
func (t *target) columnDef(ctx context.Context, c *pgx.Conn, lt *loadTable,
	tb *bacpac.Table, col *bacpac.Column) (string, bool, error) {
	gen, hasGen := col.Property(PropGenerated)
	if col.Computed != "" && (!lt.fromPG || !hasGen) {
		return "", false, nil // added in Finish, or reported there
	}
	typ, err := t.columnType(ctx, c, lt, tb, col)
	if err != nil {
		return "", false, err
	}
	def := quoteIdent(col.Name) + " " + typ
	if col.Computed != "" {
		return def + " GENERATED ALWAYS AS (" + gen + ") STORED", true, nil
	}
	if !col.Nullable {
		def += " NOT NULL"
	}
	if id := col.Identity; id != nil {
		idType := strings.Fields(typ)[0]
		pgDefault, _ := col.Property(PropDefault)
		mode, hasMode := col.Property(PropIdentity)
		switch {
		case lt.fromPG && !hasMode && strings.HasPrefix(pgDefault, "nextval("):
			// A serial column: recreate it as one so its sequence and
			// default come back as they were.
			serial := map[string]string{"smallint": "smallserial", "integer": "serial",
				"bigint": "bigserial"}[idType]
			if serial != "" {
				return quoteIdent(col.Name) + " " + serial + strings.TrimPrefix(def,
					quoteIdent(col.Name)+" "+typ), true, nil
			}
		case idType == "smallint" || idType == "integer" || idType == "bigint":
			gen := "BY DEFAULT"
			if hasMode && mode == "a" {
				gen = "ALWAYS"
			}
			inc := id.Increment
			if inc == 0 {
				inc = 1
			}
			def += fmt.Sprintf(" GENERATED %s AS IDENTITY (START WITH %d INCREMENT BY %d)",
				gen, id.Seed, inc)
		default:
			t.skip("identity", tb.Schema+"."+tb.Name+"."+col.Name,
				"PostgreSQL identity columns must be smallint, integer or bigint, not "+typ)
		}
	}
	return def, true, nil
}

// columnType picks the PostgreSQL type: the recorded source type for a
// table exported from PostgreSQL (when the type exists here), else the
// mapping of the SQL Server type.
func (t *target) columnType(ctx context.Context, c *pgx.Conn, lt *loadTable,
	tb *bacpac.Table, col *bacpac.Column) (string, error) {
	where := tb.Schema + "." + tb.Name + "." + col.Name
	if src, ok := engine.SourceType(col, engineName); ok && lt.fromPG {
		if err := t.ensureEnum(ctx, c, col); err != nil {
			return "", err
		}
		var exists bool
		err := c.QueryRow(ctx, "SELECT to_regtype($1) IS NOT NULL", src).Scan(&exists)
		if err == nil && exists {
			return src, nil
		}
		mapped, _ := pgTypeFor(col.Type)
		t.skip("column type", where, fmt.Sprintf(
			"type %s does not exist in the target database; created as %s", src, mapped))
	}
	typ, ok := pgTypeFor(col.Type)
	if !ok {
		return "", fmt.Errorf("create table %s.%s: column %s: SQL Server type %q: %w",
			tb.Schema, tb.Name, col.Name, col.Type.Name, engine.ErrNotSupported)
	}
	return typ, nil
}

// ensureEnum creates the enum type a PostgreSQL column was declared with,
// from the labels its properties carry, when the type is missing.
func (t *target) ensureEnum(ctx context.Context, c *pgx.Conn, col *bacpac.Column) error {
	name, ok := col.Property(PropEnumType)
	labels, ok2 := col.Property(PropEnum)
	if !ok || !ok2 {
		return nil
	}
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regtype($1) IS NOT NULL", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up type %s: %w", name, err)
	}
	if exists {
		return nil
	}
	var parts []string
	if err := c.QueryRow(ctx, "SELECT parse_ident($1)", name).Scan(&parts); err != nil {
		return fmt.Errorf("parse type name %s: %w", name, err)
	}
	var list []string
	if err := c.QueryRow(ctx, "SELECT $1::text[]", labels).Scan(&list); err != nil {
		return fmt.Errorf("parse labels of %s: %w", name, err)
	}
	qname := quoteIdent(parts[len(parts)-1])
	if len(parts) > 1 {
		if err := t.ensureSchema(ctx, c, parts[0]); err != nil {
			return err
		}
		qname = qualified(parts[0], parts[len(parts)-1])
	}
	quoted := make([]string, len(list))
	for i, l := range list {
		quoted[i] = quoteLiteral(l)
	}
	if _, err := c.Exec(ctx, "CREATE TYPE "+qname+" AS ENUM ("+strings.Join(quoted, ", ")+")"); err != nil {
		return fmt.Errorf("create type %s: %w", name, err)
	}
	t.mu.Lock()
	t.madeTypes = append(t.madeTypes, qname)
	t.mu.Unlock()
	return nil
}

// describeColumns reads back the created columns' types, which decide how
// values are checked and written.
func (t *target) describeColumns(ctx context.Context, c *pgx.Conn, lt *loadTable, tb *bacpac.Table) error {
	rows, err := c.Query(ctx, `SELECT a.attname, bt.oid,
		CASE WHEN ty.typtype = 'd' THEN ty.typtypmod ELSE a.atttypmod END, bt.typtype::text
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
		JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
		qualified(lt.schema, lt.name))
	if err != nil {
		return fmt.Errorf("describe table %s.%s: %w", tb.Schema, tb.Name, err)
	}
	byName := map[string]*targetCol{}
	for rows.Next() {
		var (
			name    string
			oid     uint32
			typmod  int32
			typtype string
		)
		if err := rows.Scan(&name, &oid, &typmod, &typtype); err != nil {
			return fmt.Errorf("describe table %s.%s: %w", tb.Schema, tb.Name, err)
		}
		tc := &targetCol{name: name, oid: oid, kind: targetKind(oid, typtype[0])}
		switch oid {
		case oidVarchar, oidBpchar:
			if typmod >= 4 {
				tc.length = int(typmod - 4)
			}
			// Only character(n) pads; a bpchar without a length keeps
			// its trailing spaces as given.
			tc.padded = oid == oidBpchar && tc.length > 0
		case oidNumeric:
			if typmod >= 4 {
				tc.prec = int((typmod-4)>>16) & 0xffff
				tc.scale = int(typmod-4) & 0x7ff
			}
		}
		byName[name] = tc
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("describe table %s.%s: %w", tb.Schema, tb.Name, err)
	}
	lt.binary = true
	for _, col := range tb.DataColumns() {
		tc := byName[truncateIdent(col.Name)]
		if tc == nil {
			return fmt.Errorf("describe table %s.%s: column %s was not created", tb.Schema, tb.Name, col.Name)
		}
		if tc.kind == tOther {
			lt.binary = false
		}
		lt.cols = append(lt.cols, tc)
	}
	return nil
}

// Close releases the connections.
func (t *target) Close() error {
	if t.pool != nil {
		t.pool.Close()
	}
	return nil
}

// Abort drops the database if this import created it; otherwise it drops
// the tables, enum types and schemas the import created, leaving the
// database as empty as it was.
func (t *target) Abort(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	if t.created {
		if t.pool != nil {
			t.pool.Close()
		}
		return t.dropCreated(ctx)
	}
	t.mu.Lock()
	made, types, schemas := t.made, t.madeTypes, t.madeSch
	t.made, t.madeTypes, t.madeSch = nil, nil, nil
	t.mu.Unlock()
	var stmts []string
	if len(made) > 0 {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+strings.Join(made, ", ")+" CASCADE")
	}
	for _, ty := range types {
		stmts = append(stmts, "DROP TYPE IF EXISTS "+ty+" CASCADE")
	}
	for _, s := range schemas {
		stmts = append(stmts, "DROP SCHEMA IF EXISTS "+quoteIdent(s)+" CASCADE")
	}
	for _, s := range stmts {
		if _, err := t.pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("undo import into %q: %w", t.name, err)
		}
	}
	return nil
}

func (t *target) dropCreated(ctx context.Context) error {
	conn, err := connect(ctx, t.cfg, DefaultMaintenanceDB)
	if err != nil {
		return fmt.Errorf("undo import: %w", err)
	}
	defer conn.Close(ctx)
	if err := dropDatabase(ctx, conn, t.name); err != nil {
		return fmt.Errorf("undo import: %w", err)
	}
	t.created = false
	return nil
}

// truncateIdent cuts a name to the bytes PostgreSQL keeps of it.
func truncateIdent(name string) string {
	if len(name) <= maxIdent {
		return name
	}
	cut := maxIdent
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut]
}
