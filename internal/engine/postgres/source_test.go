package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// TestRows_SplitSnapshot reads a table in block ranges on several
// connections while another session rewrites it, and wants exactly the
// rows of the moment OpenSource was called.
func TestRows_SplitSnapshot(t *testing.T) {
	server(t)
	cfg := newDatabase(t)
	execSQL(t, cfg, `CREATE TABLE big (id int PRIMARY KEY, v bigint NOT NULL, pad text)`)
	execSQL(t, cfg, `INSERT INTO big SELECT g, g, repeat('x', 100) FROM generate_series(1, 100000) g`)
	want := query(t, cfg, "SELECT count(*), sum(v) FROM big")[0]

	d := &Driver{SplitBytes: 1 << 20, SplitParts: 3}
	src, err := d.OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	// Rewrite the table while it is read.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			execSQL(t, cfg, "UPDATE big SET v = v + 1000000 WHERE id % 7 = "+itoa(int64(i%7)))
			execSQL(t, cfg, "INSERT INTO big VALUES ("+itoa(int64(200000+i))+", 1, 'new')")
			execSQL(t, cfg, "DELETE FROM big WHERE id = "+itoa(int64(i+1)))
		}
	})
	var n, sum int64
	seen := map[int64]bool{}
	err = src.Rows(t.Context(), m.Table("dbo", "big"), func(row []any) error {
		id := row[0].(int64)
		if seen[id] {
			t.Errorf("row %d read twice", id)
		}
		seen[id] = true
		n++
		sum += row[1].(int64)
		return nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if got := []string{itoa(n), itoa(sum)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("split read saw count,sum = %v, want %v at the snapshot", got, want)
	}
}

// TestRows_ErrorStopsSplit checks that an error from fn stops every range
// reader and comes back from Rows.
func TestRows_ErrorStopsSplit(t *testing.T) {
	server(t)
	cfg := newDatabase(t)
	execSQL(t, cfg, `CREATE TABLE big (id int PRIMARY KEY, pad text)`)
	execSQL(t, cfg, `INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g`)
	d := &Driver{SplitBytes: 1 << 20, SplitParts: 4}
	src, err := d.OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	calls := 0
	err = src.Rows(t.Context(), m.Table("dbo", "big"), func([]any) error {
		calls++
		if calls == 1000 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Rows: got %v, want the callback's error", err)
	}
	// The source still reads after a failed table.
	var n int
	if err := src.Rows(t.Context(), m.Table("dbo", "big"), func([]any) error { n++; return nil }); err != nil || n != 50000 {
		t.Fatalf("Rows after a failed read: %d rows, %v", n, err)
	}
}

// TestConfig_Dial checks that Config.Dial makes every connection, gets the
// host name unresolved, and that a refusing dialer means ErrUnreachable.
func TestConfig_Dial(t *testing.T) {
	base := server(t)
	var calls atomic.Int32
	var addrs sync.Map
	cfg := base
	cfg.DSN = strings.Replace(base.DSN, "127.0.0.1", "localhost", 1)
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		calls.Add(1)
		addrs.Store(addr, true)
		var d net.Dialer
		return d.DialContext(ctx, network, strings.Replace(addr, "localhost", "127.0.0.1", 1))
	}
	if err := New().Ping(t.Context(), cfg); err != nil {
		t.Fatalf("Ping through Dial: %v", err)
	}
	if calls.Load() == 0 {
		t.Fatalf("Config.Dial was not used")
	}
	addrs.Range(func(k, _ any) bool {
		if strings.Contains(base.DSN, "127.0.0.1") && !strings.HasPrefix(k.(string), "localhost:") {
			t.Errorf("Dial got %v, want the host name unresolved", k)
		}
		return true
	})

	cfg.Dial = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no route for this endpoint")
	}
	cfg.Password = "Dial-secret-9"
	err := New().Ping(t.Context(), cfg)
	if !errors.Is(err, engine.ErrUnreachable) || strings.Contains(err.Error(), cfg.Password) {
		t.Fatalf("Ping through a refusing Dial: got %v, want ErrUnreachable without the password", err)
	}
}

// TestConnConfig_Overrides checks that Login, Password and Database win
// over the DSN.
func TestConnConfig_Overrides(t *testing.T) {
	cfg := engine.Config{DSN: "postgresql://alice:dsnpw@db.example:6543/one?sslmode=disable",
		Login: "bob", Password: "cfgpw", Database: "two"}
	pc, err := connConfig(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if pc.User != "bob" || pc.Password != "cfgpw" || pc.Database != "two" ||
		pc.Host != "db.example" || pc.Port != 6543 {
		t.Fatalf("connConfig = %s:%s@%s:%d/%s, want bob:cfgpw@db.example:6543/two",
			pc.User, pc.Password, pc.Host, pc.Port, pc.Database)
	}
	_, err = connConfig(engine.Config{DSN: "postgres://u:hunter2@h:notaport/db"}, "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad DSN: got %v, want an error without the password", err)
	}
}

// TestModel_Describes checks the SQL Server description and recorded
// properties of a few columns.
func TestModel_Describes(t *testing.T) {
	server(t)
	cfg := newDatabase(t)
	execSQL(t, cfg, `CREATE TABLE d (id serial PRIMARY KEY, n numeric(12,2) DEFAULT 0,
		ts timestamptz(3) NOT NULL DEFAULT now(), tags text[], c char(3) DEFAULT 'ab')`)
	src, err := New().OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tb := m.Table("dbo", "d")
	if tb == nil {
		t.Fatalf("no table dbo.d in %v", m.Tables)
	}
	want := map[string]string{
		"id":   "int identity(1,1) src=postgres:integer default=",
		"n":    "decimal(12,2) src=postgres:numeric(12,2) default=((0))",
		"ts":   "datetimeoffset(3) src=postgres:timestamp(3) with time zone default=(sysdatetimeoffset())",
		"tags": "nvarchar(max) src=postgres:text[] default=",
		"c":    "nchar(3) src=postgres:character(3) default=(N'ab')",
	}
	for _, c := range tb.Columns {
		got := describeColumn(c)
		if got != want[c.Name] {
			t.Errorf("column %s: %s, want %s", c.Name, got, want[c.Name])
		}
	}
}

func describeColumn(c *bacpac.Column) string {
	s := c.Type.Name
	switch {
	case c.Type.Max:
		s += "(max)"
	case c.Type.Name == "decimal":
		s += "(" + itoa(int64(c.Type.Precision)) + "," + itoa(int64(c.Type.Scale)) + ")"
	case c.Type.Length > 0:
		s += "(" + itoa(int64(c.Type.Length)) + ")"
	case c.Type.Name == "datetimeoffset":
		s += "(" + itoa(int64(c.Type.Scale)) + ")"
	}
	if c.Identity != nil {
		s += "identity(" + itoa(c.Identity.Seed) + "," + itoa(c.Identity.Increment) + ")"
		s = strings.Replace(s, "identity", " identity", 1)
	}
	src, _ := c.Property(bacpac.SourceTypeProperty)
	s += " src=" + src + " default="
	if c.Default != nil {
		s += c.Default.Expression
	}
	return s
}
