package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/bacport/bacport/internal/engine"
)

// rangesPerConn is how many key ranges per connection a large table is
// cut into by default.
const rangesPerConn = 4

// DefaultPort is the port a DSN without one connects to.
const DefaultPort = "3306"

// Driver is the MySQL/MariaDB engine. The zero value is ready to use.
type Driver struct {
	// Parallel is how many connections an export reads with and how many
	// tables an import may load at once; zero means the number of cores.
	// The DSN parameter "parallel" overrides it.
	Parallel int
	// OffsetToUTC chooses the documented lossy mapping for
	// datetimeoffset values with a non-zero offset: they are stored as
	// their UTC instant and the offset is dropped. Without it such a value
	// fails the import. The DSN parameter "datetimeoffset=utc" sets it,
	// and so does engine.Config.Lossy (which turns on both mappings).
	OffsetToUTC bool
	// TruncateFractions chooses the documented lossy mapping for the
	// 100-nanosecond digit of time(7), datetime2(7) and datetimeoffset(7)
	// values, which MySQL (microseconds at most) cannot hold: the digit is
	// dropped. Without it such a value fails the import. The DSN parameter
	// "fraction=truncate" sets it, and so does engine.Config.Lossy.
	TruncateFractions bool
	// SplitBytes is the table size above which an export reads a table
	// with a single-column integer primary key in key ranges on several
	// connections; zero means DefaultSplitBytes, negative never splits.
	SplitBytes int64
	// SplitParts is how many key ranges such a table is cut into; zero
	// means 4 per reading connection ("parallel").
	SplitParts int
}

// New returns the MySQL/MariaDB driver.
func New() engine.Driver { return &Driver{} }

func init() { engine.Register(New()) }

// Schemes lists the DSN schemes besides "mysql" the driver answers to.
func (d *Driver) Schemes() []string { return []string{"mariadb"} }

// Name returns "mysql", the DSN scheme.
func (d *Driver) Name() string { return "mysql" }

// settings is a Config resolved against the DSN.
type settings struct {
	addr        string
	user        string
	password    string
	database    string
	parallel    int
	offsetToUTC bool
	truncate    bool
	splitBytes  int64
	splitParts  int
	tls         string
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
}

// resolve parses cfg.DSN ("mysql://user:pass@host:port/db?param=value") and
// applies the Config overrides.
func (d *Driver) resolve(cfg engine.Config) (*settings, error) {
	u, err := url.Parse(cfg.DSN)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return nil, errors.New("parse mysql dsn: malformed URL")
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return nil, fmt.Errorf("parse mysql dsn: scheme %q is not mysql", u.Scheme)
	}
	s := &settings{
		addr:        u.Host,
		user:        "root",
		parallel:    d.Parallel,
		offsetToUTC: d.OffsetToUTC || cfg.Lossy,
		truncate:    d.TruncateFractions || cfg.Lossy,
		splitBytes:  d.SplitBytes,
		splitParts:  d.SplitParts,
		dial:        cfg.Dial,
	}
	if s.addr == "" {
		s.addr = "127.0.0.1"
	}
	if u.Port() == "" {
		s.addr = net.JoinHostPort(strings.Trim(s.addr, "[]"), DefaultPort)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	s.database = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if v := q.Get("parallel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("parse mysql dsn: parallel=%q is not a positive number", v)
		}
		s.parallel = n
	}
	switch v := q.Get("lossy"); v {
	case "":
	case "true", "1":
		s.offsetToUTC, s.truncate = true, true
	case "false", "0":
	default:
		return nil, fmt.Errorf("parse mysql dsn: lossy=%q is not true or false", v)
	}
	switch v := q.Get("datetimeoffset"); v {
	case "":
	case "utc":
		s.offsetToUTC = true
	case "strict":
		s.offsetToUTC = false
	default:
		return nil, fmt.Errorf("parse mysql dsn: datetimeoffset=%q is not utc or strict", v)
	}
	switch v := q.Get("fraction"); v {
	case "":
	case "truncate":
		s.truncate = true
	case "strict":
		s.truncate = false
	default:
		return nil, fmt.Errorf("parse mysql dsn: fraction=%q is not truncate or strict", v)
	}
	s.tls = q.Get("tls")
	if cfg.Login != "" {
		s.user = cfg.Login
	}
	if cfg.Password != "" {
		s.password = cfg.Password
	}
	if cfg.Database != "" {
		s.database = cfg.Database
	}
	if s.parallel <= 0 {
		s.parallel = runtime.NumCPU()
	}
	if s.splitParts <= 0 {
		// More ranges than connections, so that connections freed by
		// smaller tables share the tail of a large one.
		s.splitParts = rangesPerConn * s.parallel
	}
	return s, nil
}

// sessionMode is the sql_mode of every connection: strict, so a value the
// column cannot hold is an error rather than a silent truncation, and
// NO_AUTO_VALUE_ON_ZERO so a loaded 0 in an AUTO_INCREMENT column stays 0.
const sessionMode = "'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION," +
	"ERROR_FOR_DIVISION_BY_ZERO'"

// open returns a pool on database db ("" for none).
func (s *settings) open(db string) (*sql.DB, error) {
	c := gomysql.NewConfig()
	c.Net = "tcp"
	c.Addr = s.addr
	c.User = s.user
	c.Passwd = s.password
	c.DBName = db
	c.InterpolateParams = true
	c.Timeout = 15 * time.Second
	c.Params = map[string]string{
		"time_zone": "'+00:00'",
		"sql_mode":  sessionMode,
	}
	if s.tls != "" {
		c.TLSConfig = s.tls
	}
	c.DialFunc = bufferedDial(s.dial)
	conn, err := gomysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("configure mysql connection to %s: %w", s.addr, err)
	}
	pool := sql.OpenDB(conn)
	pool.SetConnMaxIdleTime(time.Minute)
	return pool, nil
}

// connect opens a pool and checks it with a ping, classifying the error.
func (s *settings) connect(ctx context.Context, db string) (*sql.DB, error) {
	pool, err := s.open(db)
	if err != nil {
		return nil, err
	}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, s.classify(db, err)
	}
	return pool, nil
}

// MySQL error numbers the driver branches on.
const (
	errDBAccessDenied  = 1044
	errAccessDenied    = 1045
	errBadDB           = 1049
	errDBCreateExists  = 1007
	errTooLongKey      = 1071
	errBlobKeyNoLength = 1170
	errRowSizeTooLarge = 1118
	errAccessDenied2   = 1698
)

// classify wraps a connection error with the engine sentinel it means.
func (s *settings) classify(db string, err error) error {
	where := "connect to mysql server " + s.addr + " as " + strconv.Quote(s.user)
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case errAccessDenied, errAccessDenied2, errDBAccessDenied:
			return fmt.Errorf("%s: %w: %s", where, engine.ErrAuth, me.Message)
		case errBadDB:
			return fmt.Errorf("%s: database %q: %w", where, db, engine.ErrNoDatabase)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", where, err)
	}
	// Anything else before the handshake completes is a network failure:
	// refused, timed out, no route, or a dialer that declined.
	return fmt.Errorf("%s: %w: %v", where, engine.ErrUnreachable, err)
}

// Ping checks that the server is reachable, accepts the login and, when
// one is named, has the database.
func (d *Driver) Ping(ctx context.Context, cfg engine.Config) error {
	s, err := d.resolve(cfg)
	if err != nil {
		return err
	}
	pool, err := s.connect(ctx, s.database)
	if err != nil {
		return err
	}
	return pool.Close()
}

// Databases lists the databases on the server, without the system ones.
func (d *Driver) Databases(ctx context.Context, cfg engine.Config) ([]string, error) {
	s, err := d.resolve(cfg)
	if err != nil {
		return nil, err
	}
	pool, err := s.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
		WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys')
		ORDER BY SCHEMA_NAME`)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return names, nil
}

// DropDatabase drops the database; a missing one is no error.
func (d *Driver) DropDatabase(ctx context.Context, cfg engine.Config) error {
	s, err := d.resolve(cfg)
	if err != nil {
		return err
	}
	if s.database == "" {
		return errors.New("drop database: the DSN names no database")
	}
	pool, err := s.connect(ctx, "")
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(s.database)); err != nil {
		return fmt.Errorf("drop database %q: %w", s.database, err)
	}
	return nil
}

// quoteIdent quotes a MySQL identifier with backquotes.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// quoteString quotes a string literal for MySQL, escaping backslashes too
// because the default sql_mode treats them as escapes.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
