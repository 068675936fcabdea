package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// secret is the password the suite sets, so it can check no error leaks it.
const secret = "Sw0rdfish-enginetest-7c1e"

func withSecret(cfg engine.Config) engine.Config {
	if cfg.Password == "" {
		cfg.Password = secret
	}
	return cfg
}

func noSecret(t *testing.T, err error, cfg engine.Config) {
	t.Helper()
	if err == nil {
		return
	}
	if cfg.Password != "" && strings.Contains(err.Error(), cfg.Password) {
		t.Errorf("error %q contains the password", err)
	}
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func testErrors(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	d := h.Driver

	t.Run("MissingDatabase", func(t *testing.T) {
		cfg := h.NewName(t)
		_, err := d.OpenSource(ctx, cfg)
		if !errors.Is(err, engine.ErrNoDatabase) {
			t.Fatalf("OpenSource of a missing database: got %v, want ErrNoDatabase", err)
		}
		noSecret(t, err, cfg)
		_, err = d.OpenTarget(ctx, cfg, false)
		if !errors.Is(err, engine.ErrNoDatabase) {
			t.Fatalf("OpenTarget(create=false) of a missing database: got %v, want ErrNoDatabase", err)
		}
		if names, err := d.Databases(ctx, cfg); err == nil {
			for _, n := range names {
				if n == cfg.Database && n != "" {
					t.Fatalf("Databases lists %q after failed opens", n)
				}
			}
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		if h.Unreachable == nil {
			t.Skip("the harness has no unreachable server")
		}
		cfg := withSecret(h.Unreachable(t))
		err := d.Ping(ctx, cfg)
		if !errors.Is(err, engine.ErrUnreachable) {
			t.Fatalf("Ping of an unreachable server: got %v, want ErrUnreachable", err)
		}
		noSecret(t, err, cfg)
		_, err = d.OpenSource(ctx, cfg)
		if !errors.Is(err, engine.ErrUnreachable) {
			t.Fatalf("OpenSource on an unreachable server: got %v, want ErrUnreachable", err)
		}
		noSecret(t, err, cfg)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		if h.WrongPassword == nil {
			t.Skip("the engine checks no passwords itself")
		}
		cfg := h.WrongPassword(t, h.NewDatabase(t))
		err := d.Ping(ctx, cfg)
		if !errors.Is(err, engine.ErrAuth) {
			t.Fatalf("Ping with a wrong password: got %v, want ErrAuth", err)
		}
		noSecret(t, err, cfg)
		_, err = d.OpenSource(ctx, cfg)
		if !errors.Is(err, engine.ErrAuth) {
			t.Fatalf("OpenSource with a wrong password: got %v, want ErrAuth", err)
		}
		noSecret(t, err, cfg)
	})
}

func testCreateRefusesExisting(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	cfg := h.NewDatabase(t)
	tgt, err := h.Driver.OpenTarget(ctx, cfg, true)
	if err == nil {
		tgt.Close()
	}
	if !errors.Is(err, engine.ErrDatabaseExists) {
		t.Fatalf("OpenTarget(create=true) of an existing database: got %v, want ErrDatabaseExists", err)
	}
}

func testRefuseNotEmpty(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	cfg := h.NewDatabase(t)
	h.Exec(t, cfg, "CREATE TABLE occupied (id integer PRIMARY KEY)")
	tgt, err := h.Driver.OpenTarget(ctx, cfg, false)
	if err == nil {
		tgt.Close()
	}
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("OpenTarget of a database with a table: got %v, want ErrNotEmpty", err)
	}
	// The refusal must not have touched the table.
	if n := countRows(t, h, cfg, "occupied"); n != 0 {
		t.Fatalf("table occupied has %d rows after a refused import, want 0", n)
	}
}

// smallModel is a two-table model the driver-level tests load directly.
func smallModel() *bacpac.Model {
	parent := &bacpac.Table{
		Schema: "dbo", Name: "parent",
		Columns: []*bacpac.Column{
			{Name: "id", Type: bacpac.Type{Name: "int"}},
			{Name: "label", Type: bacpac.Type{Name: "nvarchar", Length: 50}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_parent", Columns: []bacpac.IndexColumn{{Name: "id"}}},
	}
	child := &bacpac.Table{
		Schema: "dbo", Name: "child",
		Columns: []*bacpac.Column{
			{Name: "id", Type: bacpac.Type{Name: "bigint"}},
			{Name: "parent_id", Type: bacpac.Type{Name: "int"}},
			{Name: "amount", Type: bacpac.Type{Name: "decimal", Precision: 12, Scale: 2}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_child", Columns: []bacpac.IndexColumn{{Name: "id"}}},
		ForeignKeys: []*bacpac.ForeignKey{{
			Name: "FK_child_parent", Columns: []string{"parent_id"},
			RefSchema: "dbo", RefTable: "parent", RefColumns: []string{"id"},
		}},
		Indexes: []*bacpac.Index{{Name: "IX_child_parent", Columns: []bacpac.IndexColumn{{Name: "parent_id"}}}},
	}
	return &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{parent, child}}
}

// rowsOf returns a next function that yields n generated rows for one of
// smallModel's tables, calling hook (when set) before each row.
func rowsOf(t *bacpac.Table, n int, hook func(i int)) func() ([]any, error) {
	i := 0
	row := make([]any, len(t.Columns))
	return func() ([]any, error) {
		if i >= n {
			return nil, io.EOF
		}
		if hook != nil {
			hook(i)
		}
		i++
		switch t.Name {
		case "parent":
			row[0], row[1] = int64(i), fmt.Sprintf("parent %d", i)
		default:
			row[0], row[1] = int64(i), int64((i-1)%10+1)
			row[2] = bacpac.NewDecimal(int64(i)*101, 2)
		}
		return row, nil
	}
}

// loadSmall creates smallModel's tables in tgt and loads them, parents
// first. hook runs before every child row.
func loadSmall(ctx context.Context, tgt engine.Target, children int, hook func(int)) error {
	m := smallModel()
	if err := tgt.CreateTables(ctx, m); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	if _, err := tgt.Load(ctx, m.Tables[0], rowsOf(m.Tables[0], 10, nil)); err != nil {
		return fmt.Errorf("load parent: %w", err)
	}
	if _, err := tgt.Load(ctx, m.Tables[1], rowsOf(m.Tables[1], children, hook)); err != nil {
		return fmt.Errorf("load child: %w", err)
	}
	if _, err := tgt.Finish(ctx, m); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

func testAbortDropsCreated(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	cfg := h.NewName(t)
	tgt, err := h.Driver.OpenTarget(ctx, cfg, true)
	if err != nil {
		t.Fatalf("OpenTarget(create=true): %v", err)
	}
	defer tgt.Close()

	// Cancel in the middle of the child table's load.
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = loadSmall(loadCtx, tgt, 50_000, func(i int) {
		if i == 20_000 {
			cancel()
		}
	})
	if err == nil {
		t.Fatalf("load with a cancel at row 20000 succeeded")
	}
	if err := tgt.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	tgt.Close()
	_, err = h.Driver.OpenSource(ctx, cfg)
	if !errors.Is(err, engine.ErrNoDatabase) {
		t.Fatalf("OpenSource after Abort of a created database: got %v, want ErrNoDatabase", err)
	}
}

func testAbortEmptiesExisting(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	cfg := h.NewDatabase(t)
	tgt, err := h.Driver.OpenTarget(ctx, cfg, false)
	if err != nil {
		t.Fatalf("OpenTarget(create=false) of an empty database: %v", err)
	}
	defer tgt.Close()
	if err := loadSmall(ctx, tgt, 1000, nil); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := tgt.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	tgt.Close()

	// The database is still there and takes an import again.
	tgt, err = h.Driver.OpenTarget(ctx, cfg, false)
	if err != nil {
		t.Fatalf("OpenTarget after Abort: got %v, want an empty database", err)
	}
	tgt.Close()
}

func testSnapshot(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	cfg := h.NewDatabase(t)
	h.Exec(t, cfg, "CREATE TABLE snap (id integer NOT NULL PRIMARY KEY, v integer NOT NULL)")
	h.Exec(t, cfg, "INSERT INTO snap (id, v) VALUES (1, 10)")
	h.Exec(t, cfg, "INSERT INTO snap (id, v) VALUES (2, 20)")

	src, err := h.Driver.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()

	// Writers are not blocked by the open snapshot, and do not show in it.
	h.Exec(t, cfg, "UPDATE snap SET v = v + 1")
	h.Exec(t, cfg, "INSERT INTO snap (id, v) VALUES (3, 30)")
	h.Exec(t, cfg, "DELETE FROM snap WHERE id = 1")

	m, err := src.Model(ctx)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	tbl := findTable(m, "snap")
	if tbl == nil {
		t.Fatalf("Model has no table snap")
	}
	got := map[string]string{}
	err = src.Rows(ctx, tbl, func(row []any) error {
		got[canonical(row[0])] = canonical(row[1])
		return nil
	})
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	want := map[string]string{"1": "10", "2": "20"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("snapshot rows (id→v) = %v, want %v (writes after OpenSource leaked in)", got, want)
	}
}

// findTable finds a table by name in any schema.
func findTable(m *bacpac.Model, name string) *bacpac.Table {
	for _, t := range m.Tables {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	return nil
}

// openSource opens a Source on the database cfg names and reads its
// model; the caller closes the Source.
func openSource(t *testing.T, h Harness, cfg engine.Config) (engine.Source, *bacpac.Model) {
	t.Helper()
	ctx := ctxFor(t)
	src, err := h.Driver.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	m, err := src.Model(ctx)
	if err != nil {
		src.Close()
		t.Fatalf("Model: %v", err)
	}
	return src, m
}

// countRows counts the rows of a table through a fresh Source.
func countRows(t *testing.T, h Harness, cfg engine.Config, table string) int64 {
	t.Helper()
	ctx := ctxFor(t)
	src, m := openSource(t, h, cfg)
	defer src.Close()
	tbl := findTable(m, table)
	if tbl == nil {
		t.Fatalf("Model has no table %s", table)
	}
	var n int64
	if err := src.Rows(ctx, tbl, func([]any) error { n++; return nil }); err != nil {
		t.Fatalf("Rows of %s: %v", table, err)
	}
	return n
}
