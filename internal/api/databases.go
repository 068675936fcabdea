package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/store"
)

type skuDoc struct {
	Name     string `json:"name"`
	Tier     string `json:"tier,omitempty"`
	Family   string `json:"family,omitempty"`
	Capacity *int32 `json:"capacity,omitempty"`
}

type databaseDoc struct {
	armHead
	Kind       string        `json:"kind"`
	Sku        skuDoc        `json:"sku"`
	Properties databaseProps `json:"properties"`
}

type databaseProps struct {
	Collation                        string `json:"collation"`
	MaxSizeBytes                     int64  `json:"maxSizeBytes"`
	Status                           string `json:"status"`
	DatabaseID                       string `json:"databaseId"`
	CreationDate                     string `json:"creationDate"`
	CurrentServiceObjectiveName      string `json:"currentServiceObjectiveName"`
	RequestedServiceObjectiveName    string `json:"requestedServiceObjectiveName"`
	CurrentSku                       skuDoc `json:"currentSku"`
	Edition                          string `json:"edition,omitempty"`
	RequestedBackupStorageRedundancy string `json:"requestedBackupStorageRedundancy"`
	CurrentBackupStorageRedundancy   string `json:"currentBackupStorageRedundancy"`
	CatalogCollation                 string `json:"catalogCollation"`
	ZoneRedundant                    bool   `json:"zoneRedundant"`
}

type databaseBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Sku        *skuDoc           `json:"sku"`
	Properties struct {
		MaxSizeBytes                     *int64  `json:"maxSizeBytes"`
		RequestedBackupStorageRedundancy *string `json:"requestedBackupStorageRedundancy"`
		Collation                        *string `json:"collation"`
		Edition                          *string `json:"edition"`
		RequestedServiceObjectiveName    *string `json:"requestedServiceObjectiveName"`
		CreateMode                       *string `json:"createMode"`
	} `json:"properties"`
}

const defaultMaxSize = 32 << 30

// skuFor builds a sku from a service objective and/or an edition; either
// may be empty. Every edition and objective is accepted: the engine is the
// operator's, so they are labels, not limits.
func skuFor(objective, edition string) skuDoc {
	if objective == "" && edition == "" {
		two := int32(2)
		return skuDoc{Name: "GP_Gen5_2", Tier: "GeneralPurpose", Family: "Gen5", Capacity: &two}
	}
	if edition == "" {
		switch up := strings.ToUpper(objective); {
		case strings.HasPrefix(up, "GP_"):
			edition = "GeneralPurpose"
		case strings.HasPrefix(up, "BC_"):
			edition = "BusinessCritical"
		case strings.HasPrefix(up, "HS_"):
			edition = "Hyperscale"
		case up == "BASIC":
			edition = "Basic"
		case strings.HasPrefix(up, "S"):
			edition = "Standard"
		case strings.HasPrefix(up, "P"):
			edition = "Premium"
		}
	}
	if objective == "" {
		switch strings.ToLower(edition) {
		case "basic":
			objective = "Basic"
		case "standard":
			objective = "S0"
		case "premium":
			objective = "P1"
		case "hyperscale":
			objective = "HS_Gen5_2"
		case "businesscritical":
			objective = "BC_Gen5_2"
		default:
			objective = "GP_Gen5_2"
		}
	}
	return skuDoc{Name: objective, Tier: edition}
}

func newDatabaseDoc(id, name, location string, sku skuDoc, maxSize int64, redundancy string) *databaseDoc {
	if maxSize <= 0 {
		maxSize = defaultMaxSize
	}
	if redundancy == "" {
		redundancy = "Geo"
	}
	return &databaseDoc{
		armHead: armHead{ID: id, Name: name, Type: typeDatabase, Location: location},
		Kind:    "v12.0,user",
		Sku:     sku,
		Properties: databaseProps{
			Collation: "SQL_Latin1_General_CP1_CI_AS", CatalogCollation: "SQL_Latin1_General_CP1_CI_AS",
			MaxSizeBytes: maxSize, Status: "Online", DatabaseID: newUUID(),
			CreationDate:                time.Now().UTC().Format(time.RFC3339),
			CurrentServiceObjectiveName: sku.Name, RequestedServiceObjectiveName: sku.Name,
			CurrentSku: sku, Edition: sku.Tier,
			RequestedBackupStorageRedundancy: redundancy, CurrentBackupStorageRedundancy: redundancy,
		},
	}
}

// checkDatabaseName applies Azure SQL's naming rules.
func checkDatabaseName(name string) error {
	switch strings.ToLower(name) {
	case "master", "tempdb", "model", "msdb":
		return badRequest("CannotUseReservedDatabaseName", "the name "+name+
			" is reserved for a system database; choose another")
	}
	if name == "" || len(name) > 128 || strings.ContainsAny(name, `<>*%&:\/?`) ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") || strings.ContainsAny(name, "\x00\n\r\t") {
		return badRequest("InvalidDatabaseName", "database names are 1-128 characters, without "+
			`<>*%&:\/? or control characters, and do not end with a period or a space`)
	}
	return nil
}

// engineFor returns the driver and configuration that reach a database of
// a server with the server's own administrator credentials.
func engineFor(srv *store.Resource, database string) (engine.Driver, engine.Config, error) {
	_, sec, err := store.ServerEngine(srv)
	if err != nil {
		return nil, engine.Config{}, err
	}
	var doc serverDoc
	json.Unmarshal(srv.Doc, &doc)
	drv, err := engine.Lookup(sec.EngineDSN)
	if err != nil {
		return nil, engine.Config{}, badRequest("EngineNotAvailable",
			"this bacport has no driver for engine "+doc.Properties.Engine.Type)
	}
	return drv, engine.Config{DSN: sec.EngineDSN, Database: database,
		Login: doc.Properties.AdministratorLogin, Password: sec.AdministratorLoginPassword}, nil
}

func engineError(err error, what string) error {
	switch {
	case errors.Is(err, engine.ErrAuth):
		return badRequest("LoginFailed", "the engine refused the server's administrator credentials "+
			"while it "+what+"; update the server's administratorLoginPassword")
	case errors.Is(err, engine.ErrUnreachable):
		return errorf(http.StatusServiceUnavailable, "EngineUnreachable",
			"the server's database engine could not be reached while it "+what)
	}
	return err
}

func (s *Server) listDatabases(c *call) { c.listServerChildren(typeDatabase) }

func (s *Server) getDatabase(c *call) {
	c.getDoc(databaseID(c.params), "DatabaseDoesNotExist", "database")
}

func (s *Server) putDatabase(c *call) { s.writeDatabase(c, false) }

func (s *Server) patchDatabase(c *call) { s.writeDatabase(c, true) }

// writeDatabase creates a database on the server's engine (adopting one
// that already exists there) or updates its settings.
func (s *Server) writeDatabase(c *call, patch bool) {
	id := databaseID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body databaseBody
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	srv, err := c.getResource(serverID(c.params), "ResourceNotFound", "server")
	if err != nil {
		c.writeError(err)
		return
	}
	name := c.params[3]
	old, ok := c.existing(id, patch, "DatabaseDoesNotExist", "database")
	if !ok {
		return
	}
	p := body.Properties
	var doc *databaseDoc
	if old != nil {
		doc = &databaseDoc{}
		json.Unmarshal(old.Doc, doc)
	} else {
		if err := checkDatabaseName(name); err != nil {
			c.writeError(err)
			return
		}
		if running, _ := s.cfg.Store.ActiveOn(c.ctx(), id); running != nil {
			c.writeError(inProgress(running))
			return
		}
		var sdoc serverDoc
		json.Unmarshal(srv.Doc, &sdoc)
		doc = newDatabaseDoc(id, name, sdoc.Location, skuFor("", ""), 0, "")
	}
	if body.Sku != nil || p.Edition != nil || p.RequestedServiceObjectiveName != nil {
		var obj, ed string
		if body.Sku != nil {
			obj, ed = body.Sku.Name, body.Sku.Tier
		}
		if p.RequestedServiceObjectiveName != nil {
			obj = *p.RequestedServiceObjectiveName
		}
		if p.Edition != nil {
			ed = *p.Edition
		}
		sku := skuFor(obj, ed)
		if body.Sku != nil {
			sku.Family, sku.Capacity = body.Sku.Family, body.Sku.Capacity
		}
		doc.Sku, doc.Properties.CurrentSku, doc.Properties.Edition = sku, sku, sku.Tier
		doc.Properties.CurrentServiceObjectiveName, doc.Properties.RequestedServiceObjectiveName = sku.Name, sku.Name
	}
	if p.MaxSizeBytes != nil {
		if *p.MaxSizeBytes <= 0 {
			c.writeError(badRequest("InvalidMaxSizeTierCombination", "maxSizeBytes must be positive"))
			return
		}
		doc.Properties.MaxSizeBytes = *p.MaxSizeBytes
	}
	if v := p.RequestedBackupStorageRedundancy; v != nil {
		if !oneOf(*v, "Local", "Zone", "Geo", "GeoZone") {
			c.writeError(badRequest("InvalidBackupStorageRedundancy",
				"requestedBackupStorageRedundancy must be Local, Zone, Geo or GeoZone"))
			return
		}
		r := canonical(*v, "Local", "Zone", "Geo", "GeoZone")
		doc.Properties.RequestedBackupStorageRedundancy, doc.Properties.CurrentBackupStorageRedundancy = r, r
	}
	if p.Collation != nil && old == nil {
		doc.Properties.Collation = *p.Collation
	}
	if body.Tags != nil || !patch {
		doc.Tags = body.Tags
	}

	if old == nil {
		if err := s.createOnEngine(c.ctx(), srv, name); err != nil {
			c.writeError(err)
			return
		}
	}
	created, err := s.putDoc(c.ctx(), s.cfg.Store.Writer(), id, serverID(c.params), doc, nil)
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(createdStatus(created), doc)
}

func (s *Server) createOnEngine(ctx context.Context, srv *store.Resource, name string) error {
	drv, cfg, err := engineFor(srv, name)
	if err != nil {
		return err
	}
	t, err := drv.OpenTarget(ctx, cfg, true)
	if errors.Is(err, engine.ErrDatabaseExists) {
		return nil // adopt the engine's database
	}
	if err != nil {
		return engineError(err, "created the database")
	}
	return t.Close()
}

func (s *Server) dropDatabase(ctx context.Context, srv *store.Resource, name string) error {
	drv, cfg, err := engineFor(srv, name)
	if err != nil {
		return err
	}
	if err := drv.DropDatabase(ctx, cfg); err != nil {
		return engineError(err, "dropped the database")
	}
	return nil
}

func (s *Server) deleteDatabase(c *call) {
	id := databaseID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	srv, err := c.getResource(serverID(c.params), "ResourceNotFound", "server")
	if err != nil {
		c.writeError(err)
		return
	}
	if _, err := s.cfg.Store.GetResource(c.ctx(), id); errors.Is(err, store.ErrNotFound) {
		c.noContent()
		return
	}
	if running, _ := s.cfg.Store.ActiveOn(c.ctx(), id); running != nil {
		c.writeError(inProgress(running))
		return
	}
	if err := s.dropDatabase(c.ctx(), srv, c.params[3]); err != nil {
		c.writeError(err)
		return
	}
	if err := s.cfg.Store.DeleteResource(c.ctx(), s.cfg.Store.Writer(), id); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}

// RecordImported runs inside the transaction that marks an operation
// Succeeded: an import into a new database adds the database resource,
// with the edition, objective, size and redundancy the request asked for.
func (s *Server) RecordImported(ctx context.Context, tx *sql.Tx, op *store.Operation) error {
	if op.Kind != store.KindImportNew {
		return nil
	}
	id := op.DatabaseID()
	if _, err := s.cfg.Store.GetResourceTx(ctx, tx, id); err == nil {
		return nil
	}
	req := op.Request
	var size int64
	if req.MaxSizeBytes != "" {
		size, _ = parseInt(req.MaxSizeBytes)
	}
	doc := newDatabaseDoc(id, op.DatabaseName, op.Location, skuFor(req.ServiceObjectiveName, req.Edition),
		size, req.BackupStorageRedundancy)
	_, err := s.putDoc(ctx, tx, id, op.ServerID, doc, nil)
	return err
}
