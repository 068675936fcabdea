package cli

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"
)

// dbRef holds the flags that locate a database.
type dbRef struct {
	serverRef
	database string
}

func (d *dbRef) bind(cmd *cobra.Command) {
	d.serverRef.bind(cmd)
	cmd.Flags().StringVarP(&d.database, "database-name", "d", "", "database name")
}

func (d *dbRef) path(c *apiClient) (string, error) {
	s, err := d.serverRef.path(c)
	if err != nil {
		return "", err
	}
	if d.database == "" {
		return "", usageError{errors.New("--database-name is required")}
	}
	return s + "/databases/" + d.database, nil
}

var dbColumns = []string{"name", "sku=sku.name", "edition=sku.tier", "properties.status",
	"properties.maxSizeBytes", "backupRedundancy=properties.requestedBackupStorageRedundancy"}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Manage databases; import and export them"}
	cmd.AddCommand(newDBCreateCmd(), newDBShowCmd(), newDBListCmd(), newDBDeleteCmd(),
		newExportCmd(), newImportCmd(), newStatusCmd(), newOperationCmd())
	return cmd
}

func newDBCreateCmd() *cobra.Command {
	var ref dbRef
	var edition, objective, redundancy, location string
	var maxSize int64
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a database on a SQL server",
		Example: "  bacport sql db create -g rg1 -s srv1 -d db1 --edition GeneralPurpose --service-objective-name GP_Gen5_2",
		Args:    cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := ref.path(c)
			if err != nil {
				return err
			}
			props := map[string]any{}
			if maxSize > 0 {
				props["maxSizeBytes"] = maxSize
			}
			if redundancy != "" {
				props["requestedBackupStorageRedundancy"] = redundancy
			}
			body := map[string]any{"location": location, "properties": props}
			if edition != "" || objective != "" {
				body["sku"] = map[string]any{"name": objective, "tier": edition}
			}
			var out map[string]any
			if err := c.putAndWait(ctxOf(cmd), "PUT", path, body, &out); err != nil {
				return err
			}
			return render(cmd, out, dbColumns...)
		}),
	}
	ref.bind(cmd)
	cmd.Flags().StringVar(&edition, "edition", "", "edition, e.g. GeneralPurpose, Hyperscale")
	cmd.Flags().StringVar(&objective, "service-objective-name", "", "service objective, e.g. GP_Gen5_2")
	cmd.Flags().Int64Var(&maxSize, "max-size-bytes", 0, "maximum size in bytes")
	cmd.Flags().StringVar(&redundancy, "backup-storage-redundancy", "", "Local, Zone, Geo or GeoZone")
	cmd.Flags().StringVar(&location, "location", "local", "location")
	return cmd
}

func newDBShowCmd() *cobra.Command {
	return newGetCmd("show", "Show a database", "  bacport sql db show -g rg1 -s srv1 -d db1",
		&dbRef{}, "", dbColumns...)
}

func newDBListCmd() *cobra.Command {
	return newGetCmd("list", "List a server's databases", "  bacport sql db list -g rg1 -s srv1",
		&serverRef{}, "/databases", dbColumns...)
}

func newDBDeleteCmd() *cobra.Command {
	return newDeleteCmd("Delete a database", "  bacport sql db delete -g rg1 -s srv1 -d db1", &dbRef{}, true)
}

// formatBytes prints a byte count for people.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
