// Package engine moves data between a live database and a BACPAC package.
// Each database engine (SQLite, PostgreSQL, MySQL/MariaDB) is a Driver in its
// own sub-package; this package holds the interface they share, the
// engine-independent export and import pipelines built on it, and the
// conformance suite every driver passes (engine/enginetest).
//
// Drivers describe their columns in SQL Server terms (bacpac.Type) and
// record their exact source type in the column extended property
// bacpac.SourceTypeProperty, so a round trip through the same engine is
// lossless while other engines get the documented mapping.
package engine

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/bacport/bacport/internal/bacpac"
)

// Config says how to reach one database on an engine.
type Config struct {
	// DSN locates the server (or, for SQLite, the directory or file):
	// "sqlite:///path/db.sqlite", "postgres://host:port/db",
	// "mysql://host:port/db". The DSN may name a database; Database, when
	// set, takes precedence.
	DSN      string
	Database string
	// Login and Password are the administrator credentials. They are never
	// included in errors or logs.
	Login    string
	Password string
	// Dial, when set, is used for every network connection the driver
	// makes, so that private endpoints can decide whether a route exists.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OpenFile, when set, is called before a file-based engine (SQLite)
	// opens a database file; an error refuses the open. It plays the part
	// Dial plays for network engines.
	OpenFile func(ctx context.Context, path string) error
	// Lossy lets an import use the target engine's documented lossy
	// mappings (each driver's package doc lists them, e.g. a
	// datetimeoffset kept as its UTC instant) instead of failing with a
	// *ValueError on the first value a mapping would change. Off by
	// default: an import either holds every value exactly or fails.
	Lossy bool
}

// Driver is one database engine.
//
// Errors: methods return errors wrapping ErrAuth, ErrUnreachable,
// ErrNoDatabase, ErrDatabaseExists or ErrNotEmpty where those apply, so
// callers can branch on them; error text never contains the password.
type Driver interface {
	// Name is the DSN scheme: "sqlite", "postgres" or "mysql".
	Name() string
	// Ping checks that the server is reachable and accepts the credentials.
	Ping(ctx context.Context, cfg Config) error
	// OpenSource opens the database for export, starting one consistent
	// snapshot that every later read of the Source sees.
	OpenSource(ctx context.Context, cfg Config) (Source, error)
	// OpenTarget opens a database to import into. With create it creates
	// the database, failing with ErrDatabaseExists if it exists; without,
	// the database must exist and hold no tables (ErrNotEmpty).
	OpenTarget(ctx context.Context, cfg Config, create bool) (Target, error)
	// Databases lists the user databases on the server.
	Databases(ctx context.Context, cfg Config) ([]string, error)
	// DropDatabase drops a database. Dropping a missing one is no error.
	DropDatabase(ctx context.Context, cfg Config) error
}

// Source is a database opened for export at one snapshot.
type Source interface {
	// Model returns the schema, with every column described in SQL Server
	// terms and its exact source type recorded as an extended property.
	Model(ctx context.Context) (*bacpac.Model, error)
	// Rows streams the rows of one table, calling fn once per row with a
	// value per data column (see bacpac's row value types). The slice is
	// reused between calls. Rows may be called for several tables at once.
	Rows(ctx context.Context, t *bacpac.Table, fn func(row []any) error) error
	// Close ends the snapshot.
	Close() error
}

// TableFinisher is implemented by targets that can add a table's own
// keys, indexes and constraints as soon as it is loaded, while other
// tables still load, as pg_restore -j does: the import calls FinishTable
// after each table's load, and Finish then adds only what spans tables
// (foreign keys) and what is left.
type TableFinisher interface {
	FinishTable(ctx context.Context, t *bacpac.Table) error
}

// RawLoader is a Target that can also load a table from undecoded rows
// and transcode the common types straight from the package's stored bytes
// (see bacpac.Rows.NextRaw). The import uses LoadRaw when a target has it.
type RawLoader interface {
	// LoadRaw is Load, fed by rows.
	LoadRaw(ctx context.Context, t *bacpac.Table, rows RawRows) (int64, error)
}

// RawRows is a table's rows as the package stores them.
type RawRows interface {
	// Next returns the next row's stored values (nil for NULL), valid
	// until the next call, or io.EOF after the last row.
	Next() ([][]byte, error)
	// Kinds says how each value is stored.
	Kinds() []bacpac.StoredKind
	// Decode turns value i of the current row into the Go value Load
	// would have received.
	Decode(i int, b []byte) (any, error)
}

// Target is a database opened for import.
type Target interface {
	// CreateTables creates every table of the model with its columns, but
	// without keys, indexes or constraints, so loading is fast.
	CreateTables(ctx context.Context, m *bacpac.Model) error
	// Load bulk-loads one table from rows; next returns io.EOF after the
	// last row. Load may be called for several tables at once. A value the
	// target cannot hold exactly fails with a *ValueError.
	Load(ctx context.Context, t *bacpac.Table, next func() ([]any, error)) (int64, error)
	// Finish adds primary keys, indexes and constraints, and moves identity
	// and sequence values past the loaded maximum. It returns what could
	// not be carried over.
	Finish(ctx context.Context, m *bacpac.Model) ([]Skipped, error)
	// Abort undoes the import: a database OpenTarget created is dropped,
	// an existing one is emptied again. It is safe after a partial load.
	Abort(ctx context.Context) error
	// Close releases the connection.
	Close() error
}

// Omitter is implemented by sources whose schema holds objects the model
// cannot describe in SQL Server terms (a check whose expression has no
// T-SQL form, an expression index). They travel in the driver's own
// extended properties, so an import into the same engine restores them,
// but other engines never see them; Export lists them in
// ExportReport.Omitted so that is not silent. Call it after Model.
type Omitter interface {
	Omitted() []Skipped
}

// Skipped is an object or feature of the package that the target cannot
// express, with the reason. Import reports list them; nothing is dropped
// silently.
type Skipped struct {
	Kind   string // e.g. "SqlView", "check constraint"
	Name   string
	Reason string
}

// Sentinel errors drivers wrap.
var (
	ErrAuth           = errors.New("login failed")
	ErrUnreachable    = errors.New("server unreachable")
	ErrNoDatabase     = errors.New("database does not exist")
	ErrDatabaseExists = errors.New("database already exists")
	ErrNotEmpty       = errors.New("database is not empty")
	ErrNotSupported   = errors.New("not supported")
	// ErrLossy is wrapped by a *ValueError whose value one of the
	// target's documented lossy mappings would accept (Config.Lossy), so
	// callers can say that the option exists.
	ErrLossy = errors.New("only a documented lossy mapping holds this value")
)

// ValueError reports a value the target cannot hold exactly.
type ValueError struct {
	Table  string
	Column string
	Row    int64 // 1-based row number within the table
	Err    error
}

func (e *ValueError) Error() string {
	return "table " + e.Table + " column " + e.Column + " row " +
		strconv.FormatInt(e.Row, 10) + ": " + e.Err.Error()
}

func (e *ValueError) Unwrap() error { return e.Err }
