package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	// The pure-Go SQLite driver, registered with database/sql as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/bacport/bacport/internal/engine"
)

// Name is the engine name and DSN scheme.
const Name = "sqlite"

// Ext is the file extension of a database in a server directory.
const Ext = ".sqlite"

func init() { engine.Register(New()) }

// Driver is the SQLite engine.
type Driver struct{}

// New returns the SQLite driver.
func New() *Driver { return &Driver{} }

// Name returns "sqlite".
func (*Driver) Name() string { return Name }

// location is where a Config points: the server directory and the
// database file inside it.
type location struct {
	dir  string
	path string
	name string // database name: the file name without Ext
}

// locate resolves a Config. A DSN path with Database set is the server
// directory; without, it is the database file itself.
func locate(cfg engine.Config) (location, error) {
	rest, ok := strings.CutPrefix(cfg.DSN, Name+":")
	if !ok {
		return location{}, fmt.Errorf("parse DSN: want sqlite:///path")
	}
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return location{}, fmt.Errorf("parse DSN: query parameters are not supported")
	}
	p, err := url.PathUnescape(rest)
	if err != nil || p == "" {
		return location{}, fmt.Errorf("parse DSN: want sqlite:///path")
	}
	p = filepath.Clean(p)
	if cfg.Database == "" {
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		return location{dir: filepath.Dir(p), path: p, name: name}, nil
	}
	if err := checkName(cfg.Database); err != nil {
		return location{}, err
	}
	return location{
		dir:  p,
		path: filepath.Join(p, cfg.Database+Ext),
		name: cfg.Database,
	}, nil
}

// checkName refuses database names that are not plain file names.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 128 ||
		strings.ContainsAny(name, `/\:`+"\x00") {
		return fmt.Errorf("database name %q: not a plain file name", name)
	}
	return nil
}

// gate asks the private-link gate, when there is one, whether the file
// may be opened.
func gate(ctx context.Context, cfg engine.Config, path string) error {
	if cfg.OpenFile == nil {
		return nil
	}
	if err := cfg.OpenFile(ctx, path); err != nil {
		return fmt.Errorf("open database file %s: %w: %w", path, engine.ErrUnreachable, err)
	}
	return nil
}

// checkDir fails with ErrUnreachable when the server directory is missing.
func checkDir(loc location) error {
	st, err := os.Stat(loc.dir)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("open server directory %s: %w", loc.dir, engine.ErrUnreachable)
	}
	return nil
}

// existing resolves cfg to a database file that must exist.
func existing(ctx context.Context, cfg engine.Config) (location, error) {
	loc, err := locate(cfg)
	if err != nil {
		return loc, err
	}
	if err := checkDir(loc); err != nil {
		return loc, err
	}
	if err := gate(ctx, cfg, loc.path); err != nil {
		return loc, err
	}
	st, err := os.Stat(loc.path)
	if errors.Is(err, fs.ErrNotExist) {
		return loc, fmt.Errorf("open database %q: %w", loc.name, engine.ErrNoDatabase)
	}
	if err != nil {
		return loc, fmt.Errorf("open database %q: %w", loc.name, err)
	}
	if st.IsDir() {
		return loc, fmt.Errorf("open database %q: %s is a directory", loc.name, loc.path)
	}
	return loc, nil
}

// Ping checks that the server directory and, when the Config names one,
// the database file exist. SQLite has no logins: bacport checks the
// administrator credentials before it calls the driver.
func (*Driver) Ping(ctx context.Context, cfg engine.Config) error {
	loc, err := locate(cfg)
	if err != nil {
		return err
	}
	if err := checkDir(loc); err != nil {
		return err
	}
	if cfg.Database == "" && !strings.HasSuffix(cfg.DSN, "/") {
		_, err := existing(ctx, cfg)
		return err
	}
	return nil
}

// Databases lists the databases of the server directory: its *.sqlite
// files, by name without the extension.
func (*Driver) Databases(ctx context.Context, cfg engine.Config) ([]string, error) {
	loc, err := locate(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDir(loc); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(loc.dir)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), Ext); ok && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// DropDatabase removes the database file with its journal files.
func (*Driver) DropDatabase(ctx context.Context, cfg engine.Config) error {
	loc, err := locate(cfg)
	if err != nil {
		return err
	}
	if err := gate(ctx, cfg, loc.path); err != nil {
		return err
	}
	return removeFiles(loc.path)
}

func removeFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop database file: %w", err)
		}
	}
	return nil
}

// open opens a database/sql handle on the file. mode is "ro", "rw" or
// "rwc" (create). Foreign keys are off: the export reads, and the import
// loads tables in any order.
func open(path, mode string, conns int) (*sql.DB, error) {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path}
	q := url.Values{}
	q.Set("mode", mode)
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "foreign_keys(0)")
	dsn := u.String() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database file: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// quote quotes an identifier for SQLite.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteText quotes a string literal for SQLite.
func quoteText(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
