package mysql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/bacport/bacport/internal/engine"
)

// A login without the RELOAD privilege cannot take the global read lock
// that lines up several snapshot connections, as on most managed MySQL
// services: the export still works, through one connection.
func TestOpenSource_WithoutReload(t *testing.T) {
	cfg := newDatabase(t)
	exec(t, cfg, "CREATE TABLE a (id int NOT NULL PRIMARY KEY, v varchar(10))")
	exec(t, cfg, "INSERT INTO a VALUES (1, 'x'), (2, 'y')")
	var b [4]byte
	rand.Read(b[:])
	user := "bacport_ro_" + hex.EncodeToString(b[:])
	admin := engine.Config{DSN: serverDSN()}
	exec(t, admin, "CREATE USER '"+user+"'@'%' IDENTIFIED BY 'Ro-pass-1'")
	t.Cleanup(func() {
		db := openDB(t, admin)
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP USER '"+user+"'@'%'"); err != nil {
			t.Errorf("drop test user: %v", err)
		}
	})
	exec(t, admin, "GRANT SELECT, SHOW VIEW ON "+quoteIdent(cfg.Database)+".* TO '"+user+"'@'%'")

	ro := cfg
	ro.Login, ro.Password = user, "Ro-pass-1"
	ro.DSN += "?parallel=4"
	s, err := New().OpenSource(t.Context(), ro)
	if err != nil {
		t.Fatalf("OpenSource without RELOAD: %v", err)
	}
	defer s.Close()
	if n := cap(s.(*source).conns); n != 1 {
		t.Errorf("snapshot has %d connections without RELOAD; want 1", n)
	}
	m, err := s.Model(t.Context())
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	var rows int
	if err := s.Rows(t.Context(), m.Tables[0], func([]any) error { rows++; return nil }); err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if rows != 2 {
		t.Errorf("read %d rows, want 2", rows)
	}
}
