package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// transferFlags are the parameters New-AzSqlDatabaseExport,
// New-AzSqlDatabaseImport and New-AzSqlDatabaseImportExisting share, as
// kebab-case flags.
type transferFlags struct {
	dbRef
	storageKeyType     string
	storageKey         string
	storageURI         string
	login              string
	password           string
	authenticationType string
	isolation          bool
	storageAccountID   string
	sqlServerID        string
	wait               bool
}

func (f *transferFlags) bind(cmd *cobra.Command) {
	f.dbRef.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.storageKeyType, "storage-key-type", "StorageAccessKey", "StorageAccessKey or SharedAccessKey")
	fl.StringVar(&f.storageKey, "storage-key", "", "storage account key or SAS token (or $BACPORT_STORAGE_KEY)")
	fl.StringVar(&f.storageURI, "storage-uri", "", "blob URI of the .bacpac, e.g. https://host/acct/container/db.bacpac")
	fl.StringVar(&f.login, "administrator-login", "", "SQL administrator login")
	fl.StringVar(&f.password, "administrator-login-password", "",
		"SQL administrator password (or $BACPORT_ADMINISTRATOR_LOGIN_PASSWORD, or a prompt; never echoed)")
	fl.StringVar(&f.authenticationType, "authentication-type", "Sql",
		"Sql: administrator login and password (the one type bacport supports)")
	fl.BoolVar(&f.isolation, "use-network-isolation", false, "run the job over private endpoints (Private Link)")
	fl.StringVar(&f.storageAccountID, "storage-account-resource-id-for-private-link", "",
		"resource ID of the storage account of --storage-uri")
	fl.StringVar(&f.sqlServerID, "sql-server-resource-id-for-private-link", "", "resource ID of the SQL server")
	fl.BoolVar(&f.wait, "wait", false, "follow the job until it ends, showing progress")
}

// body builds the request body shared by export and both imports.
func (f *transferFlags) body(cmd *cobra.Command) (map[string]any, error) {
	if f.storageURI == "" {
		return nil, usageError{errors.New("--storage-uri is required")}
	}
	switch strings.ToLower(f.storageKeyType) {
	case "storageaccesskey":
		f.storageKeyType = "StorageAccessKey"
	case "sharedaccesskey":
		f.storageKeyType = "SharedAccessKey"
	default:
		return nil, usageError{fmt.Errorf("--storage-key-type must be StorageAccessKey or SharedAccessKey, not %q", f.storageKeyType)}
	}
	if f.login == "" {
		return nil, usageError{errors.New("--administrator-login is required")}
	}
	key, err := secret(cmd, f.storageKey, "BACPORT_STORAGE_KEY", "storage key")
	if err != nil {
		return nil, err
	}
	pw, err := secret(cmd, f.password, "BACPORT_ADMINISTRATOR_LOGIN_PASSWORD", "administrator login password")
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"storageKeyType": f.storageKeyType, "storageKey": key, "storageUri": f.storageURI,
		"administratorLogin": f.login, "administratorLoginPassword": pw,
		"authenticationType": f.authenticationType,
	}
	hasIDs := f.storageAccountID != "" || f.sqlServerID != ""
	switch {
	case f.isolation && (f.storageAccountID == "" || f.sqlServerID == ""):
		return nil, usageError{errors.New("--use-network-isolation needs --storage-account-resource-id-for-private-link " +
			"and --sql-server-resource-id-for-private-link")}
	case !f.isolation && hasIDs:
		return nil, usageError{errors.New("the private link resource IDs need --use-network-isolation")}
	case f.isolation:
		body["networkIsolation"] = map[string]any{
			"storageAccountResourceId": f.storageAccountID, "sqlServerResourceId": f.sqlServerID,
		}
	}
	return body, nil
}

func newExportCmd() *cobra.Command {
	var f transferFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a database to a BACPAC in blob storage (New-AzSqlDatabaseExport)",
		Long: `Export a database to a BACPAC package in blob storage, as New-AzSqlDatabaseExport
does: each cmdlet parameter is a kebab-case flag (-StorageKeyType is
--storage-key-type, and so on).

The storage key and the administrator password can come from a flag, from
$BACPORT_STORAGE_KEY and $BACPORT_ADMINISTRATOR_LOGIN_PASSWORD, or from a
prompt on a terminal; they are never echoed.

Without --wait the command prints the operation's status link and request
ID and returns. With --wait it follows the job live (a progress bar on a
terminal, plain lines otherwise) and exits 0 when it completes, 1 when it
fails and 3 when it is cancelled. With --use-network-isolation the job waits
until the private endpoints bacport creates on the server and the storage
account are approved; --wait names them and prints the approve commands.`,
		Example: `  bacport sql db export -g rg1 -s srv1 -d db1 --storage-uri https://127.0.0.1:10443/acct1/bacpacs/db1.bacpac \
      --storage-key "$KEY" --administrator-login admin1 --wait
  bacport sql db export -g rg1 -s srv1 -d db1 --storage-uri https://127.0.0.1:10443/acct1/bacpacs/db1.bacpac \
      --administrator-login admin1 --use-network-isolation \
      --sql-server-resource-id-for-private-link /subscriptions/SUB/resourceGroups/rg1/providers/Microsoft.Sql/servers/srv1 \
      --storage-account-resource-id-for-private-link \
      /subscriptions/SUB/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/acct1 --wait`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			path, err := f.path(c)
			if err != nil {
				return err
			}
			body, err := f.body(cmd)
			if err != nil {
				return err
			}
			return startTransfer(cmd, c, path+"/export", body, f.wait)
		}),
	}
	f.bind(cmd)
	return cmd
}

func newImportCmd() *cobra.Command {
	var f transferFlags
	var existing bool
	var edition, objective, redundancy string
	var maxSize int64
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a BACPAC into a new database (New-AzSqlDatabaseImport) or an empty one (--existing)",
		Long: `Import a BACPAC package from blob storage into a new database, as
New-AzSqlDatabaseImport does (--database-name, --edition,
--service-objective-name, --database-max-size-bytes), or with --existing into
an existing empty database, as New-AzSqlDatabaseImportExisting does.

Unlike the original service, bacport lets an import over Private Link
choose --backup-storage-redundancy, and imports into a new database with
network isolation through the REST API too.

Secrets, --wait, exit codes and network isolation work as for export (see
` + "`bacport sql db export --help`" + `).`,
		Example: `  bacport sql db import -g rg1 -s srv1 -d db2 --edition GeneralPurpose --service-objective-name GP_Gen5_2 \
      --database-max-size-bytes 1073741824 --storage-uri https://127.0.0.1:10443/acct1/bacpacs/db1.bacpac \
      --storage-key "$KEY" --administrator-login admin1 --wait
  bacport sql db import --existing -g rg1 -s srv1 -d emptydb --storage-uri … --storage-key "$KEY" \
      --administrator-login admin1`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
			body, err := f.body(cmd)
			if err != nil {
				return err
			}
			if existing {
				if edition != "" || objective != "" || redundancy != "" || maxSize > 0 {
					return usageError{errors.New("--edition, --service-objective-name, " +
						"--database-max-size-bytes and --backup-storage-redundancy describe a new " +
						"database; leave them out with --existing")}
				}
				path, err := f.path(c)
				if err != nil {
					return err
				}
				return startTransfer(cmd, c, path+"/import", body, f.wait)
			}
			server, err := f.serverRef.path(c)
			if err != nil {
				return err
			}
			if f.database == "" {
				return usageError{errors.New("--database-name is required")}
			}
			body["databaseName"] = f.database
			setIf(body, "edition", edition)
			setIf(body, "serviceObjectiveName", objective)
			setIf(body, "requestedBackupStorageRedundancy", redundancy)
			if maxSize > 0 {
				body["maxSizeBytes"] = strconv.FormatInt(maxSize, 10)
			}
			return startTransfer(cmd, c, server+"/import", body, f.wait)
		}),
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&existing, "existing", false,
		"import into an existing empty database (New-AzSqlDatabaseImportExisting)")
	cmd.Flags().StringVar(&edition, "edition", "", "edition of the new database, e.g. GeneralPurpose, Hyperscale")
	cmd.Flags().StringVar(&objective, "service-objective-name", "", "service objective of the new database")
	cmd.Flags().Int64Var(&maxSize, "database-max-size-bytes", 0, "maximum size of the new database")
	cmd.Flags().StringVar(&redundancy, "backup-storage-redundancy", "",
		"backup storage redundancy of the new database: Local, Zone, Geo or GeoZone")
	return cmd
}

func setIf(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// startTransfer posts an import or export, prints the status link (as the
// cmdlets' OperationStatusLink) and, with --wait, follows the job.
func startTransfer(cmd *cobra.Command, c *apiClient, path string, body map[string]any, wait bool) error {
	h, _, err := c.do(ctxOf(cmd), "POST", path, body, nil)
	if err != nil {
		return err
	}
	link := h.Get("Location")
	if !strings.Contains(link, "/importExportOperationResults/") {
		return errors.New("the server accepted the request but sent no status link; " +
			"find it with `bacport sql server import-export-history`")
	}
	_, id, err := resolveOperation(cmd, c, link)
	if err != nil {
		return err
	}
	if wait {
		return follow(cmd, c, id, link)
	}
	res, err := fetchResult(cmd, c, link)
	if err != nil {
		return err
	}
	return printStatus(cmd, res)
}
