package cli_test

import (
	"net"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/cli"
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
