package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// transferBody is every field an export, an import or a database extension
// may carry. Unknown fields are ignored, so old and new SDKs both fit.
type transferBody struct {
	StorageKeyType             string                  `json:"storageKeyType"`
	StorageKey                 string                  `json:"storageKey"`
	StorageURI                 string                  `json:"storageUri"`
	AdministratorLogin         string                  `json:"administratorLogin"`
	AdministratorLoginPassword string                  `json:"administratorLoginPassword"`
	AuthenticationType         string                  `json:"authenticationType"`
	NetworkIsolation           *store.NetworkIsolation `json:"networkIsolation"`

	DatabaseName                     string          `json:"databaseName"`
	Edition                          string          `json:"edition"`
	DatabaseEdition                  string          `json:"databaseEdition"`
	ServiceObjectiveName             string          `json:"serviceObjectiveName"`
	MaxSizeBytes                     json.RawMessage `json:"maxSizeBytes"`
	RequestedBackupStorageRedundancy string          `json:"requestedBackupStorageRedundancy"`
	OperationMode                    string          `json:"operationMode"`

	// Overwrite is a bacport extension: an export replaces an existing
	// blob only when it is true.
	Overwrite bool `json:"overwrite"`
}

func (s *Server) postExport(c *call) {
	var b transferBody
	if err := c.decode(&b); err != nil {
		c.writeError(err)
		return
	}
	s.submit(c, store.KindExport, "export", c.params[3], b, "")
}

func (s *Server) postImportNew(c *call) {
	var b transferBody
	if err := c.decode(&b); err != nil {
		c.writeError(err)
		return
	}
	if b.DatabaseName == "" {
		c.writeError(badRequest("MissingImportExportInputParameters", "databaseName is required"))
		return
	}
	s.submit(c, store.KindImportNew, "import", b.DatabaseName, b, "")
}

func (s *Server) postImportExisting(c *call) {
	var b transferBody
	if err := c.decode(&b); err != nil {
		c.writeError(err)
		return
	}
	s.submit(c, store.KindImportExisting, "databaseImport", c.params[3], b, "")
}

func (s *Server) putExtension(c *call) {
	var body struct {
		Properties transferBody `json:"properties"`
	}
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	b := body.Properties
	kind := ""
	switch strings.ToLower(b.OperationMode) {
	case "import":
		kind = store.KindImportExisting
	case "export":
		kind = store.KindExport
	case "polybaseimport":
		c.writeError(badRequest("DatabaseExtensionsInvalidOperationMode",
			"operationMode PolybaseImport is not supported by bacport; use Import or Export"))
		return
	default:
		c.writeError(badRequest("DatabaseExtensionsInvalidOperationMode",
			"properties.operationMode must be Import or Export"))
		return
	}
	if b.Edition == "" {
		b.Edition = b.DatabaseEdition
	}
	s.submit(c, kind, "extension", c.params[3], b, c.params[4])
}

// submit validates an import/export request, records and enqueues it, and
// answers 202 with the polling links.
func (s *Server) submit(c *call, kind, route, dbName string, b transferBody, extension string) {
	srvID := serverID(c.params)
	dbID := srvID + "/databases/" + dbName
	scope := dbID
	if kind == store.KindImportNew {
		scope = srvID
	}
	if !c.authorize(scope, auth.Contributor) {
		return
	}
	srv, err := c.getResource(srvID, "ResourceNotFound", "server")
	if err != nil {
		c.writeError(err)
		return
	}
	var sdoc serverDoc
	json.Unmarshal(srv.Doc, &sdoc)
	_, ssec, _ := store.ServerEngine(srv)

	if err := validateTransfer(&b); err != nil {
		c.writeError(err)
		return
	}
	if b.AdministratorLogin == "" && b.AdministratorLoginPassword == "" {
		// bacport extension: an authorized caller may rely on the server's
		// stored administrator credentials (old SDKs send none on the
		// extensions route).
		b.AdministratorLogin, b.AdministratorLoginPassword = sdoc.Properties.AdministratorLogin, ssec.AdministratorLoginPassword
	}
	if err := s.checkDatabaseState(c, kind, dbID, dbName, srv); err != nil {
		c.writeError(err)
		return
	}

	now := time.Now().UTC()
	op := &store.Operation{
		ID: newUUID(), Kind: kind, Route: route, ExtensionName: extension,
		Subscription: c.params[0], ResourceGroup: c.params[1],
		ServerID: sdoc.ID, ServerName: sdoc.Name, DatabaseName: dbName, Location: sdoc.Location,
		Request: store.OperationRequest{
			StorageURI: b.StorageURI, StorageKeyType: canonical(b.StorageKeyType, "StorageAccessKey", "SharedAccessKey"),
			AdministratorLogin: b.AdministratorLogin, AuthenticationType: b.AuthenticationType,
			Overwrite: b.Overwrite, NetworkIsolation: b.NetworkIsolation,
		},
		QueuedAt: now, ModifiedAt: now,
		PrincipalID: c.id.Principal.ID, PrincipalName: c.id.Principal.Name,
		APIVersion: c.apiVersion,
	}
	if kind == store.KindImportNew || extension != "" {
		op.Request.Edition, op.Request.ServiceObjectiveName = b.Edition, b.ServiceObjectiveName
		op.Request.MaxSizeBytes = strings.Trim(string(b.MaxSizeBytes), `"`)
		if op.Request.MaxSizeBytes == "null" {
			op.Request.MaxSizeBytes = ""
		}
		if r := b.RequestedBackupStorageRedundancy; r != "" {
			if !oneOf(r, "Local", "Zone", "Geo", "GeoZone") {
				c.writeError(badRequest("InvalidBackupStorageRedundancy",
					"requestedBackupStorageRedundancy must be Local, Zone, Geo or GeoZone"))
				return
			}
			op.Request.BackupStorageRedundancy = canonical(r, "Local", "Zone", "Geo", "GeoZone")
		}
	}
	secret := store.OperationSecret{StorageKey: b.StorageKey, AdministratorLoginPassword: b.AdministratorLoginPassword}

	if running, _ := s.cfg.Store.ActiveOn(c.ctx(), dbID); running != nil {
		c.writeError(inProgress(running))
		return
	}
	if err := s.cfg.Runner.Preflight(c.ctx(), op, secret); err != nil {
		c.writeError(preflightError(err))
		return
	}
	err = s.cfg.Runner.Submit(c.ctx(), op, secret)
	var running *store.RunningError
	if errors.As(err, &running) {
		c.writeError(inProgress(running.Running))
		return
	}
	if err != nil {
		c.writeError(err)
		return
	}
	c.log.Info("operation accepted", "operation", op.ID, "kind", kind, "database", dbName)
	s.writeAccepted(c, op)
}

func preflightError(err error) error {
	var je *jobs.Error
	if errors.As(err, &je) {
		status := http.StatusBadRequest
		switch je.Code {
		case jobs.CodeEngineUnreachable:
			status = http.StatusServiceUnavailable
		case "ResourceNotFound", jobs.CodeDatabaseMissing:
			status = http.StatusNotFound
		}
		return errorf(status, je.Code, je.Message)
	}
	return err
}

// writeAccepted answers 202 with absolute Location and Azure-AsyncOperation
// links that carry the caller's api-version, and Retry-After.
func (s *Server) writeAccepted(c *call, op *store.Operation) {
	h := c.w.Header()
	h.Set("Location", c.link(resultPath(op)))
	h.Set("Azure-AsyncOperation", c.link(asyncPath(op)))
	s.retryHeaders(c)
	c.writeJSON(http.StatusAccepted, map[string]string{
		"operation": requestType(op), "startTime": op.QueuedAt.Format(time.RFC3339Nano),
	})
}

func (s *Server) retryHeaders(c *call) {
	secs := int(s.cfg.RetryAfter.Round(time.Second) / time.Second)
	c.w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	c.w.Header().Set("Retry-After-Ms", strconv.FormatInt(s.cfg.RetryAfter.Milliseconds(), 10))
}

func resultPath(op *store.Operation) string {
	return "/subscriptions/" + op.Subscription + "/providers/Microsoft.Sql/locations/" +
		url.PathEscape(op.Location) + "/importExportOperationResults/" + op.ID
}

func asyncPath(op *store.Operation) string {
	return "/subscriptions/" + op.Subscription + "/providers/Microsoft.Sql/locations/" +
		url.PathEscape(op.Location) + "/importExportAzureAsyncOperation/" + op.ID
}

func inProgress(op *store.Operation) error {
	return &Error{Status: http.StatusConflict, Code: "ImportExportOperationInProgress",
		Message: fmt.Sprintf("There is an import or export operation in progress on the database: "+
			"%s operation %s (status %s, queued %s). Wait for it to end, or cancel it with "+
			"POST …/databases/%s/operations/%s/cancel.", requestType(op), op.ID, op.Status,
			op.QueuedAt.Format(time.RFC3339), op.DatabaseName, op.ID),
		Target: op.ID}
}

// validateTransfer checks the shape of a request before anything is
// reached.
func validateTransfer(b *transferBody) error {
	var missing []string
	if b.StorageKeyType == "" {
		missing = append(missing, "storageKeyType")
	}
	if b.StorageKey == "" {
		missing = append(missing, "storageKey")
	}
	if b.StorageURI == "" {
		missing = append(missing, "storageUri")
	}
	if (b.AdministratorLogin == "") != (b.AdministratorLoginPassword == "") {
		missing = append(missing, "administratorLogin and administratorLoginPassword (give both or neither)")
	}
	if len(missing) > 0 {
		return badRequest("MissingImportExportInputParameters", "missing "+strings.Join(missing, ", "))
	}
	switch {
	case strings.EqualFold(b.StorageKeyType, "StorageAccessKey"):
		if k, err := base64.StdEncoding.DecodeString(b.StorageKey); err != nil || len(k) == 0 {
			return badRequest("InvalidImportExportStorageKeyFormat",
				"storageKey must be a base64 storage account key when storageKeyType is StorageAccessKey")
		}
	case strings.EqualFold(b.StorageKeyType, "SharedAccessKey"):
		if _, err := url.ParseQuery(strings.TrimPrefix(b.StorageKey, "?")); err != nil ||
			!strings.Contains(b.StorageKey, "sig=") {
			return badRequest("InvalidImportExportStorageKeyFormat",
				"storageKey must be a SAS token (sv=…&sig=…) when storageKeyType is SharedAccessKey")
		}
	case strings.EqualFold(b.StorageKeyType, "ManagedIdentity"):
		return badRequest("InvalidImportExportStorageAuthType",
			"storageKeyType ManagedIdentity is not supported by bacport; use StorageAccessKey or SharedAccessKey")
	default:
		return badRequest("DatabaseExtensionsInvalidStorageKeyType",
			"storageKeyType must be StorageAccessKey or SharedAccessKey")
	}
	if t := b.AuthenticationType; t != "" && !strings.EqualFold(t, "sql") {
		return badRequest("InvalidSqlAuthType", "authenticationType "+t+
			" is not supported by bacport; use Sql with administratorLogin and administratorLoginPassword")
	}
	if len(b.StorageURI) > 1024 {
		return badRequest("LongImportExportStorageUri", "storageUri is longer than 1024 characters")
	}
	u, err := url.Parse(b.StorageURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.Count(strings.Trim(u.Path, "/"), "/") < 1 || u.RawQuery != "" {
		return badRequest("InvalidImportExportStorageURI", "storageUri must be a blob URL such as "+
			"https://account.blob.core.windows.net/container/name.bacpac, without a query "+
			"(put a SAS in storageKey)")
	}
	if b.NetworkIsolation != nil && (b.NetworkIsolation.SQLServerResourceID == "" ||
		b.NetworkIsolation.StorageAccountResourceID == "") {
		return badRequest("InvalidImportExportInputParameter",
			"networkIsolation needs both sqlServerResourceId and storageAccountResourceId")
	}
	return nil
}

// checkDatabaseState checks that the database is there (export, import
// into an existing database) or absent and well named (import into a new
// database).
func (s *Server) checkDatabaseState(c *call, kind, dbID, name string, srv *store.Resource) error {
	_, err := s.cfg.Store.GetResource(c.ctx(), dbID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if kind != store.KindImportNew {
		if !exists {
			return notFound("DatabaseDoesNotExist", "database "+name+" does not exist on server "+c.params[2])
		}
		return nil
	}
	if err := checkDatabaseName(name); err != nil {
		return err
	}
	if exists {
		return errorf(http.StatusConflict, jobs.CodeDatabaseExists, "database "+name+" already exists; "+
			"choose a new name, or import into it with POST …/databases/"+name+"/import if it is empty")
	}
	drv, cfg, err := engineFor(srv, name) // SQLite finds its directory only with a name
	if err != nil {
		return err
	}
	names, err := drv.Databases(c.ctx(), cfg)
	if err != nil {
		return engineError(err, "listed its databases")
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return errorf(http.StatusConflict, jobs.CodeDatabaseExists, "the engine already holds a "+
				"database named "+name+"; choose a new name")
		}
	}
	return nil
}

func requestType(op *store.Operation) string {
	if op.Kind == store.KindExport {
		return "Export"
	}
	return "Import"
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }
