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
