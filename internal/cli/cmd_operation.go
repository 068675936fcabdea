package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newOperationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "operation", Short: "List and cancel a database's import/export operations"}
	cmd.AddCommand(newOperationListCmd(), newOperationCancelCmd())
	return cmd
}

func newOperationListCmd() *cobra.Command {
	var ref dbRef
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a database's running operations (with --all, finished ones too)",
		Example: `  bacport sql db operation list -g rg1 -s srv1 -d db1
  bacport sql db operation list -g rg1 -s srv1 -d db1 --all -o json`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			path += "/operations"
			if all {
				path += "?all=true"
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, "id=name", "properties.operation", "properties.state",
				"phase=properties.operationPhaseDetails.phase", "percent=properties.percentComplete",
				"properties.startTime", "cancellable=properties.isCancellable")
		}),
	}
	ref.bind(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "include finished operations")
	return cmd
}

func newOperationCancelCmd() *cobra.Command {
	var ref dbRef
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel an import or export; the job stops, cleans up and ends Cancelled",
		Long: `Cancel an import or export by its request ID. With --resource-group,
--server-name and --database-name it uses the ARM route
(DatabaseOperations_Cancel); with the ID alone, bacport's own.`,
		Example: `  bacport sql db operation cancel 6f1c2d3e-0000-4000-8000-1234567890ab
  bacport sql db operation cancel -g rg1 -s srv1 -d db1 6f1c2d3e-0000-4000-8000-1234567890ab`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			id := args[0]
			if !uuidRE.MatchString(id) {
				return usageError{fmt.Errorf("%q is not a request ID; find it with "+
					"`bacport sql db operation list` or the import-export-history", id)}
			}
			path := "/bacport/operations/" + id + "/cancel"
			if ref.resourceGroup != "" || ref.server != "" || ref.database != "" {
				db, err := ref.path(c)
				if err != nil {
					return err
				}
				path = db + "/operations/" + id + "/cancel"
			}
			if _, _, err := c.do(ctxOf(cmd), "POST", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cancel requested for operation %s; follow it with "+
				"`bacport sql db import-export-status %s --wait`\n", id, id)
			return nil
		}),
	}
	ref.bind(cmd)
	return cmd
}

func newHistoryCmd() *cobra.Command {
	var ref serverRef
	var status, database, kind string
	var top int
	cmd := &cobra.Command{
		Use:   "import-export-history",
		Short: "List a server's import/export requests, newest first (the portal's Import/Export History)",
		Example: `  bacport sql server import-export-history -g rg1 -s srv1
  bacport sql server import-export-history -g rg1 -s srv1 --status Failed --database db1 -o json`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			q := url.Values{"top": {strconv.Itoa(top)}}
			for k, v := range map[string]string{"status": status, "database": database, "type": kind} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var out struct {
				Value    []map[string]any `json:"value"`
				NextLink string           `json:"nextLink,omitempty"`
			}
			path += "/importExportHistory?" + q.Encode()
			if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &out); err != nil {
				return err
			}
			if outputJSON(cmd) {
				return render(cmd, out)
			}
			for _, r := range out.Value {
				r["endpoints"] = endpointSummary(r)
			}
			return render(cmd, map[string]any{"value": out.Value}, "requestId=properties.requestId",
				"type=properties.requestType", "database=properties.databaseName", "properties.status",
				"properties.phase", "properties.queuedTime", "modified=properties.lastModifiedTime",
				"endpoints", "by=properties.requestedBy", "error=properties.errorMessage")
		}),
	}
	ref.bind(cmd)
	cmd.Flags().StringVar(&status, "status", "",
		"only requests in this status: InProgress, Completed, Failed, Cancelled")
	cmd.Flags().StringVar(&database, "database", "", "only requests for this database")
	cmd.Flags().StringVar(&kind, "type", "", "only requests of this type: export, import or importExisting")
	cmd.Flags().IntVar(&top, "top", 50, "at most this many requests")
	return cmd
}

// endpointSummary shows a request's private endpoint connections as their
// states, e.g. "Approved,Approved".
func endpointSummary(r map[string]any) string {
	props, _ := r["properties"].(map[string]any)
	list, _ := props["privateEndpointConnections"].([]any)
	var states []string
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			states = append(states, fmt.Sprint(m["status"]))
		}
	}
	return strings.Join(states, ",")
}
