// Package cli is the bacport command line: the service (serve), the client
// verbs that mirror the Azure PowerShell cmdlets, and the standalone package
// tools. Each command group lives in its own file.
//
// The client verbs talk only to the HTTP API, with the profile `bacport
// login` saves (endpoint, token, certificate to trust, subscription). They
// print tables for people or JSON for scripts (--output), exit 0, 1 (an
// error or a failed job), 2 (a wrong command line) or 3 (a cancelled job),
// and say on one line what to do when something goes wrong. --wait follows
// a job over the server's event stream (GET /bacport/operations/{id}/events),
// falling back to polling its rich status, and draws a progress bar on a
// terminal or plain lines elsewhere.
//
// Limitations: there are no commands for principals and role assignments
// (the API has them under /bacport/principals and /bacport/roleAssignments);
// --output has no field selection, so scripts pick fields out of the JSON
// themselves; the progress percentage is what the server reports, which for
// packages without row counts moves table by table.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, so scripts can tell failures apart.
const (
	ExitOK        = 0
	ExitFailure   = 1 // the command ran and failed (a failed job, a bad package)
	ExitUsage     = 2 // the command line was wrong
	ExitCancelled = 3 // a job the command followed was cancelled
)

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the bacport command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	switch {
	case errors.As(err, &exit):
		fmt.Fprintln(stderr, "bacport:", oneLine(err.Error()))
		return exit.Code
	case isUsageError(err):
		// One line: what was wrong, and where the command's usage is.
		fmt.Fprintf(stderr, "bacport: %s (see `%s --help`)\n", oneLine(err.Error()), cmd.CommandPath())
		return ExitUsage
	}
	fmt.Fprintln(stderr, "bacport:", oneLine(err.Error()))
	return ExitFailure
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "bacport",
		Short: "Export databases to BACPAC packages and import them back",
		Long: `bacport exports databases to BACPAC packages in blob storage and imports them
back, optionally over private endpoints that the owners of the server and the
storage account approve: a self-hosted Azure SQL Import/Export service.

Start here:
  bacport serve --data-dir ./bacport-data &      # the service, in one process
  bacport login --data-dir ./bacport-data        # point the CLI at it
  bacport sql server create -g rg1 -s srv1 --administrator-login admin1
  bacport storage account create -g rg1 -n acct1
  bacport sql db export --help                   # then export, import, follow

scripts/private-link-walkthrough.sh in the source tree walks the whole
Private Link story with these commands.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(newPackageCmd())
	root.AddCommand(newServeCmd())
	addClientCmds(root) // client.go: verbs that talk to a bacport server
	markArgsAsUsage(root)
	addCompletions(root) // completion.go
	return root
}

// usageError marks errors in how the command was called.
type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") ||
		strings.HasPrefix(err.Error(), "required flag")
}

// markArgsAsUsage makes every command's argument check report a usage
// error, so a wrong number of arguments exits with ExitUsage.
func markArgsAsUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markArgsAsUsage(sub)
	}
}
