package cli

import "github.com/spf13/cobra"

func newGroupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage resource groups"}
	var sub, location string
	groups := func(c *apiClient) (string, error) {
		s, err := c.subscription(sub)
		return "/subscriptions/" + s + "/resourcegroups", err
	}
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a resource group",
		Example: "  bacport group create rg1",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			base, err := groups(c)
			if err != nil {
				return err
			}
			var out map[string]any
			body := map[string]any{"location": location}
			if _, _, err := c.do(ctxOf(cmd), "PUT", base+"/"+args[0], body, &out); err != nil {
				return err
			}
			return render(cmd, out, "name", "location", "properties.provisioningState")
		}),
	}
	create.Flags().StringVar(&location, "location", "local", "location")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List resource groups",
		Example: "  bacport group list -o json",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			base, err := groups(c)
			if err != nil {
				return err
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "GET", base, nil, &out); err != nil {
				return err
			}
			return render(cmd, out, "name", "location")
		}),
	}
	del := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a resource group",
		Example: "  bacport group delete rg1",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			base, err := groups(c)
			if err != nil {
				return err
			}
			_, _, err = c.do(ctxOf(cmd), "DELETE", base+"/"+args[0], nil, nil)
			return err
		}),
	}
	for _, c := range []*cobra.Command{create, list, del} {
		c.Flags().StringVar(&sub, "subscription", "", "subscription ID (default: the profile's)")
		cmd.AddCommand(c)
	}
	return cmd
}
