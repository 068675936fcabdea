package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every runnable command documents itself with a short line and an example.
func TestCommands_HaveHelpAndExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" || c.HasParent() && c.Parent().Name() == "completion" {
			return
		}
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain_ExitCodes(t *testing.T) {
	t.Setenv("BACPORT_PROFILE", t.TempDir()+"/profile.json")
	cases := []struct {
		args []string
		want int
		say  string
	}{
		{[]string{"sql", "db", "export", "--no-such-flag"}, ExitUsage, "unknown flag"},
		{[]string{"sql", "server", "list"}, ExitUsage, "bacport login"},
		{[]string{"private-link", "approve"}, ExitUsage, "requires at least 1 arg"},
		{[]string{"private-link", "delete"}, ExitUsage, "accepts 1 arg"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, c.args...)
		if code != c.want || !strings.Contains(stderr, c.say) {
			t.Errorf("bacport %s: exit %d, stderr %q; want exit %d mentioning %q",
				strings.Join(c.args, " "), code, stderr, c.want, c.say)
		}
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
			t.Errorf("bacport %s: error is %d lines, want one: %q", strings.Join(c.args, " "), n+1, stderr)
		}
	}
}

// bash and zsh completion scripts are generated, and flags with fixed
// choices complete them.
func TestCompletion_BashAndZsh(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_bacport", "zsh": "#compdef bacport"} {
		code, out, errs := run(t, "completion", shell)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("bacport completion %s: exit %d, %d bytes, stderr %q; want a script with %q",
				shell, code, len(out), errs, want)
		}
	}
	code, out, _ := run(t, "__complete", "sql", "db", "import", "--storage-key-type", "")
	if code != ExitOK || !strings.Contains(out, "StorageAccessKey\nSharedAccessKey\n") {
		t.Errorf("completing --storage-key-type: exit %d, %q", code, out)
	}
}
