package api

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/store"
)

type serverDoc struct {
	armHead
	Kind       string      `json:"kind"`
	Properties serverProps `json:"properties"`
}

type serverProps struct {
	AdministratorLogin            string            `json:"administratorLogin"`
	Version                       string            `json:"version"`
	State                         string            `json:"state"`
	FullyQualifiedDomainName      string            `json:"fullyQualifiedDomainName"`
	PublicNetworkAccess           string            `json:"publicNetworkAccess"`
	RestrictOutboundNetworkAccess string            `json:"restrictOutboundNetworkAccess"`
	MinimalTLSVersion             string            `json:"minimalTlsVersion,omitempty"`
	PrivateEndpointConnections    []json.RawMessage `json:"privateEndpointConnections"`
	// Engine is bacport's binding of the server to a database engine.
	Engine engineDoc `json:"engine"`
	// Cloud is the Azure cloud the server is taken to live in (AzureCloud,
	// AzureUSGovernment, AzureChinaCloud); private link refuses jobs that
	// cross clouds.
	Cloud string `json:"cloud"`
}

type engineDoc struct {
	Type string `json:"type"`
	DSN  string `json:"dsn"` // without any password
}

type serverBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		AdministratorLogin            *string `json:"administratorLogin"`
		AdministratorLoginPassword    *string `json:"administratorLoginPassword"`
		Version                       *string `json:"version"`
		PublicNetworkAccess           *string `json:"publicNetworkAccess"`
		RestrictOutboundNetworkAccess *string `json:"restrictOutboundNetworkAccess"`
		MinimalTLSVersion             *string `json:"minimalTlsVersion"`
		Cloud                         *string `json:"cloud"`
		Engine                        *struct {
			Type string `json:"type"`
			DSN  string `json:"dsn"`
		} `json:"engine"`
	} `json:"properties"`
}

var serverNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$|^[a-z0-9]$`)

func (s *Server) listServersInSub(c *call) {
	c.listUnder(subID(c.params[0]), typeServer)
}

func (s *Server) listServers(c *call) { c.listInGroup(typeServer) }

func (s *Server) getServer(c *call) {
	c.getDoc(serverID(c.params), "ResourceNotFound", "server")
}

func (s *Server) putServer(c *call) { s.writeServer(c, false) }

func (s *Server) patchServer(c *call) { s.writeServer(c, true) }

// writeServer creates or updates a server. A new server needs an
// administrator login and password; without an engine binding it gets an
// embedded SQLite directory. For network engines the credentials are
// verified by the engine before the server is saved.
func (s *Server) writeServer(c *call, patch bool) {
	id := serverID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body serverBody
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	old, ok := c.existing(id, patch, "ResourceNotFound", "server")
	if !ok {
		return
	}

	var doc serverDoc
	var sec store.ServerSecret
	if old != nil {
		json.Unmarshal(old.Doc, &doc)
		_, sec, _ = store.ServerEngine(old)
		if body.Tags != nil || !patch {
			doc.Tags = body.Tags
		}
	} else {
		name := c.params[2]
		if !serverNameRE.MatchString(name) {
			c.writeError(badRequest("InvalidServerName", "server names are 1-63 lower-case letters, "+
				"digits and hyphens, not starting or ending with a hyphen"))
			return
		}
		doc = serverDoc{
			armHead: armHead{ID: id, Name: name, Type: typeServer, Location: s.location(body.Location), Tags: body.Tags},
			Kind:    "v12.0",
			Properties: serverProps{
				Version: "12.0", State: "Ready", PublicNetworkAccess: "Enabled",
				RestrictOutboundNetworkAccess: "Disabled", Cloud: "AzureCloud",
				PrivateEndpointConnections: []json.RawMessage{},
			},
		}
	}
	p := body.Properties
	if p.AdministratorLogin != nil {
		if old != nil && !strings.EqualFold(*p.AdministratorLogin, doc.Properties.AdministratorLogin) {
			c.writeError(badRequest("InvalidParameterValue", "the administrator login of a server cannot change"))
			return
		}
		doc.Properties.AdministratorLogin = *p.AdministratorLogin
	}
	if p.AdministratorLoginPassword != nil {
		sec.AdministratorLoginPassword = *p.AdministratorLoginPassword
	}
	if doc.Properties.AdministratorLogin == "" {
		c.writeError(badRequest("InvalidParameterValue", "properties.administratorLogin is required"))
		return
	}
	if sec.AdministratorLoginPassword == "" {
		c.writeError(badRequest("PasswordNotSpecified", "properties.administratorLoginPassword is required"))
		return
	}
	if v := p.PublicNetworkAccess; v != nil {
		if !oneOf(*v, "Enabled", "Disabled", "SecuredByPerimeter") {
			c.writeError(badRequest("InvalidParameterValue", "publicNetworkAccess must be Enabled or Disabled"))
			return
		}
		doc.Properties.PublicNetworkAccess = canonical(*v, "Enabled", "Disabled", "SecuredByPerimeter")
	}
	if v := p.RestrictOutboundNetworkAccess; v != nil {
		doc.Properties.RestrictOutboundNetworkAccess = *v
	}
	if v := p.MinimalTLSVersion; v != nil {
		doc.Properties.MinimalTLSVersion = *v
	}
	if v := p.Cloud; v != nil {
		if !oneOf(*v, "AzureCloud", "AzureUSGovernment", "AzureChinaCloud") {
			c.writeError(badRequest("InvalidParameterValue",
				"cloud must be AzureCloud, AzureUSGovernment or AzureChinaCloud"))
			return
		}
		doc.Properties.Cloud = canonical(*v, "AzureCloud", "AzureUSGovernment", "AzureChinaCloud")
	}
	if old == nil || p.Engine != nil {
		if err := s.bindEngine(c, &doc, &sec, body, old != nil); err != nil {
			c.writeError(err)
			return
		}
	}
	if err := s.verifyEngine(c.ctx(), &doc, sec); err != nil {
		c.writeError(err)
		return
	}

	var created bool
	err := s.cfg.Store.InTx(c.ctx(), func(tx *sql.Tx) error {
		if err := s.ensureGroup(c.ctx(), tx, c.params[0], c.params[1], doc.Location); err != nil {
			return err
		}
		var err error
		created, err = s.putDoc(c.ctx(), tx, id, rgID(c.params[0], c.params[1]), &doc, &sec)
		return err
	})
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(createdStatus(created), &doc)
}

func (s *Server) bindEngine(c *call, doc *serverDoc, sec *store.ServerSecret, body serverBody, exists bool) error {
	typ, dsn := "sqlite", ""
	if e := body.Properties.Engine; e != nil {
		typ, dsn = strings.ToLower(e.Type), e.DSN
		if typ == "" {
			typ = "sqlite"
		}
	}
	if exists {
		if typ != doc.Properties.Engine.Type || dsn != "" && dsn != sec.EngineDSN {
			return badRequest("InvalidParameterValue", "the engine binding of a server cannot change; "+
				"create another server for another engine")
		}
		return nil
	}
	switch typ {
	case "sqlite":
		if dsn == "" {
			dir := filepath.Join(s.cfg.EngineDir, strings.ToLower(c.params[0]),
				strings.ToLower(c.params[1]), strings.ToLower(c.params[2]))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			dsn = "sqlite://" + filepath.ToSlash(dir) + "/"
		}
	case "postgres", "mysql":
		if dsn == "" {
			return badRequest("InvalidParameterValue", "properties.engine.dsn is required for "+typ+
				", e.g. "+typ+"://127.0.0.1:port/")
		}
	default:
		return badRequest("InvalidParameterValue", "properties.engine.type must be sqlite, postgres or mysql")
	}
	if !strings.HasPrefix(strings.ToLower(dsn), typ+":") {
		return badRequest("InvalidParameterValue", "properties.engine.dsn must start with "+typ+"://")
	}
	sec.EngineDSN = dsn
	doc.Properties.Engine = engineDoc{Type: typ, DSN: redactDSN(dsn)}
	doc.Properties.FullyQualifiedDomainName = fqdn(doc.Name, dsn)
	return nil
}

// verifyEngine checks that the engine is there and, for network engines,
// that it accepts the administrator credentials.
func (s *Server) verifyEngine(ctx context.Context, doc *serverDoc, sec store.ServerSecret) error {
	drv, err := engine.Lookup(sec.EngineDSN)
	if err != nil {
		return badRequest("EngineNotAvailable", "this bacport has no driver for engine "+
			doc.Properties.Engine.Type)
	}
	cfg := engine.Config{DSN: sec.EngineDSN, Login: doc.Properties.AdministratorLogin,
		Password: sec.AdministratorLoginPassword}
	if doc.Properties.Engine.Type == "sqlite" {
		return nil // bacport itself checks SQLite logins
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := drv.Ping(ctx, cfg); err != nil {
		switch {
		case errors.Is(err, engine.ErrAuth):
			return badRequest("LoginFailed", "the database engine refused administratorLogin/"+
				"administratorLoginPassword; give credentials the engine accepts")
		case errors.Is(err, engine.ErrUnreachable):
			return badRequest("EngineUnreachable", "the database engine at "+doc.Properties.Engine.DSN+
				" could not be reached; check that it runs and the DSN is right")
		}
		return badRequest("EngineUnreachable", "the database engine at "+doc.Properties.Engine.DSN+
			" did not answer a ping; check the DSN")
	}
	return nil
}

// redactDSN removes a password from a DSN for display.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

func fqdn(name, dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return name + ".sqlite.bacport.local"
}

func (s *Server) deleteServer(c *call) {
	id := serverID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	r, err := c.getResource(id, "ResourceNotFound", "server")
	if err != nil {
		c.writeError(err)
		return
	}
	active, err := s.cfg.Store.ListOperations(c.ctx(), store.OperationFilter{ServerID: id, ActiveOnly: true, Limit: 1})
	if err != nil {
		c.writeError(err)
		return
	}
	if len(active) > 0 {
		c.writeError(errorf(http.StatusConflict, "ImportExportOperationInProgress",
			"operation "+active[0].ID+" is running on the server; cancel it or wait for it to end"))
		return
	}
	dbs, err := s.cfg.Store.ListChildren(c.ctx(), id, typeDatabase)
	if err != nil {
		c.writeError(err)
		return
	}
	for _, d := range dbs {
		var h armHead
		json.Unmarshal(d.Doc, &h)
		if err := s.dropDatabase(c.ctx(), r, h.Name); err != nil {
			c.writeError(err)
			return
		}
	}
	if err := s.cfg.Store.DeleteResource(c.ctx(), s.cfg.Store.Writer(), id); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}

// Firewall rules.

type firewallDoc struct {
	armHead
	Properties struct {
		StartIPAddress string `json:"startIpAddress"`
		EndIPAddress   string `json:"endIpAddress"`
	} `json:"properties"`
}

func (s *Server) listFirewallRules(c *call) { c.listServerChildren(typeFirewallRule) }

func (s *Server) getFirewallRule(c *call) {
	c.getDoc(firewallID(c.params), "ResourceNotFound", "firewall rule")
}

func (s *Server) putFirewallRule(c *call) {
	id := firewallID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body firewallDoc
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	start, end := net.ParseIP(body.Properties.StartIPAddress), net.ParseIP(body.Properties.EndIPAddress)
	if start == nil || end == nil || start.To4() == nil || end.To4() == nil {
		c.writeError(badRequest("InvalidParameterValue", "startIpAddress and endIpAddress must be IPv4 "+
			"addresses; 0.0.0.0 for both allows Azure services"))
		return
	}
	if _, err := c.getResource(serverID(c.params), "ResourceNotFound", "server"); err != nil {
		c.writeError(err)
		return
	}
	doc := firewallDoc{armHead: armHead{ID: id, Name: c.params[3], Type: typeFirewallRule}}
	doc.Properties = body.Properties
	created, err := s.putDoc(c.ctx(), s.cfg.Store.Writer(), id, serverID(c.params), &doc, nil)
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(createdStatus(created), &doc)
}

func (s *Server) deleteFirewallRule(c *call) {
	id := firewallID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	err := s.cfg.Store.DeleteResource(c.ctx(), s.cfg.Store.Writer(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.noContent()
		return
	}
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}

func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if strings.EqualFold(v, o) {
			return true
		}
	}
	return false
}

func canonical(v string, options ...string) string {
	for _, o := range options {
		if strings.EqualFold(v, o) {
			return o
		}
	}
	return v
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
