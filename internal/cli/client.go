package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// addClientCmds adds the commands that talk to a bacport server over its
// HTTP API: login, resources, import/export and private link.
func addClientCmds(root *cobra.Command) {
	root.PersistentFlags().StringP("output", "o", "table", "output format: table or json")
	root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		switch v, _ := cmd.Flags().GetString("output"); v {
		case "table", "json":
			return nil
		default:
			return usageError{fmt.Errorf("--output must be table or json, not %q", v)}
		}
	}
	root.AddCommand(newLoginCmd(), newGroupCmd(), newSQLCmd(), newStorageCmd(), newPrivateLinkCmd())
}

func newLoginCmd() *cobra.Command {
	var dataDir, endpoint, token, caFile, sub string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Save the server endpoint, token and certificate the client commands use",
		Example: `  bacport login --data-dir ./bacport-data          # a local bacport serve
  bacport login --endpoint https://host:8443 --token TOKEN --ca-file server.crt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p Profile
			switch {
			case dataDir != "":
				var err error
				if p, err = profileFromDataDir(dataDir); err != nil {
					return err
				}
			case endpoint != "":
				p = Profile{Endpoint: endpoint, Token: token, CAFile: caFile}
			default:
				return usageError{errors.New("pass --data-dir of a local server, or --endpoint and --token")}
			}
			if sub != "" {
				p.Subscription = sub
			}
			c, err := newAPIClient(p)
			if err != nil {
				return err
			}
			var who struct {
				Principal struct {
					Name string `json:"name"`
				} `json:"principal"`
			}
			if _, _, err := c.do(ctxOf(cmd), "GET", "/bacport/whoami", nil, &who); err != nil {
				return err
			}
			path, err := saveProfile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s (subscription %s); profile saved in %s\n",
				p.Endpoint, who.Principal.Name, p.Subscription, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory of a local `bacport serve`")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "API endpoint URL of a bacport server")
	cmd.Flags().StringVar(&token, "token", "", "bearer token")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "certificate file to trust for the server")
	cmd.Flags().StringVar(&sub, "subscription", "", "default subscription ID")
	return cmd
}

// client returns an API client for the saved profile.
func client() (*apiClient, error) {
	p, err := loadProfile()
	if err != nil {
		return nil, err
	}
	return newAPIClient(p)
}

// scope holds the flags that locate a resource group.
type scope struct {
	subscription  string
	resourceGroup string
}

func (s *scope) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.subscription, "subscription", "", "subscription ID (default: the profile's)")
	cmd.Flags().StringVarP(&s.resourceGroup, "resource-group", "g", "", "resource group name")
}

// groupPath returns /subscriptions/{sub}/resourceGroups/{rg}.
func (s *scope) groupPath(c *apiClient) (string, error) {
	sub, err := c.subscription(s.subscription)
	if err != nil {
		return "", err
	}
	if s.resourceGroup == "" {
		return "", usageError{errors.New("--resource-group is required")}
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + s.resourceGroup, nil
}

// outputJSON reports whether --output json was asked for.
func outputJSON(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetString("output")
	return v == "json"
}

// render prints v as JSON, or as a table of the given columns, each taken
// from v's JSON form by a dotted path (e.g. "properties.status"), headed by
// the path's last part or by the name before "=" ("sku=sku.name").
func render(cmd *cobra.Command, v any, columns ...string) error {
	w := cmd.OutOrStdout()
	if outputJSON(cmd) {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	json.Unmarshal(data, &generic)
	rows := []any{generic}
	if m, ok := generic.(map[string]any); ok {
		if list, ok := m["value"].([]any); ok {
			rows = list
		}
	}
	if list, ok := generic.([]any); ok {
		rows = list
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := make([]string, len(columns))
	paths := make([]string, len(columns))
	for i, c := range columns {
		name, path, ok := strings.Cut(c, "=")
		if !ok {
			name, path = lastPart(c), c
		}
		header[i], paths[i] = strings.ToUpper(name), path
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(columns))
		for i, p := range paths {
			cells[i] = lookup(r, p)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func lastPart(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func lookup(v any, path string) string {
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[key]
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), ".")
	default:
		data, _ := json.Marshal(x)
		return string(data)
	}
}

// secret returns a secret from its flag, else from the environment
// variable, else by prompting on the terminal without echo.
func secret(cmd *cobra.Command, flagValue, env, prompt string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", usageError{fmt.Errorf("%s is required: pass the flag or set %s", prompt, env)}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: ", prompt)
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read %s: %w", prompt, err)
	}
	return string(b), nil
}

// ctxOf returns the command's context, never nil.
func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// withClient adapts a command body that needs an API client.
func withClient(fn func(cmd *cobra.Command, c *apiClient, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := client()
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}
