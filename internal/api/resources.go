package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/store"
)

// Canonical type names.
const (
	typeResourceGroup  = "Microsoft.Resources/resourceGroups"
	typeServer         = "Microsoft.Sql/servers"
	typeDatabase       = "Microsoft.Sql/servers/databases"
	typeFirewallRule   = "Microsoft.Sql/servers/firewallRules"
	typeStorageAccount = "Microsoft.Storage/storageAccounts"
)

func subID(sub string) string    { return "/subscriptions/" + sub }
func rgID(sub, rg string) string { return subID(sub) + "/resourceGroups/" + rg }
func serverID(p []string) string {
	return rgID(p[0], p[1]) + "/providers/Microsoft.Sql/servers/" + p[2]
}
func databaseID(p []string) string { return serverID(p) + "/databases/" + p[3] }
func accountID(p []string) string {
	return rgID(p[0], p[1]) + "/providers/Microsoft.Storage/storageAccounts/" + p[2]
}
func firewallID(p []string) string { return serverID(p) + "/firewallRules/" + p[3] }

// armHead is the common envelope of every ARM resource.
type armHead struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

type listBody struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"nextLink,omitempty"`
}

// getResource reads a resource, turning absence into a 404 with code.
func (c *call) getResource(id, code, what string) (*store.Resource, error) {
	r, err := c.s.cfg.Store.GetResource(c.ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(code, what+" was not found: "+id)
	}
	return r, err
}

// listUnder answers every resource of typ anywhere below scope (a
// subscription or a resource group) that the caller may read.
func (c *call) listUnder(scope, typ string) {
	c.listVisible(c.s.cfg.Store.ListUnder(c.ctx(), scope, typ))
}

// listChildren answers the direct children of typ of parent that the
// caller may read.
func (c *call) listChildren(parent, typ string) {
	c.listVisible(c.s.cfg.Store.ListChildren(c.ctx(), parent, typ))
}

// listServerChildren answers a server's children of typ: the caller must be
// a Reader of the server, and a missing server is a 404 rather than an
// empty list.
func (c *call) listServerChildren(typ string) {
	id := serverID(c.params)
	if !c.authorize(id, auth.Reader) {
		return
	}
	if _, err := c.getResource(id, "ResourceNotFound", "server"); err != nil {
		c.writeError(err)
		return
	}
	c.listChildren(id, typ)
}

// getDoc answers a resource's document to a Reader of it; absence is a 404
// with code, saying what was not found.
func (c *call) getDoc(id, code, what string) {
	if !c.authorize(id, auth.Reader) {
		return
	}
	r, err := c.getResource(id, code, what)
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, r.Doc)
}

// listInGroup answers the resources of typ in the resource group of the
// path, to a Reader of the group.
func (c *call) listInGroup(typ string) {
	id := rgID(c.params[0], c.params[1])
	if !c.authorize(id, auth.Reader) {
		return
	}
	c.listUnder(id, typ)
}

// existing reads the resource a PUT or PATCH writes: nil when it does not
// exist yet, which for a PATCH is a 404 with code saying what was not
// found. ok is false when an error has been answered.
func (c *call) existing(id string, patch bool, code, what string) (old *store.Resource, ok bool) {
	old, err := c.s.cfg.Store.GetResource(c.ctx(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.writeError(err)
		return nil, false
	}
	if old == nil && patch {
		c.writeError(notFound(code, what+" was not found: "+id))
		return nil, false
	}
	return old, true
}

// noContent answers 204, as ARM does for a DELETE of what is already gone.
func (c *call) noContent() {
	c.w.WriteHeader(http.StatusNoContent)
	c.status = http.StatusNoContent
}

// listVisible answers a list of resources, keeping those the caller may
// read, or the error that kept the list from being read.
func (c *call) listVisible(list []*store.Resource, err error) {
	if err != nil {
		c.writeError(err)
		return
	}
	out := listBody{Value: []json.RawMessage{}}
	for _, r := range list {
		if c.id.Can(r.ID, auth.Reader) {
			out.Value = append(out.Value, r.Doc)
		}
	}
	c.writeJSON(http.StatusOK, out)
}

func (s *Server) routes() {
	r := &s.router
	const sub = "subscriptions/{}"
	const rg = sub + "/resourceGroups/{}"
	const srv = rg + "/providers/Microsoft.Sql/servers/{}"
	const db = srv + "/databases/{}"
	const acct = rg + "/providers/Microsoft.Storage/storageAccounts/{}"

	r.handle("GET", "subscriptions", s.listSubscriptions)
	r.handle("GET", sub, s.getSubscription)
	r.handle("GET", sub+"/resourceGroups", s.listGroups)
	r.handle("GET", rg, s.getGroup)
	r.handle("PUT", rg, s.putGroup)
	r.handle("DELETE", rg, s.deleteGroup)

	r.handle("GET", sub+"/providers/Microsoft.Sql/servers", s.listServersInSub)
	r.handle("GET", rg+"/providers/Microsoft.Sql/servers", s.listServers)
	r.handle("GET", srv, s.getServer)
	r.handle("PUT", srv, s.putServer)
	r.handle("PATCH", srv, s.patchServer)
	r.handle("DELETE", srv, s.deleteServer)
	r.handle("GET", srv+"/firewallRules", s.listFirewallRules)
	r.handle("GET", srv+"/firewallRules/{}", s.getFirewallRule)
	r.handle("PUT", srv+"/firewallRules/{}", s.putFirewallRule)
	r.handle("DELETE", srv+"/firewallRules/{}", s.deleteFirewallRule)
	r.handle("GET", srv+"/databases", s.listDatabases)
	r.handle("GET", db, s.getDatabase)
	r.handle("PUT", db, s.putDatabase)
	r.handle("PATCH", db, s.patchDatabase)
	r.handle("DELETE", db, s.deleteDatabase)

	r.handle("POST", db+"/export", s.postExport)
	r.handle("POST", srv+"/import", s.postImportNew)
	r.handle("POST", db+"/import", s.postImportExisting)
	r.handle("PUT", db+"/extensions/{}", s.putExtension)
	r.handle("GET", db+"/extensions/{}", s.getExtension)
	r.handle("GET", db+"/extensions", s.listExtensions)
	r.handle("GET", db+"/operations", s.listDatabaseOperations)
	r.handle("POST", db+"/operations/{}/cancel", s.cancelDatabaseOperation)
	r.handle("GET", sub+"/providers/Microsoft.Sql/locations/{}/importExportOperationResults/{}", s.getOperationResult)
	r.handle("GET", sub+"/providers/Microsoft.Sql/locations/{}/importExportAzureAsyncOperation/{}", s.getAsyncStatus)
	r.handle("GET", srv+"/importExportHistory", s.listHistory)

	r.handle("GET", sub+"/providers/Microsoft.Storage/storageAccounts", s.listAccountsInSub)
	r.handle("GET", rg+"/providers/Microsoft.Storage/storageAccounts", s.listAccounts)
	r.handle("GET", acct, s.getAccount)
	r.handle("PUT", acct, s.putAccount)
	r.handle("PATCH", acct, s.patchAccount)
	r.handle("DELETE", acct, s.deleteAccount)
	r.handle("POST", acct+"/listKeys", s.listKeys)
	r.handle("POST", acct+"/regenerateKey", s.regenerateKey)

	r.handle("GET", "bacport/operations/{}", s.getRichStatus)
	r.handle("GET", "bacport/operations/{}/events", s.streamEvents)
	r.handle("GET", "bacport/operations/{}/history", s.getOperationHistory)
	r.handle("POST", "bacport/operations/{}/cancel", s.cancelByID)
	r.handle("GET", "bacport/principals", s.listPrincipals)
	r.handle("POST", "bacport/principals", s.createPrincipal)
	r.handle("DELETE", "bacport/principals/{}", s.deletePrincipal)
	r.handle("POST", "bacport/principals/{}/tokens", s.createToken)
	r.handle("GET", "bacport/roleAssignments", s.listRoleAssignments)
	r.handle("POST", "bacport/roleAssignments", s.createRoleAssignment)
	r.handle("DELETE", "bacport/roleAssignments/{}", s.deleteRoleAssignment)
	r.handle("GET", "bacport/whoami", s.whoami)
}

// Subscriptions: any subscription id is usable; the list shows the
// default one and those that hold resources.

type subscriptionDoc struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
}

func (s *Server) listSubscriptions(c *call) {
	seen := map[string]bool{}
	out := []subscriptionDoc{}
	add := func(id string) {
		if id == "" || seen[strings.ToLower(id)] || !c.id.Can(subID(id), auth.Reader) && !c.hasAnyUnder(subID(id)) {
			return
		}
		seen[strings.ToLower(id)] = true
		out = append(out, subscriptionDoc{subID(id), id, "bacport " + id, "Enabled"})
	}
	def, _ := s.cfg.Store.Meta(c.ctx(), "defaultSubscription")
	add(def)
	groups, err := s.cfg.Store.ListUnder(c.ctx(), "/", typeResourceGroup)
	if err != nil {
		c.writeError(err)
		return
	}
	for _, g := range groups {
		if parts := strings.Split(g.ID, "/"); len(parts) > 2 {
			add(parts[2])
		}
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": out})
}

// hasAnyUnder reports whether the caller holds a role somewhere under
// scope, so a resource-group Reader still sees its subscription listed.
func (c *call) hasAnyUnder(scope string) bool {
	if c.id.Principal.Admin {
		return true
	}
	prefix := store.Key(scope) + "/"
	for _, a := range c.id.Assignments {
		if strings.HasPrefix(store.Key(a.Scope)+"/", prefix) {
			return true
		}
	}
	return false
}

func (s *Server) getSubscription(c *call) {
	sub := c.params[0]
	if !c.id.Can(subID(sub), auth.Reader) && !c.hasAnyUnder(subID(sub)) {
		c.authorize(subID(sub), auth.Reader)
		return
	}
	c.writeJSON(http.StatusOK, subscriptionDoc{subID(sub), sub, "bacport " + sub, "Enabled"})
}

// Resource groups.

type groupDoc struct {
	armHead
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func (s *Server) listGroups(c *call) {
	c.listChildren(subID(c.params[0]), typeResourceGroup)
}

func (s *Server) getGroup(c *call) {
	c.getDoc(rgID(c.params[0], c.params[1]), "ResourceGroupNotFound", "resource group")
}

func (s *Server) putGroup(c *call) {
	id := rgID(c.params[0], c.params[1])
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	var doc *groupDoc
	var created bool
	err := s.cfg.Store.InTx(c.ctx(), func(tx *sql.Tx) error {
		old, err := s.cfg.Store.GetResourceTx(c.ctx(), tx, id)
		if err == nil {
			var d groupDoc
			if err := json.Unmarshal(old.Doc, &d); err != nil {
				return err
			}
			d.Tags = body.Tags
			doc = &d
		} else {
			doc = newGroupDoc(id, c.params[1], s.location(body.Location), body.Tags)
		}
		created, err = s.putDoc(c.ctx(), tx, id, subID(c.params[0]), doc, nil)
		return err
	})
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(createdStatus(created), doc)
}

func newGroupDoc(id, name, location string, tags map[string]string) *groupDoc {
	d := &groupDoc{armHead: armHead{ID: id, Name: name, Type: typeResourceGroup, Location: location, Tags: tags}}
	d.Properties.ProvisioningState = "Succeeded"
	return d
}

// ensureGroup creates the resource group of a resource on first use, so
// that the SQL and Storage clients alone can set everything up.
func (s *Server) ensureGroup(ctx context.Context, tx *sql.Tx, sub, rg, location string) error {
	id := rgID(sub, rg)
	if _, err := s.cfg.Store.GetResourceTx(ctx, tx, id); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err := s.putDoc(ctx, tx, id, subID(sub), newGroupDoc(id, rg, location, nil), nil)
	return err
}

func (s *Server) deleteGroup(c *call) {
	id := rgID(c.params[0], c.params[1])
	if !c.authorize(id, auth.Contributor) {
		return
	}
	for _, typ := range []string{typeServer, typeStorageAccount} {
		list, err := s.cfg.Store.ListUnder(c.ctx(), id, typ)
		if err != nil {
			c.writeError(err)
			return
		}
		if len(list) > 0 {
			c.writeError(errorf(http.StatusConflict, "ResourceGroupNotEmpty",
				"the resource group still holds "+list[0].ID+"; delete its servers and storage accounts first"))
			return
		}
	}
	if err := s.cfg.Store.DeleteResource(c.ctx(), s.cfg.Store.Writer(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.writeError(err)
		return
	}
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
}

// putDoc stores a resource document with its secret.
func (s *Server) putDoc(ctx context.Context, q store.Querier, id, parent string, doc any, secret any) (bool, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return false, err
	}
	var sec json.RawMessage
	if secret != nil {
		if sec, err = json.Marshal(secret); err != nil {
			return false, err
		}
	}
	var head armHead
	json.Unmarshal(data, &head)
	return s.cfg.Store.PutResource(ctx, q, &store.Resource{ID: id, Parent: parent, Type: head.Type, Doc: data, Secret: sec})
}

func (s *Server) location(l string) string {
	if l == "" {
		return s.cfg.DefaultLocation
	}
	return l
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
