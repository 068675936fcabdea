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
	}
	cmd.AddCommand(newPLListCmd(), newPLDecideCmd("approve", "Approved"), newPLDecideCmd("reject", "Rejected"))
	return cmd
}

func newPLListCmd() *cobra.Command {
	var sub string
	var pending bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the private endpoint connections you may act on, across servers and storage accounts",
		Example: "  bacport private-link list --pending",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			s, err := c.subscription(sub)
			if err != nil {
				return err
			}
			path := "/subscriptions/" + s + "/providers/Bacport/privateEndpointConnections"
			if pending {
				path += "?status=Pending"
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, "id", "properties.privateLinkServiceConnectionState.status",
				"properties.operationId")
		}),
	}
	cmd.Flags().StringVar(&sub, "subscription", "", "subscription ID (default: the profile's)")
	cmd.Flags().BoolVar(&pending, "pending", false, "only connections waiting for approval")
	return cmd
}

// newPLDecideCmd builds approve or reject. Both take the connection's
// resource ID, on a SQL server or a storage account alike.
func newPLDecideCmd(verb, status string) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     verb + " CONNECTION-ID",
		Short:   strings.ToUpper(verb[:1]) + verb[1:] + " a private endpoint connection on a server or storage account",
		Example: fmt.Sprintf("  bacport private-link %s /subscriptions/…/providers/Microsoft.Sql/servers/srv1/privateEndpointConnections/pe-1", verb),
		Args:    cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			id := args[0]
			if !strings.Contains(id, "/privateEndpointConnections/") {
				return usageError{errors.New("pass a connection's full resource ID, as `bacport private-link list` shows it")}
			}
			if description == "" {
				description = status + " with the bacport CLI"
			}
			body := map[string]any{"properties": map[string]any{
				"privateLinkServiceConnectionState": map[string]any{"status": status, "description": description},
			}}
			var out map[string]any
			if err := c.putAndWait(ctxOf(cmd), "PUT", id, body, &out); err != nil {
				return err
			}
			if outputJSON(cmd) {
				return render(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", id, lookup(out, "properties.privateLinkServiceConnectionState.status"))
			return nil
		}),
	}
	cmd.Flags().StringVar(&description, "description", "", "reason recorded with the decision")
	return cmd
}
