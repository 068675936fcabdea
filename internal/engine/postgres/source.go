package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// Extended properties bacport writes so that an import into PostgreSQL
// restores what SQL Server terms cannot say. Column properties:
const (
	// PropDefault holds a column's exact PostgreSQL default expression.
	PropDefault = "bacport_source_default"
	// PropIdentity is "a" (GENERATED ALWAYS) or "d" (BY DEFAULT) for an
	// identity column; serial columns have none.
	PropIdentity = "bacport_source_identity"
	// PropEnum holds the labels of a column's enum type as a PostgreSQL
	// array literal, so the type can be created on import.
	PropEnum = "bacport_source_enum"
	// PropEnumType names that enum type (schema-qualified).
	PropEnumType = "bacport_source_enum_type"
	// PropDomain names the domain a column was declared with; the domain
	// itself is not recreated.
	PropDomain = "bacport_source_domain"
	// PropGenerated holds a stored generated column's PostgreSQL
	// expression.
	PropGenerated = "bacport_source_generated"
)

// Table properties are PropConstraintPrefix+name (a pg_get_constraintdef
// text) and PropIndexPrefix+name (a pg_get_indexdef text).
const (
	PropConstraintPrefix = "bacport_source_constraint:"
	PropIndexPrefix      = "bacport_source_index:"
)

// source is a database opened for export. conn holds the transaction whose
// snapshot every worker connection imports.
type source struct {
	d        *Driver
	cfg      engine.Config
	snapshot string
	version  int // server_version_num

	mu     sync.Mutex // guards conn, model, tables, idle, closed
	conn   *pgx.Conn
	model  *bacpac.Model
	tables map[*bacpac.Table]*tableInfo
	byName map[[2]string]*tableInfo
	idle   []*pgx.Conn
	closed bool
	// omitted is what the model could not describe (engine.Omitter).
	omitted []engine.Skipped
}

// sessionSetup fixes the settings that decide text forms and name
// qualification: with search_path at pg_catalog, format_type and
// pg_get_*def qualify every user object with its schema.
const sessionSetup = `SET search_path = pg_catalog; SET DateStyle = ISO;
SET IntervalStyle = iso_8601; SET extra_float_digits = 3; SET TimeZone = 'UTC';
SET bytea_output = hex; SET client_encoding = 'UTF8'`

// OpenSource connects and starts a REPEATABLE READ READ ONLY transaction
// whose exported snapshot every later read shares.
func (d *Driver) OpenSource(ctx context.Context, cfg engine.Config) (engine.Source, error) {
	if _, err := databaseName(cfg); err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cfg, "")
	if err != nil {
		return nil, err
	}
	s := &source{d: d, cfg: cfg, conn: conn}
	if err := s.begin(ctx); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

func (s *source) begin(ctx context.Context) error {
	if _, err := s.conn.Exec(ctx, sessionSetup); err != nil {
		return fmt.Errorf("set up session: %w", err)
	}
	if _, err := s.conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	err := s.conn.QueryRow(ctx, `SELECT pg_export_snapshot(),
		current_setting('server_version_num')::int`).Scan(&s.snapshot, &s.version)
	if err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}
	return nil
}

// worker returns a connection whose transaction has imported the snapshot.
func (s *source) worker(ctx context.Context) (*pgx.Conn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("read rows: source is closed")
	}
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()

	c, err := connect(ctx, s.cfg, "")
	if err != nil {
		return nil, err
	}
	setup := sessionSetup + `; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET TRANSACTION SNAPSHOT ` + quoteLiteral(s.snapshot)
	if _, err := c.Exec(ctx, setup); err != nil {
		c.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("import snapshot: %w", err)
	}
	return c, nil
}

// release returns a worker connection for reuse, or closes it if it broke
// (an aborted COPY closes the connection).
func (s *source) release(c *pgx.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.IsClosed() || s.closed || c.PgConn().TxStatus() != 'T' {
		c.Close(context.Background())
		return
	}
	s.idle = append(s.idle, c)
}

// Close ends the snapshot and closes every connection.
func (s *source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ctx := context.Background()
	for _, c := range s.idle {
		c.Close(ctx)
	}
	s.idle = nil
	return s.conn.Close(ctx)
}

// Model reads the schema from pg_catalog within the snapshot. It is read
// once; later calls return the same model.
func (s *source) Model(ctx context.Context) (*bacpac.Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model != nil {
		return s.model, nil
	}
	if s.closed {
		return nil, errors.New("read schema: source is closed")
	}
	cat, err := readCatalog(ctx, s.conn)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	s.model, s.tables = cat.model()
	s.omitted = cat.omitted
	s.byName = make(map[[2]string]*tableInfo, len(s.tables))
	for t, ti := range s.tables {
		s.byName[[2]string{t.Schema, t.Name}] = ti
	}
	return s.model, nil
}

// Omitted lists the constraints and indexes the model could not describe
// in SQL Server terms; they travel in table properties for PostgreSQL
// imports only.
func (s *source) Omitted() []engine.Skipped {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Skipped(nil), s.omitted...)
}

// info finds the catalog details behind a model table, by identity or by
// name for a copy of the model.
func (s *source) info(ctx context.Context, t *bacpac.Table) (*tableInfo, error) {
	if _, err := s.Model(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tables[t]; ok {
		return ti, nil
	}
	if ti, ok := s.byName[[2]string{t.Schema, t.Name}]; ok {
		return ti, nil
	}
	return nil, fmt.Errorf("read rows of %s.%s: no such table", t.Schema, t.Name)
}
