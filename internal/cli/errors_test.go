package cli_test

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/cli"
	"github.com/bacport/bacport/internal/testenv"
)

// Every error path exits non-zero with one line that says what to do.
func TestErrors_OneLineSayingWhatToDo(t *testing.T) {
	e := startServe(t)
	e.setup("rg1", "srv1", "acct1")

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name string
		env  []string
		args []string
		code int
		says []string // all of these, in the one line
	}{
		{"bad token", []string{"BACPORT_TOKEN=bpt_not-a-real-token"},
			[]string{"sql", "server", "list"}, cli.ExitFailure,
			[]string{"AuthenticationFailed", "bacport login"}},
		{"unreachable endpoint", []string{"BACPORT_ENDPOINT=" + dead},
			[]string{"group", "list"}, cli.ExitFailure,
			[]string{"cannot reach bacport at " + dead, "bacport serve", "bacport login"}},
		{"missing flag", nil,
			[]string{"sql", "db", "export", "-g", "rg1", "-s", "srv1", "--storage-uri", e.ep.Blob + "/acct1/c/x.bacpac"},
			cli.ExitUsage, []string{"--database-name is required", "bacport sql db export --help"}},
		{"unknown server", nil,
			[]string{"sql", "server", "show", "-g", "rg1", "-s", "nosuch"}, cli.ExitFailure,
			[]string{"server was not found", "bacport sql server list"}},
		{"unknown database", nil,
			[]string{"sql", "db", "show", "-g", "rg1", "-s", "srv1", "-d", "nosuch"}, cli.ExitFailure,
			[]string{"DatabaseDoesNotExist", "bacport sql db list"}},
		{"unknown operation", nil,
			[]string{"sql", "db", "import-export-status", "6f1c2d3e-0000-4000-8000-1234567890ab"}, cli.ExitFailure,
			[]string{"ImportExportOperationIdNotFound", "import-export-history"}},
		{"bad output format", nil,
			[]string{"group", "list", "-o", "yaml"}, cli.ExitUsage,
			[]string{"--output must be table or json"}},
		{"no password", nil,
			[]string{"sql", "db", "export", "-g", "rg1", "-s", "srv1", "-d", "db1",
				"--storage-uri", e.ep.Blob + "/acct1/c/x.bacpac", "--storage-key", "a2V5",
				"--administrator-login", "admin1"}, cli.ExitUsage,
			[]string{"administrator login password is required", "BACPORT_ADMINISTRATOR_LOGIN_PASSWORD"}},
		{"not logged in", []string{"BACPORT_PROFILE=" + t.TempDir() + "/none.json"},
			[]string{"storage", "account", "list"}, cli.ExitUsage,
			[]string{"bacport login --data-dir"}},
		{"import into a database that exists", nil,
			[]string{"sql", "db", "import", "-g", "rg1", "-s", "srv1", "-d", "db1",
				"--storage-uri", e.ep.Blob + "/acct1/c/none.bacpac", "--storage-key", "a2V5",
				"--administrator-login", "admin1", "--administrator-login-password", "Pa55w0rd!"},
			cli.ExitFailure, []string{"already exists", "choose a new name"}},
	}
	e.must("sql", "db", "create", "-g", "rg1", "-s", "srv1", "-d", "db1")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := e.run(c.env, c.args...)
			cmdline := "bacport " + strings.Join(c.args, " ")
			if code != c.code {
				t.Errorf("%s: exit %d, want %d; stderr %q", cmdline, code, c.code, errs)
			}
			if out != "" {
				t.Errorf("%s: wrote %q to stdout on error, want nothing", cmdline, out)
			}
			line := strings.TrimSuffix(errs, "\n")
			if strings.Contains(line, "\n") || line == "" {
				t.Errorf("%s: stderr is not one line: %q", cmdline, errs)
			}
			for _, s := range c.says {
				if !strings.Contains(line, s) {
					t.Errorf("%s: stderr %q does not say %q", cmdline, line, s)
				}
			}
		})
	}
}

// requirePrivateLink skips (or, in CI, fails) a test that needs the
// server's Private Link API.
func (e *env) requirePrivateLink() {
	e.t.Helper()
	if code, _, errs := e.run(nil, "private-link", "list"); code != 0 {
		testenv.Missing(e.t, "the Private Link API in bacport serve ("+firstLine(errs)+")",
			"wire internal/privatelink into serve")
	}
}

// heldExport starts an export with network isolation, which waits for
// approval, and returns its request ID and its connection IDs.
func (e *env) heldExport(group, server, account, key, blob string) (string, []string) {
	e.t.Helper()
	var srv, acct struct {
		ID string `json:"id"`
	}
	e.mustJSON(&srv, "sql", "server", "show", "-g", group, "-s", server)
	e.mustJSON(&acct, "storage", "account", "show", "-g", group, "-n", account)
	var res struct {
		Properties struct {
			RequestID string `json:"requestId"`
		} `json:"properties"`
	}
	e.mustJSON(&res, "sql", "db", "export", "-g", group, "-s", server, "-d", "db1",
		"--storage-uri", e.ep.Blob+"/"+account+"/bacpacs/"+blob, "--storage-key", key,
		"--administrator-login", "admin1",
		"--administrator-login-password", "Pa55w0rd!", "--use-network-isolation",
		"--sql-server-resource-id-for-private-link", srv.ID,
		"--storage-account-resource-id-for-private-link", acct.ID)
	id := res.Properties.RequestID
	var conns []string
	deadline := time.Now().Add(30 * time.Second)
	for len(conns) < 2 {
		if time.Now().After(deadline) {
			e.t.Fatalf("export %s: no two pending private endpoint connections within 30s", id)
		}
		var list struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		e.mustJSON(&list, "private-link", "list", "--pending", "--operation", id)
		conns = conns[:0]
		for _, c := range list.Value {
			conns = append(conns, c.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return id, conns
}

// --wait tells a failed job (exit 1) and a cancelled one (exit 3) apart
// from success, with one line on stderr saying why.
func TestWait_ExitCodesOfFailedAndCancelledJobs(t *testing.T) {
	e := startServe(t)
	key := e.setup("rg1", "srv1", "acct1")
	e.requirePrivateLink()
	e.must("sql", "db", "create", "-g", "rg1", "-s", "srv1", "-d", "db1")

	t.Run("rejected endpoint fails the job", func(t *testing.T) {
		e := e.with(t)
		id, conns := e.heldExport("rg1", "srv1", "acct1", key, "rejected.bacpac")
		e.must(append([]string{"private-link", "reject", "--description", "not this one"}, conns...)...)
		code, out, errs := e.run(nil, "sql", "db", "import-export-status", id, "--wait")
		if code != cli.ExitFailure {
			t.Fatalf("status --wait of a rejected job: exit %d, want %d\n%s\n%s", code, cli.ExitFailure, out, errs)
		}
		last := lastLine(errs)
		if !strings.HasPrefix(last, "bacport: the export failed: ") || !strings.Contains(last, "reject") {
			t.Errorf("last line %q does not say the export failed because of the rejection", last)
		}
		if !strings.Contains(out, "Status                       : Failed") {
			t.Errorf("stdout lacks the failed status:\n%s", out)
		}
	})
	t.Run("cancelled job", func(t *testing.T) {
		e := e.with(t)
		id, _ := e.heldExport("rg1", "srv1", "acct1", key, "cancelled.bacpac")
		e.must("sql", "db", "operation", "cancel", id)
		code, out, errs := e.run(nil, "sql", "db", "import-export-status", id, "--wait")
		if code != cli.ExitCancelled {
			t.Fatalf("status --wait of a cancelled job: exit %d, want %d\n%s\n%s", code, cli.ExitCancelled, out, errs)
		}
		if last := lastLine(errs); last != "bacport: the export was cancelled" {
			t.Errorf("last line %q, want %q", last, "bacport: the export was cancelled")
		}
	})
}

// Interrupting --wait stops following, not the job, and says how to
// follow it again.
func TestWait_InterruptLeavesTheJobRunning(t *testing.T) {
	e := startServe(t)
	key := e.setup("rg1", "srv1", "acct1")
	e.requirePrivateLink()
	e.must("sql", "db", "create", "-g", "rg1", "-s", "srv1", "-d", "db1")
	id, _ := e.heldExport("rg1", "srv1", "acct1", key, "interrupted.bacpac")

	var errb lockedWriter
	cmd := e.command(nil, "sql", "db", "import-export-status", id, "--wait")
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errb.String(), "bacport private-link approve") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("--wait on a held job never printed the approve commands:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	want := "bacport: stopped following operation " + id + "; it goes on: follow it again with " +
		"`bacport sql db import-export-status " + id + " --wait`"
	if code := cmd.ProcessState.ExitCode(); code != cli.ExitFailure || lastLine(errb.String()) != want {
		t.Errorf("interrupted --wait: exit %d, last line %q; want exit 1 and %q", code,
			lastLine(errb.String()), want)
	}
	var st struct{ Properties struct{ Status string } }
	e.mustJSON(&st, "sql", "db", "import-export-status", id)
	if st.Properties.Status != "InProgress" {
		t.Errorf("after the interrupt the export is %q, want still InProgress", st.Properties.Status)
	}
}

// lockedWriter collects a process's output while the test reads it.
type lockedWriter struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
