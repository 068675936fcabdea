package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// accountRef holds the flags that locate a storage account.
type accountRef struct {
	scope
	account string
}

func (a *accountRef) bind(cmd *cobra.Command) {
	a.scope.bind(cmd)
	cmd.Flags().StringVarP(&a.account, "account-name", "n", "", "storage account name")
}

func (a *accountRef) path(c *apiClient) (string, error) {
	g, err := a.groupPath(c)
	if err != nil {
		return "", err
	}
	if a.account == "" {
		return "", usageError{errors.New("--account-name is required")}
	}
	return g + "/providers/Microsoft.Storage/storageAccounts/" + a.account, nil
}

var accountColumns = []string{"name", "mode=properties.mode", "properties.primaryEndpoints.blob",
	"network=properties.networkAcls.defaultAction", "properties.provisioningState"}

func newStorageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "storage", Short: "Storage accounts and blobs"}
	account := &cobra.Command{Use: "account", Short: "Manage storage accounts"}
	account.AddCommand(newAccountCreateCmd(), newAccountShowCmd(), newAccountListCmd(),
		newAccountUpdateCmd(), newAccountDeleteCmd(), newKeysCmd())
	cmd.AddCommand(account, newBlobCmd())
	return cmd
}

func newAccountCreateCmd() *cobra.Command {
	var ref accountRef
	var endpoint, key, sas, location string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an embedded storage account, or register an external Blob endpoint",
		Example: `  bacport storage account create -g rg1 -n acct1
  bacport storage account create -g rg1 -n azurite --external-endpoint http://127.0.0.1:10000/devstoreaccount1 \
      --external-key "$AZURITE_KEY"`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			props := map[string]any{}
			if endpoint != "" {
				k, err := secret(cmd, key, "BACPORT_EXTERNAL_KEY", "external account key")
				if err != nil && sas == "" {
					return err
				}
				ext := map[string]any{"blobEndpoint": endpoint}
				setIf(ext, "accountKey", k)
				setIf(ext, "sasToken", sas)
				props["external"] = ext
			}
			body := map[string]any{"location": location, "kind": "StorageV2",
				"sku": map[string]any{"name": "Standard_LRS"}, "properties": props}
			var out map[string]any
			if err := c.putAndWait(ctxOf(cmd), "PUT", path, body, &out); err != nil {
				return err
			}
			return render(cmd, out, accountColumns...)
		}),
	}
	ref.bind(cmd)
	cmd.Flags().StringVar(&endpoint, "external-endpoint", "", "blob endpoint of an external account (Azure, Azurite)")
	cmd.Flags().StringVar(&key, "external-key", "", "account key of the external account (or $BACPORT_EXTERNAL_KEY)")
	cmd.Flags().StringVar(&sas, "external-sas", "", "SAS token for the external account instead of a key")
	cmd.Flags().StringVar(&location, "location", "local", "location")
	return cmd
}

func newAccountShowCmd() *cobra.Command {
	return newGetCmd("show", "Show a storage account", "  bacport storage account show -g rg1 -n acct1 -o json",
		&accountRef{}, "", accountColumns...)
}

func newAccountUpdateCmd() *cobra.Command {
	var ref accountRef
	var action, bypass, public string
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change a storage account's network rules: default action, trusted-services bypass, public access",
		Long: `Change a storage account's network rules. With --default-action Deny only
trusted services get in, and only when --bypass includes AzureServices: an
import or export without network isolation then needs the bypass, and one
with network isolation reaches the account through its approved private
endpoint whatever the rules say.`,
		Example: `  bacport storage account update -g rg1 -n acct1 --default-action Deny --bypass None
  bacport storage account update -g rg1 -n acct1 --public-network-access Disabled`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			props := map[string]any{}
			if action != "" || bypass != "" {
				var cur struct {
					Properties struct {
						NetworkACLs map[string]any `json:"networkAcls"`
					} `json:"properties"`
				}
				if _, _, err := c.do(ctxOf(cmd), "GET", path, nil, &cur); err != nil {
					return err
				}
				acl := cur.Properties.NetworkACLs
				if acl == nil {
					acl = map[string]any{}
				}
				setIf(acl, "defaultAction", action)
				setIf(acl, "bypass", bypass)
				props["networkAcls"] = acl
			}
			setIf(props, "publicNetworkAccess", public)
			if len(props) == 0 {
				return usageError{errors.New("give --default-action, --bypass or --public-network-access")}
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "PATCH", path, map[string]any{"properties": props}, &out); err != nil {
				return err
			}
			return render(cmd, out, accountColumns...)
		}),
	}
	ref.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&action, "default-action", "", "Allow or Deny traffic that no rule lets in")
	f.StringVar(&bypass, "bypass", "", "AzureServices (let trusted services in) or None")
	f.StringVar(&public, "public-network-access", "", "Enabled or Disabled")
	return cmd
}

func newAccountDeleteCmd() *cobra.Command {
	return newDeleteCmd("Delete a storage account (an embedded one with its blobs)",
		"  bacport storage account delete -g rg1 -n acct1", &accountRef{}, false)
}

func newAccountListCmd() *cobra.Command {
	return newScopeListCmd("List storage accounts", "  bacport storage account list -g rg1",
		"Microsoft.Storage/storageAccounts", accountColumns...)
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List and regenerate a storage account's keys"}
	var ref accountRef
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the account keys",
		Example: "  bacport storage account keys list -g rg1 -n acct1 -o json",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var out map[string]any
			if _, _, err := c.do(ctxOf(cmd), "POST", path+"/listKeys", nil, &out); err != nil {
				return err
			}
			return render(cmd, map[string]any{"value": out["keys"]}, "keyName", "value", "permissions")
		}),
	}
	var keyName string
	renew := &cobra.Command{
		Use:     "renew",
		Short:   "Regenerate one account key",
		Example: "  bacport storage account keys renew -g rg1 -n acct1 --key key2",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var out map[string]any
			body := map[string]any{"keyName": keyName}
			if _, _, err := c.do(ctxOf(cmd), "POST", path+"/regenerateKey", body, &out); err != nil {
				return err
			}
			return render(cmd, map[string]any{"value": out["keys"]}, "keyName", "value", "permissions")
		}),
	}
	renew.Flags().StringVar(&keyName, "key", "key1", "key1 or key2")
	for _, sub := range []*cobra.Command{list, renew} {
		ref.bind(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}
