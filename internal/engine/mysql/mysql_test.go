package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// serverDSN is the test server: BACPORT_TEST_MYSQL, or the CI MariaDB.
func serverDSN() string {
	if v := os.Getenv("BACPORT_TEST_MYSQL"); v != "" {
		return v
	}
	return "mysql://root@127.0.0.1:3306/"
}

// needServer skips (or, in CI, fails) when the server does not answer.
func needServer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := New().Ping(ctx, engine.Config{DSN: serverDSN()})
	if errors.Is(err, engine.ErrUnreachable) {
		testenv.Missing(t, "a MySQL/MariaDB server at "+redact(serverDSN()),
			"run .ci/services.sh or set BACPORT_TEST_MYSQL=mysql://user:pass@host:port/")
	}
	if err != nil {
		t.Fatalf("ping test server: %v", err)
	}
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(malformed DSN)"
	}
	return u.Redacted()
}

// newName returns a Config naming a database that does not exist yet;
// whatever is created under the name is dropped at cleanup.
func newName(t *testing.T) engine.Config {
	t.Helper()
	needServer(t)
	var b [5]byte
	rand.Read(b[:])
	cfg := engine.Config{DSN: serverDSN(), Database: "bacport_test_" + hex.EncodeToString(b[:])}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := New().DropDatabase(ctx, cfg); err != nil {
			t.Errorf("drop test database %s: %v", cfg.Database, err)
		}
	})
	return cfg
}

// newDatabase returns a Config of a fresh, empty database.
func newDatabase(t *testing.T) engine.Config {
	t.Helper()
	cfg := newName(t)
	exec(t, engine.Config{DSN: serverDSN()}, "CREATE DATABASE "+quoteIdent(cfg.Database))
	return cfg
}

// openDB opens a plain connection pool on cfg's database.
func openDB(t *testing.T, cfg engine.Config) *sql.DB {
	t.Helper()
	s, err := (&Driver{}).resolve(cfg)
	if err != nil {
		t.Fatalf("resolve %s: %v", redact(cfg.DSN), err)
	}
	db, err := s.open(s.database)
	if err != nil {
		t.Fatalf("open %s: %v", s.database, err)
	}
	return db
}

// exec runs one statement on cfg's database.
func exec(t *testing.T, cfg engine.Config, query string) {
	t.Helper()
	db := openDB(t, cfg)
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// queryString runs a one-value query.
func queryString(t *testing.T, cfg engine.Config, query string) string {
	t.Helper()
	db := openDB(t, cfg)
	defer db.Close()
	var s sql.NullString
	if err := db.QueryRowContext(t.Context(), query).Scan(&s); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return s.String
}

func TestDriver_Errors(t *testing.T) {
	ctx := t.Context()
	d := New()
	t.Run("WrongPassword", func(t *testing.T) {
		cfg := newDatabase(t)
		exec(t, engine.Config{DSN: serverDSN()}, "CREATE USER IF NOT EXISTS "+
			"'bacport_test'@'%' IDENTIFIED BY 'right-pass'")
		cfg.Login, cfg.Password = "bacport_test", "Wr0ng-pass-secret"
		err := d.Ping(ctx, cfg)
		if !errors.Is(err, engine.ErrAuth) {
			t.Fatalf("Ping with a wrong password: got %v, want ErrAuth", err)
		}
		if strings.Contains(err.Error(), cfg.Password) {
			t.Fatalf("error %q contains the password", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		cfg := engine.Config{DSN: "mysql://root:pw-secret@127.0.0.1:1/x"}
		err := d.Ping(ctx, cfg)
		if !errors.Is(err, engine.ErrUnreachable) {
			t.Fatalf("Ping of port 1: got %v, want ErrUnreachable", err)
		}
		if strings.Contains(err.Error(), "pw-secret") {
			t.Fatalf("error %q contains the password", err)
		}
	})
	t.Run("MissingDatabase", func(t *testing.T) {
		cfg := newName(t)
		if _, err := d.OpenSource(ctx, cfg); !errors.Is(err, engine.ErrNoDatabase) {
			t.Fatalf("OpenSource of a missing database: got %v, want ErrNoDatabase", err)
		}
		if _, err := d.OpenTarget(ctx, cfg, false); !errors.Is(err, engine.ErrNoDatabase) {
			t.Fatalf("OpenTarget of a missing database: got %v, want ErrNoDatabase", err)
		}
	})
	t.Run("Dial", func(t *testing.T) {
		needServer(t)
		refused := errors.New("no route through the gateway")
		cfg := engine.Config{DSN: serverDSN(),
			Dial: func(context.Context, string, string) (net.Conn, error) { return nil, refused }}
		if err := d.Ping(ctx, cfg); !errors.Is(err, engine.ErrUnreachable) {
			t.Fatalf("Ping through a refusing dialer: got %v, want ErrUnreachable", err)
		}
	})
}
