package cli

import "github.com/spf13/cobra"

// Builders for the show, list and delete commands that every ARM resource
// type has: they differ only in the flags that locate the resource, the
// path below it and the columns of the table.

// resourceRef is a set of flags that locates one resource (a server, a
// database, a storage account).
type resourceRef interface {
	bind(cmd *cobra.Command)
	path(c *apiClient) (string, error)
}

// newGetCmd builds a command that GETs the resource ref locates, followed by
// suffix ("" for the resource itself, "/databases" for a list of its
// children), and renders the answer as a table of columns.
func newGetCmd(use, short, example string, ref resourceRef, suffix string, columns ...string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", path+suffix, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, columns...)
		}),
	}
	ref.bind(cmd)
	return cmd
}

// newScopeListCmd builds a list command for a resource type of provider
// (e.g. "Microsoft.Sql/servers"): in the resource group given by -g, or in
// the whole subscription without it.
func newScopeListCmd(short, example, provider string, columns ...string) *cobra.Command {
	var sc scope
	cmd := &cobra.Command{
		Use:     "list",
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			sub, err := c.subscription(sc.subscription)
			if err != nil {
				return err
			}
			path := "/subscriptions/" + sub
			if sc.resourceGroup != "" {
				path += "/resourceGroups/" + sc.resourceGroup
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", path+"/providers/"+provider, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, columns...)
		}),
	}
	sc.bind(cmd)
	return cmd
}

// newDeleteCmd builds a "delete" command for the resource ref locates.
// With wait, it follows the long-running operation the DELETE may start
// to its end; without, the first answer settles it.
func newDeleteCmd(short, example string, ref resourceRef, wait bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			if wait {
				return c.putAndWait(ctxOf(cmd), "DELETE", path, nil, nil)
			}
			_, _, err = c.do(ctxOf(cmd), "DELETE", path, nil, nil)
			return err
		}),
	}
	ref.bind(cmd)
	return cmd
}
