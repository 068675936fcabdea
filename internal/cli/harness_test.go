package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/cli"
)

// TestMain lets the test binary be the bacport command: run through a link
// named "bacport", it is the CLI, so the process tests (and the walkthrough
// script) drive the real program without building it separately.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "bacport" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// bacportBin returns a directory holding a "bacport" that runs the CLI.
func bacportBin(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "bacport")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// env is a running `bacport serve` and a client profile logged in to it.
type env struct {
	t       *testing.T
	bin     string // the bacport program
	dir     string
	dataDir string
	profile string
	ep      struct {
		API          string `json:"api"`
		Blob         string `json:"blob"`
		Subscription string `json:"subscriptionId"`
		PID          int    `json:"pid"`
	}
}

// startServe starts a fresh `bacport serve` in a temporary data directory,
// with any extra serve flags, stops it when the test ends, and logs the
// profile in.
func startServe(t *testing.T, flags ...string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.bin = filepath.Join(bacportBin(t), "bacport")
	e.dataDir = filepath.Join(e.dir, "data")
	e.profile = filepath.Join(e.dir, "profile.json")

	logf, err := os.Create(filepath.Join(e.dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--data-dir", e.dataDir, "--listen", "127.0.0.1:0",
		"--blob-listen", "127.0.0.1:0", "--poll-interval", "200ms", "--log-level", "warn"}, flags...)
	cmd := exec.Command(e.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("bacport serve log:\n%s", log)
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(e.dataDir, "endpoints.json"))
		if err == nil && json.Unmarshal(data, &e.ep) == nil && e.ep.PID == cmd.Process.Pid {
			break
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("bacport serve exited before it served:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("bacport serve wrote no endpoints.json within 60s")
		}
	}
	e.must("login", "--data-dir", e.dataDir)
	return e
}

// with is the env as seen from a subtest.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// command builds a bacport command using the env's profile.
func (e *env) command(extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), "BACPORT_PROFILE="+e.profile)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Dir = e.dir
	return cmd
}

// run runs bacport and returns its exit code, stdout and stderr.
func (e *env) run(extraEnv []string, args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	cmd := e.command(extraEnv, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			e.t.Fatalf("run bacport %s: %v", strings.Join(args, " "), err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// must runs bacport and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	code, out, errs := e.run(nil, args...)
	if code != 0 {
		e.t.Fatalf("bacport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// mustJSON runs bacport with -o json and decodes its answer.
func (e *env) mustJSON(v any, args ...string) {
	e.t.Helper()
	out := e.must(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("bacport %s -o json: %v in %q", strings.Join(args, " "), err, out)
	}
}

// setup creates a group, a server that lets the service in, and a storage
// account, and returns the account's key.
func (e *env) setup(group, server, account string) string {
	e.t.Helper()
	e.must("group", "create", group)
	e.must("sql", "server", "create", "-g", group, "-s", server, "--administrator-login", "admin1",
		"--administrator-login-password", "Pa55w0rd!")
	e.must("sql", "server", "allow-azure-services", "on", "-g", group, "-s", server)
	e.must("storage", "account", "create", "-g", group, "-n", account)
	var keys struct {
		Value []struct {
			Value string `json:"value"`
		} `json:"value"`
	}
	e.mustJSON(&keys, "storage", "account", "keys", "list", "-g", group, "-n", account)
	if len(keys.Value) == 0 {
		e.t.Fatal("the new storage account has no keys")
	}
	return keys.Value[0].Value
}

// writeSeed writes a package of tables × rows rows, the kind of .bacpac a
// new user brings along.
func writeSeed(t *testing.T, path string, tables, rows int) {
	t.Helper()
	m := &bacpac.Model{}
	for i := range tables {
		m.Tables = append(m.Tables, &bacpac.Table{
			Schema: "dbo", Name: fmt.Sprintf("Orders%02d", i),
			Columns: []*bacpac.Column{
				{Name: "OrderId", Type: bacpac.Type{Name: "int"}},
				{Name: "Customer", Type: bacpac.Type{Name: "nvarchar", Length: 60}},
				{Name: "Note", Type: bacpac.Type{Name: "nvarchar", Length: 200}, Nullable: true},
			},
			PrimaryKey: &bacpac.Key{Name: fmt.Sprintf("PK_Orders%02d", i),
				Columns: []bacpac.IndexColumn{{Name: "OrderId"}}, Clustered: true},
		})
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := bacpac.NewWriter(f, m, bacpac.WriterOptions{Level: 1,
		Source: bacpac.ServerInfo{Server: "seed.example.com", Database: "shop", Engine: "SQLite 3"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range m.Tables {
		tw, err := w.Table(tbl)
		if err != nil {
			t.Fatal(err)
		}
		for r := range rows {
			note := "delivered to the back door, ring twice " + strings.Repeat("x", r%40)
			if err := tw.WriteRow([]any{int64(r + 1), fmt.Sprintf("customer %d", r%997), note}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// firstLine is the first line of s, for messages.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
