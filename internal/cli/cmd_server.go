package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newSQLCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sql", Short: "SQL servers, databases, import and export"}
	cmd.AddCommand(newServerCmd(), newDBCmd())
	return cmd
}

// serverRef holds the flags that locate a SQL server.
type serverRef struct {
	scope
	server string
}

func (s *serverRef) bind(cmd *cobra.Command) {
	s.scope.bind(cmd)
	cmd.Flags().StringVarP(&s.server, "server-name", "s", "", "SQL server name")
}

func (s *serverRef) path(c *apiClient) (string, error) {
	g, err := s.groupPath(c)
	if err != nil {
		return "", err
	}
	if s.server == "" {
		return "", usageError{errors.New("--server-name is required")}
	}
	return g + "/providers/Microsoft.Sql/servers/" + s.server, nil
}

func newServerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "server", Short: "Manage SQL servers and their network settings"}
	cmd.AddCommand(newServerCreateCmd(), newServerShowCmd(), newServerListCmd(),
		newServerDeleteCmd(), newFirewallCmd(), newAllowAzureCmd(), newPublicAccessCmd(),
		newHistoryCmd())
	return cmd
}

var serverColumns = []string{"name", "properties.engine.type", "properties.state",
	"properties.publicNetworkAccess", "properties.administratorLogin"}

func newServerCreateCmd() *cobra.Command {
	var ref serverRef
	var engine, dsn, login, password, location string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a SQL server bound to a database engine",
		Example: `  bacport sql server create -g rg1 -s srv1 --administrator-login admin1
  bacport sql server create -g rg1 -s pg1 --engine postgres --dsn postgres://127.0.0.1:5432/ \
      --administrator-login postgres`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			if login == "" {
				return usageError{errors.New("--administrator-login is required: the login the " +
					"server's engine knows its administrator by")}
			}
			pw, err := secret(cmd, password, "BACPORT_ADMINISTRATOR_LOGIN_PASSWORD", "administrator login password")
			if err != nil {
				return err
			}
			props := map[string]any{"administratorLogin": login, "administratorLoginPassword": pw}
			if engine != "" && engine != "sqlite" || dsn != "" {
				props["engine"] = map[string]any{"type": engine, "dsn": dsn}
			}
			var out map[string]any
			body := map[string]any{"location": location, "properties": props}
			if err := c.putAndWait(ctxOf(cmd), "PUT", path, body, &out); err != nil {
				return err
			}
			return render(cmd, out, serverColumns...)
		}),
	}
	ref.bind(cmd)
	cmd.Flags().StringVar(&engine, "engine", "sqlite", "database engine: sqlite, postgres or mysql")
	cmd.Flags().StringVar(&dsn, "dsn", "", "engine address, e.g. postgres://127.0.0.1:5432/ (sqlite: embedded)")
	cmd.Flags().StringVar(&login, "administrator-login", "", "administrator login")
	cmd.Flags().StringVar(&password, "administrator-login-password", "",
		"administrator password (or $BACPORT_ADMINISTRATOR_LOGIN_PASSWORD, or a prompt)")
	cmd.Flags().StringVar(&location, "location", "local", "location")
	return cmd
}

func newServerShowCmd() *cobra.Command {
	return newGetCmd("show", "Show a SQL server", "  bacport sql server show -g rg1 -s srv1 -o json",
		&serverRef{}, "", serverColumns...)
}

func newServerListCmd() *cobra.Command {
	return newScopeListCmd("List SQL servers in a resource group (or the subscription)",
		"  bacport sql server list -g rg1", "Microsoft.Sql/servers", serverColumns...)
}

func newServerDeleteCmd() *cobra.Command {
	return newDeleteCmd("Delete a SQL server resource", "  bacport sql server delete -g rg1 -s srv1", &serverRef{}, true)
}

// allowAzureRule is the firewall rule name for "allow Azure services".
const allowAzureRule = "AllowAllWindowsAzureIps"

func newFirewallCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "firewall-rule", Short: "Manage a server's firewall rules"}
	var ref serverRef
	var name, start, end string
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create or update a firewall rule",
		Example: "  bacport sql server firewall-rule create -g rg1 -s srv1 --name office --start-ip 10.0.0.1 --end-ip 10.0.0.9",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var out map[string]any
			body := map[string]any{"properties": map[string]any{"startIpAddress": start, "endIpAddress": end}}
			if _, _, err := c.do(ctxOf(cmd), "PUT", path+"/firewallRules/"+name, body, &out); err != nil {
				return err
			}
			return render(cmd, out, "name", "properties.startIpAddress", "properties.endIpAddress")
		}),
	}
	create.Flags().StringVar(&start, "start-ip", "", "first address of the range")
	create.Flags().StringVar(&end, "end-ip", "", "last address of the range")
	create.MarkFlagRequired("start-ip")
	create.MarkFlagRequired("end-ip")
	list := newGetCmd("list", "List firewall rules", "  bacport sql server firewall-rule list -g rg1 -s srv1",
		&ref, "/firewallRules", "name", "properties.startIpAddress", "properties.endIpAddress")
	del := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a firewall rule",
		Example: "  bacport sql server firewall-rule delete -g rg1 -s srv1 --name office",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			_, _, err = c.do(ctxOf(cmd), "DELETE", path+"/firewallRules/"+name, nil, nil)
			return err
		}),
	}
	for _, sub := range []*cobra.Command{create, list, del} {
		if sub != list { // newGetCmd has bound list's flags
			ref.bind(sub)
			sub.Flags().StringVar(&name, "name", "", "firewall rule name")
			sub.MarkFlagRequired("name")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

func newAllowAzureCmd() *cobra.Command {
	var ref serverRef
	cmd := &cobra.Command{
		Use:   "allow-azure-services on|off",
		Short: "Let the import/export service in over the public path (the 0.0.0.0 firewall rule)",
		Example: `  bacport sql server allow-azure-services on -g rg1 -s srv1
  bacport sql server allow-azure-services off -g rg1 -s srv1`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			rule := path + "/firewallRules/" + allowAzureRule
			switch strings.ToLower(args[0]) {
			case "on":
				body := map[string]any{"properties": map[string]any{"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}
				_, _, err = c.do(ctxOf(cmd), "PUT", rule, body, nil)
			case "off":
				_, _, err = c.do(ctxOf(cmd), "DELETE", rule, nil, nil)
			default:
				return usageError{fmt.Errorf("want on or off, got %q", args[0])}
			}
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Allow Azure services: %s for server %s\n", strings.ToLower(args[0]), ref.server)
			}
			return err
		}),
	}
	ref.bind(cmd)
	return cmd
}

func newPublicAccessCmd() *cobra.Command {
	var ref serverRef
	cmd := &cobra.Command{
		Use:     "public-network-access Enabled|Disabled",
		Short:   "Turn the server's public network access on or off",
		Example: "  bacport sql server public-network-access Disabled -g rg1 -s srv1",
		Args:    cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, args []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			var value string
			switch strings.ToLower(args[0]) {
			case "enabled", "on":
				value = "Enabled"
			case "disabled", "off":
				value = "Disabled"
			default:
				return usageError{fmt.Errorf("want Enabled or Disabled, got %q", args[0])}
			}
			var out map[string]any
			body := map[string]any{"properties": map[string]any{"publicNetworkAccess": value}}
			if err := c.putAndWait(ctxOf(cmd), "PATCH", path, body, &out); err != nil {
				return err
			}
			return render(cmd, out, serverColumns...)
		}),
	}
	ref.bind(cmd)
	return cmd
}
