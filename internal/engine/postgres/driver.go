package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bacport/bacport/internal/engine"
)

// Defaults the Driver applies when its fields are zero.
const (
	// DefaultSplitBytes is the heap size above which an export reads a
	// table in several block ranges at once.
	DefaultSplitBytes = 256 << 20
	// DefaultMaintenanceDB is the database connected to for CREATE and
	// DROP DATABASE and for listing databases.
	DefaultMaintenanceDB = "postgres"
)

// Driver is the PostgreSQL engine. The zero value is ready to use.
type Driver struct {
	// SplitBytes is the heap size above which a table is exported in
	// block ranges read in parallel; zero means DefaultSplitBytes, a
	// negative value never splits.
	SplitBytes int64
	// SplitParts is how many ranges a large table is read in; zero means
	// the number of CPUs (at least 2).
	SplitParts int
	// Lossy allows the documented lossy import mappings (see the package
	// doc) instead of failing on the first value they would change, for
	// every import; engine.Config.Lossy allows them for one.
	Lossy bool
}

// New returns a PostgreSQL driver with default settings.
func New() engine.Driver { return &Driver{} }

// engineName is the driver's DSN scheme and the engine prefix of the
// source types it records.
const engineName = "postgres"

func init() { engine.Register(New()) }

// Name returns the DSN scheme, "postgres".
func (d *Driver) Name() string { return engineName }

// Schemes returns the other DSN scheme the driver answers to.
func (d *Driver) Schemes() []string { return []string{"postgresql"} }

func (d *Driver) splitParts() int {
	if d.SplitParts > 0 {
		return d.SplitParts
	}
	return max(2, runtime.NumCPU())
}

func (d *Driver) splitBytes() int64 {
	if d.SplitBytes == 0 {
		return DefaultSplitBytes
	}
	return d.SplitBytes
}

// connConfig builds the pgx configuration for database db ("" means the
// one the Config names).
func connConfig(cfg engine.Config, db string) (*pgx.ConnConfig, error) {
	dsn := cfg.DSN
	if strings.HasPrefix(dsn, "postgresql://") {
		dsn = "postgres://" + strings.TrimPrefix(dsn, "postgresql://")
	}
	if !strings.HasPrefix(dsn, "postgres://") {
		return nil, fmt.Errorf("parse dsn: want a postgres:// URL")
	}
	dsn, _, err := cutLossy(dsn)
	if err != nil {
		return nil, err
	}
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// Not wrapped: the parse error carries the raw connection string.
		return nil, fmt.Errorf("parse dsn: %s", scrub(err, dsnPassword(dsn)).Error())
	}
	if cfg.Login != "" {
		pc.User = cfg.Login
	}
	if cfg.Password != "" {
		pc.Password = cfg.Password
	}
	switch {
	case db != "":
		pc.Database = db
	case cfg.Database != "":
		pc.Database = cfg.Database
	}
	if cfg.Dial != nil {
		pc.DialFunc = cfg.Dial
		// The dialer decides routes by host name, so pgx must not resolve
		// the name to addresses first.
		pc.LookupFunc = func(_ context.Context, host string) ([]string, error) {
			return []string{host}, nil
		}
	}
	pc.RuntimeParams["application_name"] = "bacport"
	return pc, nil
}

// cutLossy removes bacport's own DSN parameter lossy=true|false (which
// PostgreSQL would refuse as an unknown setting) and reports its value, so
// a server's DSN can choose the documented lossy mappings for every
// import into it.
func cutLossy(dsn string) (string, bool, error) {
	base, query, ok := strings.Cut(dsn, "?")
	if !ok || !strings.Contains(query, "lossy=") {
		return dsn, false, nil
	}
	var keep []string
	lossy := false
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "lossy" {
			keep = append(keep, kv)
			continue
		}
		switch v {
		case "true", "1":
			lossy = true
		case "false", "0":
			lossy = false
		default:
			return "", false, fmt.Errorf("parse dsn: lossy=%q is not true or false", v)
		}
	}
	if len(keep) == 0 {
		return base, lossy, nil
	}
	return base + "?" + strings.Join(keep, "&"), lossy, nil
}

func dsnPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// databaseName returns the database the Config names.
func databaseName(cfg engine.Config) (string, error) {
	pc, err := connConfig(cfg, "")
	if err != nil {
		return "", err
	}
	if pc.Database == "" {
		return "", fmt.Errorf("locate database: the DSN names no database")
	}
	return pc.Database, nil
}

// connect opens one connection to database db ("" means the Config's),
// classifying failures as engine sentinels.
func connect(ctx context.Context, cfg engine.Config, db string) (*pgx.Conn, error) {
	pc, err := connConfig(cfg, db)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, classify(err, pc)
	}
	return conn, nil
}

// classify maps a connection error to the engine sentinels, with a
// message naming the server, login and database but never the password.
func classify(err error, pc *pgx.ConnConfig) error {
	where := fmt.Sprintf("connect to postgres at %s as %q database %q",
		net.JoinHostPort(pc.Host, fmt.Sprint(pc.Port)), pc.User, pc.Database)
	err = scrub(err, pc.Password)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return fmt.Errorf("%s: %w: %s", where, engine.ErrAuth, pgErr.Message)
		case "3D000":
			return fmt.Errorf("%s: %w", where, engine.ErrNoDatabase)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %w", where, engine.ErrUnreachable, err)
}

// scrub removes the password from an error's text, keeping the chain.
func scrub(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{err: err, password: password}
}

type scrubbed struct {
	err      error
	password string
}

func (s *scrubbed) Error() string {
	return strings.ReplaceAll(s.err.Error(), s.password, "********")
}

func (s *scrubbed) Unwrap() error { return s.err }

// Ping checks that the server is reachable, accepts the login and has the
// database the Config names (the maintenance database when it names none).
func (d *Driver) Ping(ctx context.Context, cfg engine.Config) error {
	db := ""
	if pc, err := connConfig(cfg, ""); err != nil {
		return err
	} else if pc.Database == "" {
		db = DefaultMaintenanceDB
	}
	conn, err := connect(ctx, cfg, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Databases lists the databases that accept connections, templates and
// the maintenance database excepted.
func (d *Driver) Databases(ctx context.Context, cfg engine.Config) ([]string, error) {
	conn, err := connect(ctx, cfg, DefaultMaintenanceDB)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_catalog.pg_database
		WHERE NOT datistemplate AND datallowconn AND datname <> $1 ORDER BY datname`,
		DefaultMaintenanceDB)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return names, nil
}

// DropDatabase drops the database the Config names, ending its sessions.
func (d *Driver) DropDatabase(ctx context.Context, cfg engine.Config) error {
	name, err := databaseName(cfg)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, cfg, DefaultMaintenanceDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return dropDatabase(ctx, conn, name)
}

func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)")
	if err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a PostgreSQL string literal (standard strings on).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func qualified(schema, name string) string {
	return quoteIdent(schema) + "." + quoteIdent(name)
}
