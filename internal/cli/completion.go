package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// addCompletions teaches the shell completion (bacport completion bash|zsh)
// the values of flags: fixed choices, and the names of resource groups,
// servers, databases and storage accounts, asked of the server with the
// saved profile.
func addCompletions(c *cobra.Command) {
	fixed := map[string][]string{
		"storage-key-type":          {"StorageAccessKey", "SharedAccessKey"},
		"authentication-type":       {"Sql"},
		"backup-storage-redundancy": {"Local", "Zone", "Geo", "GeoZone"},
		"edition": {"Basic", "Standard", "Premium", "GeneralPurpose", "BusinessCritical",
			"Hyperscale"},
		"engine": {"sqlite", "postgres", "mysql"},
		"status": {"Pending", "Approved", "Rejected", "InProgress", "Completed", "Failed",
			"Cancelled"},
		"type": {"export", "import", "importExisting"},
		"key":  {"key1", "key2"},
	}
	for name, values := range fixed {
		if c.Flags().Lookup(name) != nil {
			complete := cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
			c.RegisterFlagCompletionFunc(name, complete)
		}
	}
	names := map[string]func(cmd *cobra.Command, sub string) string{
		"resource-group": func(_ *cobra.Command, sub string) string {
			return "/subscriptions/" + sub + "/resourceGroups"
		},
		"server-name": func(cmd *cobra.Command, sub string) string {
			return groupScope(cmd, sub) + "/providers/Microsoft.Sql/servers"
		},
		"account-name": func(cmd *cobra.Command, sub string) string {
			return groupScope(cmd, sub) + "/providers/Microsoft.Storage/storageAccounts"
		},
		"database-name": func(cmd *cobra.Command, sub string) string {
			srv, _ := cmd.Flags().GetString("server-name")
			if srv == "" {
				return ""
			}
			return groupScope(cmd, sub) + "/providers/Microsoft.Sql/servers/" + srv + "/databases"
		},
	}
	for name, list := range names {
		if c.Flags().Lookup(name) != nil {
			c.RegisterFlagCompletionFunc(name, completeNames(list))
		}
	}
	for _, sub := range c.Commands() {
		addCompletions(sub)
	}
}

func groupScope(cmd *cobra.Command, sub string) string {
	scope := "/subscriptions/" + sub
	if rg, _ := cmd.Flags().GetString("resource-group"); rg != "" {
		scope += "/resourceGroups/" + rg
	}
	return scope
}

// completeNames lists the names of the resources at the path list builds;
// any failure completes nothing rather than printing an error into the
// shell.
func completeNames(list func(cmd *cobra.Command, sub string) string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		const none = cobra.ShellCompDirectiveNoFileComp
		c, err := client()
		if err != nil {
			return nil, none
		}
		flag, _ := cmd.Flags().GetString("subscription")
		sub, err := c.subscription(flag)
		if err != nil {
			return nil, none
		}
		path := list(cmd, sub)
		if path == "" {
			return nil, none
		}
		ctx, cancel := context.WithTimeout(ctxOf(cmd), 5*time.Second)
		defer cancel()
		var out struct {
			Value []struct {
				Name string `json:"name"`
			} `json:"value"`
		}
		if _, _, err := c.do(ctx, "GET", path, nil, &out); err != nil {
			return nil, none
		}
		var names []string
		for _, v := range out.Value {
			names = append(names, v.Name)
		}
		return names, none
	}
}
