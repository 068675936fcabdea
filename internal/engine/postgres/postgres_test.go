package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/testenv"
)

// serverDSN is the test server: BACPORT_TEST_POSTGRES or the CI default.
func serverDSN() string {
	if dsn := os.Getenv("BACPORT_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres"
}

// server returns the test server's Config (no database), skipping the test
// when the server does not answer.
func server(t *testing.T) engine.Config {
	t.Helper()
	cfg := engine.Config{DSN: serverDSN()}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := New().Ping(ctx, cfg); err != nil {
		testenv.Missing(t, "PostgreSQL at "+redactDSN(cfg.DSN)+" ("+err.Error()+")",
			"start it (.ci/services.sh) or set BACPORT_TEST_POSTGRES")
	}
	return cfg
}

func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured server"
	}
	return u.Redacted()
}

// newName returns a Config for a database that does not exist, dropped at
// cleanup whatever the test made of it.
func newName(t *testing.T) engine.Config {
	t.Helper()
	cfg := server(t)
	var b [6]byte
	rand.Read(b[:])
	cfg.Database = "bacport_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := New().DropDatabase(ctx, cfg); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return cfg
}

// newDatabase creates an empty database for the test.
func newDatabase(t *testing.T) engine.Config {
	t.Helper()
	cfg := newName(t)
	admin := cfg
	admin.Database = DefaultMaintenanceDB
	execSQL(t, admin, "CREATE DATABASE "+quoteIdent(cfg.Database))
	return cfg
}

// execSQL runs one statement on its own connection.
func execSQL(t *testing.T, cfg engine.Config, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	conn, err := connect(ctx, cfg, "")
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// query runs a query and returns its rows as text.
func query(t *testing.T, cfg engine.Config, sql string, args ...any) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	conn, err := connect(ctx, cfg, "")
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, sql, append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)...)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	var out [][]string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, r := range raw {
			if r == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(r)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return out
}
