package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newPrivateLinkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "private-link",
		Short: "The Private Link Center: list, approve and reject private endpoint connections",
		Long: `Import and export jobs with --use-network-isolation reach the SQL server and the
storage account only through private endpoints that bacport creates for the
job, one on each resource. The job waits until the owners of both resources
approve them. These commands list the connections (across servers and storage
accounts, or on one resource) and approve, reject or delete them.`,
	}
	cmd.AddCommand(newPLListCmd(), newPLDecideCmd("approve", "Approved"),
		newPLDecideCmd("reject", "Rejected"), newPLDeleteCmd())
	return cmd
}

// connectionColumns show a connection as the Private Link Center lists it.
var connectionColumns = []string{"status", "kind", "resource", "operation=properties.operationId", "id"}

func newPLListCmd() *cobra.Command {
	var sub, resourceID, operation, status string
	var pending bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List private endpoint connections across servers and storage accounts, or on one resource",
		Example: `  bacport private-link list --pending
  bacport private-link list --resource-id /subscriptions/…/providers/Microsoft.Sql/servers/srv1
  bacport private-link list --operation 6f1c2d3e-0000-4000-8000-1234567890ab -o json`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			if pending {
				status = "Pending"
			}
			path, err := plListPath(c, sub, resourceID, operation)
			if err != nil {
				return err
			}
			var out struct {
				Value []map[string]any `json:"value"`
			}
			if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &out); err != nil {
				return err
			}
			var keep []map[string]any
			for _, conn := range out.Value {
				if status == "" || strings.EqualFold(connectionStatus(conn), status) {
					keep = append(keep, conn)
				}
			}
			if keep == nil {
				keep = []map[string]any{}
			}
			if outputJSON(cmd) {
				return render(cmd, map[string]any{"value": keep})
			}
			for _, conn := range keep {
				id, _ := conn["id"].(string)
				resource, _, _ := strings.Cut(id, "/privateEndpointConnections/")
				conn["resource"] = lastSegment(resource)
				conn["kind"] = resourceKind(resource)
				conn["status"] = connectionStatus(conn)
			}
			return render(cmd, map[string]any{"value": keep}, connectionColumns...)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&sub, "subscription", "", "subscription ID (default: the profile's)")
	f.BoolVar(&pending, "pending", false, "only connections waiting for approval")
	f.StringVar(&status, "status", "", "only connections in this state: Pending, Approved, Rejected")
	f.StringVar(&resourceID, "resource-id", "", "only the connections of this SQL server or storage account")
	f.StringVar(&operation, "operation", "", "only the connections of this import/export request, "+
		"ended ones included")
	return cmd
}

// plListPath picks the list: one operation's, one resource's, or the
// subscription's Private Link Center.
func plListPath(c *apiClient, sub, resourceID, operation string) (string, error) {
	switch {
	case resourceID != "" && operation != "":
		return "", usageError{errors.New("give --resource-id or --operation, not both")}
	case operation != "":
		return "/bacport/operations/" + operation + "/privateEndpointConnections", nil
	case resourceID != "":
		if resourceKind(resourceID) == "resource" {
			return "", usageError{errors.New("--resource-id must be a SQL server or storage account ID, " +
				"as `bacport sql server show -o json` prints it")}
		}
		return strings.TrimRight(resourceID, "/") + "/privateEndpointConnections", nil
	}
	s, err := c.subscription(sub)
	if err != nil {
		return "", err
	}
	return "/subscriptions/" + s + "/providers/Bacport/privateEndpointConnections", nil
}

// connectionStatus reads a connection's state from an ARM document or an
// operation's connection view.
func connectionStatus(conn map[string]any) string {
	if s := lookup(conn, "properties.privateLinkServiceConnectionState.status"); s != "" {
		return s
	}
	return lookup(conn, "status")
}

func lastSegment(id string) string {
	return id[strings.LastIndexByte(id, '/')+1:]
}

// checkConnectionID refuses what is not a connection's resource ID.
func checkConnectionID(id string) error {
	if !strings.Contains(id, "/privateEndpointConnections/") || resourceKind(id) == "resource" {
		return usageError{fmt.Errorf("%q is not a private endpoint connection ID; copy it from "+
			"`bacport private-link list`", id)}
	}
	return nil
}

// newPLDecideCmd builds approve or reject. Both take connection resource
// IDs, on SQL servers and storage accounts alike.
func newPLDecideCmd(verb, status string) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use: verb + " CONNECTION-ID...",
		Short: strings.ToUpper(verb[:1]) + verb[1:] +
			" private endpoint connections on a SQL server or a storage account",
		Example: fmt.Sprintf(`  bacport private-link %s \
      /subscriptions/…/providers/Microsoft.Sql/servers/srv1/privateEndpointConnections/importexport-6f1c…
  bacport private-link %s --description "checked the ticket" ID1 ID2`, verb, verb),
		Args: cobra.MinimumNArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			for _, id := range args {
				if err := checkConnectionID(id); err != nil {
					return err
				}
			}
			for _, id := range args {
				state := map[string]any{"status": status, "description": description}
				body := map[string]any{"properties": map[string]any{
					"privateLinkServiceConnectionState": state,
				}}
				var out map[string]any
				if err := c.putAndWait(ctxOf(cmd), "PUT", id, body, &out); err != nil {
					return err
				}
				if outputJSON(cmd) {
					if err := render(cmd, out); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", connectionStatus(out), id)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&description, "description", "", "reason recorded with the decision")
	return cmd
}

func newPLDeleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete CONNECTION-ID",
		Short: "Delete a private endpoint connection; a job still using it loses its route and fails",
		Example: `  bacport private-link delete \
      /subscriptions/…/providers/Microsoft.Storage/storageAccounts/acct1/privateEndpointConnections/importexport-6f1c…`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			if err := checkConnectionID(args[0]); err != nil {
				return err
			}
			if err := c.putAndWait(ctxOf(cmd), "DELETE", args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", args[0])
			return nil
		}),
	}
	return cmd
}
