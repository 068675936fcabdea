package privatelink

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// echoServer stands in for a database server: it echoes every line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) error {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != msg+"\n" {
		t.Fatalf("echo of %q = %q", msg, line)
	}
	return nil
}

func TestGateway_RouteExistsOnlyWhileApproved(t *testing.T) {
	target := echoServer(t)
	g := NewGateway(nil)
	defer g.Close()
	g.Add(Route{ID: "pe-sql", Job: "job1", Resource: "server srv1", Target: target})
	dial := g.Dialer("job1")
	ctx := context.Background()

	if _, err := dial(ctx, "tcp", target); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("dial before approval: err = %v, want ErrNoRoute", err)
	}
	if _, err := g.Dialer("job2")(ctx, "tcp", target); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("dial from another job: err = %v, want ErrNoRoute", err)
	}

	if err := g.Set("pe-sql", Approved); err != nil {
		t.Fatal(err)
	}
	c, err := dial(ctx, "tcp", target)
	if err != nil {
		t.Fatalf("dial after approval: %v", err)
	}
	if err := roundTrip(t, c, "hello"); err != nil {
		t.Fatalf("round trip through endpoint: %v", err)
	}

	// Rejection mid-transfer cuts the live connection.
	if err := g.Set("pe-sql", Rejected); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, c, "again"); err == nil {
		t.Fatal("live connection survived rejection")
	}
	if _, err := dial(ctx, "tcp", target); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("dial after rejection: err = %v, want ErrNoRoute", err)
	}
	if err := g.Set("pe-sql", Approved); !errors.Is(err, ErrTransition) {
		t.Fatalf("approve after reject: err = %v, want ErrTransition", err)
	}

	st := g.Stats("pe-sql")
	if st.Conns != 1 || st.BytesIn < 6 || st.BytesOut < 6 || st.Refused < 2 {
		t.Fatalf("stats = %+v, want 1 connection, ≥6 bytes each way, ≥2 refusals", st)
	}
}

func TestGateway_OpenFileGate(t *testing.T) {
	dir := t.TempDir()
	g := NewGateway(nil)
	g.Add(Route{ID: "pe-sqlite", Job: "job1", Resource: "server s", Target: "file:" + dir})
	open := g.OpenFile("job1")
	ctx := context.Background()
	db := filepath.Join(dir, "db.sqlite")

	if err := open(ctx, db); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("open before approval: err = %v, want ErrNoRoute", err)
	}
	if err := g.Set("pe-sqlite", Approved); err != nil {
		t.Fatal(err)
	}
	if err := open(ctx, db); err != nil {
		t.Fatalf("open after approval: %v", err)
	}
	if err := open(ctx, filepath.Join(dir, "..", "elsewhere.sqlite")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("open outside the endpoint's directory: err = %v, want ErrNoRoute", err)
	}
	if got := g.Remove("pe-sqlite"); got.Opens != 1 {
		t.Fatalf("opens = %d, want 1", got.Opens)
	}
	if err := open(ctx, db); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("open after removal: err = %v, want ErrNoRoute", err)
	}
}
