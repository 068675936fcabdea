package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newOperationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "operation", Short: "List and cancel a database's running operations"}
	var ref dbRef
	list := &cobra.Command{
		Use:     "list",
		Short:   "List a database's operations",
		Example: "  bacport sql db operation list -g rg1 -s srv1 -d db1",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", path+"/operations", nil, &out); err != nil {
				return err
			}
			return render(cmd, out, "name", "properties.operation", "properties.state",
				"properties.percentComplete", "properties.startTime")
		}),
	}
	cancel := &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel a running operation; the job stops and cleans up",
		Example: "  bacport sql db operation cancel -g rg1 -s srv1 -d db1 6f1c…",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			if args[0] == "" {
				return usageError{errors.New("an operation ID is required")}
			}
			if _, _, err := c.do(ctxOf(cmd), "POST", path+"/operations/"+args[0]+"/cancel", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cancel requested for operation %s\n", args[0])
			return nil
		}),
	}
	for _, sub := range []*cobra.Command{list, cancel} {
		ref.bind(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

func newHistoryCmd() *cobra.Command {
	var ref serverRef
	var status, database string
	var top int
	cmd := &cobra.Command{
		Use:     "import-export-history",
		Short:   "List a server's import/export requests (the portal's Import/Export History)",
		Example: "  bacport sql server import-export-history -g rg1 -s srv1 --status Failed",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			q := fmt.Sprintf("%s/importExportHistory?top=%d", path, top)
			if status != "" {
				q += "&status=" + status
			}
			if database != "" {
				q += "&database=" + database
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", q, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, "properties.requestType", "properties.databaseName",
				"properties.status", "properties.queuedTime", "properties.lastModifiedTime",
				"properties.errorMessage")
		}),
	}
	ref.bind(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only requests in this status")
	cmd.Flags().StringVar(&database, "database", "", "only requests for this database")
	cmd.Flags().IntVar(&top, "top", 50, "at most this many entries")
	return cmd
}
