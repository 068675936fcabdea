package engine_test

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/sqlite"
)

// meetSource makes Rows calls wait for each other: each call blocks until
// want calls are inside at once, so an export that reads fewer tables at
// a time than want never gets past the first table.
type meetSource struct {
	engine.Source
	want int

	mu      sync.Mutex
	inside  int
	peak    int
	arrived chan struct{}
	once    sync.Once
}

func (s *meetSource) Rows(ctx context.Context, t *bacpac.Table, fn func([]any) error) error {
	s.mu.Lock()
	s.inside++
	s.peak = max(s.peak, s.inside)
	if s.inside == s.want {
		s.once.Do(func() { close(s.arrived) })
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inside--
		s.mu.Unlock()
	}()
	select {
	case <-s.arrived:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Source.Rows(ctx, t, fn)
}

func sqliteWithTables(t *testing.T, n int) engine.Config {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		name := string(rune('a' + i))
		for _, q := range []string{
			"CREATE TABLE " + name + " (id INTEGER PRIMARY KEY, v TEXT)",
			"INSERT INTO " + name + " VALUES (1, 'x'), (2, 'y')",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("exec %q: %v", q, err)
			}
		}
	}
	return engine.Config{DSN: "sqlite://" + dir, Database: "db"}
}

// Export reads as many tables at once as Parallel says.
func TestExport_ReadsTablesInParallel(t *testing.T) {
	cfg := sqliteWithTables(t, 4)
	src, err := sqlite.New().OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ms := &meetSource{Source: src, want: 3, arrived: make(chan struct{})}
	// The deadline only ends a hang: a sequential export never has three
	// tables inside Rows at once.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rep, err := engine.Export(ctx, ms, io.Discard, engine.ExportOptions{Parallel: 3, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Export with Parallel 3: %v (tables were not read three at a time)", err)
	}
	if ms.peak != 3 || rep.Rows != 8 {
		t.Errorf("peak concurrent tables %d, rows %d; want 3 and 8", ms.peak, rep.Rows)
	}
}

// Parallel 1 reads one table at a time.
func TestExport_ParallelOne(t *testing.T) {
	cfg := sqliteWithTables(t, 3)
	src, err := sqlite.New().OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ms := &meetSource{Source: src, want: 1, arrived: make(chan struct{})}
	if _, err := engine.Export(t.Context(), ms, io.Discard, engine.ExportOptions{Parallel: 1, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if ms.peak != 1 {
		t.Errorf("Parallel 1 read %d tables at once", ms.peak)
	}
}
