package privatelink

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/api"
	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/store"
)

// Register adds the private endpoint connection routes to the API:
//
//	GET    …/Microsoft.Sql/servers/{s}/privateEndpointConnections[/{name}]
//	PUT    …/Microsoft.Sql/servers/{s}/privateEndpointConnections/{name}      202, async
//	DELETE …/Microsoft.Sql/servers/{s}/privateEndpointConnections/{name}      202, async
//	GET    …/Microsoft.Storage/storageAccounts/{a}/privateEndpointConnections[/{name}]
//	PUT    …/Microsoft.Storage/storageAccounts/{a}/privateEndpointConnections/{name}  200
//	DELETE …/Microsoft.Storage/storageAccounts/{a}/privateEndpointConnections/{name}  200/204
//	GET    /subscriptions/{sub}/providers/Bacport/privateEndpointConnections[?status=Pending]
//	GET    /bacport/operations/{id}/privateEndpointConnections
//
// and the polling links of the SQL PUT and DELETE.
func (s *Service) Register(a *api.Server) {
	const sub = "subscriptions/{}"
	const srv = sub + "/resourceGroups/{}/providers/Microsoft.Sql/servers/{}"
	const acct = sub + "/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}"
	for _, k := range []struct{ kind, base string }{{KindServer, srv}, {KindStorage, acct}} {
		h := &handlers{s: s, kind: k.kind}
		a.Handle("GET", k.base+"/privateEndpointConnections", h.list)
		a.Handle("GET", k.base+"/privateEndpointConnections/{}", h.get)
		a.Handle("PUT", k.base+"/privateEndpointConnections/{}", h.put)
		a.Handle("DELETE", k.base+"/privateEndpointConnections/{}", h.delete)
	}
	a.Handle("GET", sub+"/providers/Bacport/privateEndpointConnections", s.center)
	a.Handle("GET", sub+"/providers/Microsoft.Sql/locations/{}/"+asyncSegment+"/{}", s.asyncStatus)
	a.Handle("GET", sub+"/providers/Microsoft.Sql/locations/{}/"+resultSegment+"/{}", s.asyncResult)
	a.Handle("GET", "bacport/operations/{}/privateEndpointConnections", s.operationConns)
}

const (
	asyncSegment  = "privateEndpointConnectionAzureAsyncOperation"
	resultSegment = "privateEndpointConnectionOperationResults"
)

// deletedGrace is how long a GET still answers with a connection the
// service deleted, in its final state. A rejection ends the job and the
// job's end deletes its connections within moments, often before the
// SDK's poller of that very rejection makes its final GET.
const deletedGrace = 10 * time.Minute

type handlers struct {
	s    *Service
	kind string
}

// resourceID is the ARM id of the server or account a call names.
func (h *handlers) resourceID(p []string) string {
	base := "/subscriptions/" + p[0] + "/resourceGroups/" + p[1] + "/providers/"
	if h.kind == KindServer {
		return base + "Microsoft.Sql/servers/" + p[2]
	}
	return base + "Microsoft.Storage/storageAccounts/" + p[2]
}

func (h *handlers) connectionID(p []string) string {
	return h.resourceID(p) + "/privateEndpointConnections/" + p[3]
}

func (h *handlers) what() string {
	if h.kind == KindServer {
		return "server"
	}
	return "storage account"
}

type listDoc struct {
	Value []any `json:"value"`
}

func (h *handlers) list(c *api.Call) {
	id := h.resourceID(c.Params())
	if !c.Authorize(id, auth.Reader) {
		return
	}
	ctx := c.Request().Context()
	if _, err := h.s.store.GetResource(ctx, id); err != nil {
		c.WriteError(notFoundResource(err, h.what(), id))
		return
	}
	conns, err := connsOfResource(ctx, h.s.store.Reader(), id)
	if err != nil {
		c.WriteError(err)
		return
	}
	out := listDoc{Value: []any{}}
	for _, conn := range conns {
		out.Value = append(out.Value, conn.ARM(c.APIVersion()))
	}
	c.WriteJSON(http.StatusOK, out)
}

func notFoundResource(err error, what, id string) error {
	if store.IsNotFound(err) {
		return api.NewError(http.StatusNotFound, "ResourceNotFound", what+" was not found: "+id)
	}
	return err
}

func (h *handlers) get(c *api.Call) {
	id := h.connectionID(c.Params())
	if !c.Authorize(id, auth.Reader) {
		return
	}
	conn, err := getRecent(c.Request().Context(), h.s.store.Reader(), id, deletedGrace)
	if store.IsNotFound(err) {
		c.WriteError(api.NewError(http.StatusNotFound, "ResourceNotFound",
			"private endpoint connection was not found: "+id))
		return
	}
	if err != nil {
		c.WriteError(err)
		return
	}
	c.WriteJSON(http.StatusOK, conn.ARM(c.APIVersion()))
}

type putBody struct {
	Properties *struct {
		State *struct {
			Status      *string `json:"status"`
			Description string  `json:"description"`
		} `json:"privateLinkServiceConnectionState"`
	} `json:"properties"`
}

// put approves or rejects. It needs write access to the resource, so the
// requester of a job cannot approve a server or account they do not own.
func (h *handlers) put(c *api.Call) {
	id := h.connectionID(c.Params())
	if !c.Authorize(id, auth.Contributor) {
		return
	}
	var body putBody
	if err := c.Decode(&body); err != nil {
		c.WriteError(err)
		return
	}
	st, err := decisionOf(body)
	if err != nil {
		c.WriteError(err)
		return
	}
	who := c.Identity().Principal.Name
	desc := body.Properties.State.Description
	if desc == "" {
		desc = string(st) + " by " + who
	}
	ctx := c.Request().Context()
	conn, err := h.s.Decide(ctx, id, st, desc, who)
	if err != nil {
		c.WriteError(decideError(err, id))
		return
	}
	if h.kind == KindStorage {
		c.WriteJSON(http.StatusOK, conn.ARM(c.APIVersion()))
		return
	}
	h.accepted(c, http.MethodPut, conn.ID, conn.ARM(c.APIVersion()))
}

func decisionOf(b putBody) (Status, error) {
	switch {
	case b.Properties == nil:
		return "", api.NewError(http.StatusBadRequest, "NullPrivateEndpointConnectionProperties",
			"the request needs properties.privateLinkServiceConnectionState")
	case b.Properties.State == nil:
		return "", api.NewError(http.StatusBadRequest, "NullRemotePrivateLinkServiceConnectionState",
			"the request needs properties.privateLinkServiceConnectionState")
	case b.Properties.State.Status == nil:
		return "", api.NewError(http.StatusBadRequest, "NullRemotePrivateLinkServiceConnectionStateStatus",
			"the request needs properties.privateLinkServiceConnectionState.status: Approved or Rejected")
	}
	st, err := ParseStatus(*b.Properties.State.Status)
	if err != nil || (st != Approved && st != Rejected) {
		return "", api.NewError(http.StatusBadRequest, "IncorrectPrivateLinkServiceConnectionStateStatus",
			"privateLinkServiceConnectionState.status must be Approved or Rejected")
	}
	return st, nil
}

func decideError(err error, id string) error {
	switch {
	case errors.Is(err, ErrNoConnection):
		return api.NewError(http.StatusBadRequest, "PrivateEndpointConnectionDoesNotExist",
			"there is no private endpoint connection "+id+"; bacport creates connections for "+
				"import/export jobs with networkIsolation, and deletes them when the job ends")
	case errors.Is(err, ErrTransition):
		return api.NewError(http.StatusBadRequest, "PrivateEndpointConnectionStatusNotPending",
			"the connection was already rejected and cannot change; the job it served has failed; "+
				"submit the job again for a new connection")
	}
	return err
}

func (h *handlers) delete(c *api.Call) {
	id := h.connectionID(c.Params())
	if !c.Authorize(id, auth.Contributor) {
		return
	}
	err := h.s.Delete(c.Request().Context(), id, c.Identity().Principal.Name)
	if errors.Is(err, ErrNoConnection) {
		c.WriteJSON(http.StatusNoContent, nil)
		return
	}
	if err != nil {
		c.WriteError(err)
		return
	}
	if h.kind == KindStorage {
		c.WriteJSON(http.StatusOK, struct{}{})
		return
	}
	h.accepted(c, http.MethodDelete, id, nil)
}

// accepted answers a SQL connection PUT or DELETE the way the SQL API
// does: 202 with Azure-AsyncOperation and Location links, which the SDK's
// poller follows to a finished status.
func (h *handlers) accepted(c *api.Call, method, connID string, body any) {
	ctx := c.Request().Context()
	now := time.Now().UTC()
	a := &asyncOp{ID: newID(), Method: method, ConnectionID: connID, Start: now, End: now}
	if err := putAsync(ctx, h.s.store.Writer(), a); err != nil {
		c.WriteError(err)
		return
	}
	base := "/subscriptions/" + c.Params()[0] + "/providers/Microsoft.Sql/locations/" +
		url.PathEscape(h.s.locationOf(c, h.resourceID(c.Params()))) + "/"
	hd := c.Header()
	hd.Set("Azure-AsyncOperation", c.Link(base+asyncSegment+"/"+a.ID))
	hd.Set("Location", c.Link(base+resultSegment+"/"+a.ID))
	hd.Set("Retry-After", "1")
	hd.Set("Retry-After-Ms", "100")
	if body == nil {
		body = struct{}{}
	}
	c.WriteJSON(http.StatusAccepted, body)
}

func (s *Service) locationOf(c *api.Call, resourceID string) string {
	r, err := s.store.GetResource(c.Request().Context(), resourceID)
	if err == nil {
		var head struct {
			Location string `json:"location"`
		}
		if json.Unmarshal(r.Doc, &head) == nil && head.Location != "" {
			return head.Location
		}
	}
	return "local"
}

func (s *Service) asyncOf(c *api.Call) *asyncOp {
	a, err := getAsync(c.Request().Context(), s.store.Reader(), c.Params()[2])
	if store.IsNotFound(err) {
		c.WriteError(api.NewError(http.StatusNotFound, "OperationIdNotFound",
			"no private endpoint connection operation has id "+c.Params()[2]))
		return nil
	}
	if err != nil {
		c.WriteError(err)
		return nil
	}
	if !c.Authorize(a.ConnectionID, auth.Reader) {
		return nil
	}
	return a
}

// asyncStatus serves the Azure-AsyncOperation link of a SQL connection
// PUT or DELETE.
func (s *Service) asyncStatus(c *api.Call) {
	a := s.asyncOf(c)
	if a == nil {
		return
	}
	c.WriteJSON(http.StatusOK, map[string]string{
		"name": a.ID, "status": "Succeeded",
		"startTime": a.Start.Format(time.RFC3339Nano), "endTime": a.End.Format(time.RFC3339Nano),
	})
}

// asyncResult serves the Location link: the connection after a PUT,
// nothing after a DELETE.
func (s *Service) asyncResult(c *api.Call) {
	a := s.asyncOf(c)
	if a == nil {
		return
	}
	conn, err := getConn(c.Request().Context(), s.store.Reader(), a.ConnectionID)
	if a.Method == http.MethodDelete || store.IsNotFound(err) {
		c.WriteJSON(http.StatusNoContent, nil)
		return
	}
	if err != nil {
		c.WriteError(err)
		return
	}
	c.WriteJSON(http.StatusOK, conn.ARM(c.APIVersion()))
}

// center is the Private Link Center: every live connection of a
// subscription, on servers and storage accounts alike, that the caller may
// approve or reject.
func (s *Service) center(c *api.Call) {
	ctx := c.Request().Context()
	conns, err := connsOfSubscription(ctx, s.store.Reader(), c.Params()[0])
	if err != nil {
		c.WriteError(err)
		return
	}
	want := c.Request().URL.Query().Get("status")
	out := listDoc{Value: []any{}}
	for _, conn := range conns {
		if !c.Identity().Can(conn.ResourceID, auth.Contributor) {
			continue
		}
		if want != "" && !strings.EqualFold(want, string(conn.Status)) {
			continue
		}
		out.Value = append(out.Value, conn.ARM(c.APIVersion()))
	}
	c.WriteJSON(http.StatusOK, out)
}

// connectionView is a connection in an operation's history.
type connectionView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	ResourceID  string     `json:"privateLinkServiceId"`
	Status      Status     `json:"status"`
	Description string     `json:"description"`
	DecidedBy   string     `json:"decidedBy,omitempty"`
	Created     time.Time  `json:"createdTime"`
	Deleted     *time.Time `json:"deletedTime,omitempty"`
	Traffic     *Stats     `json:"traffic,omitempty"`
}

// operationConns lists an operation's connections, deleted ones too, with
// their final states and what went through them.
func (s *Service) operationConns(c *api.Call) {
	ctx := c.Request().Context()
	op, err := s.store.GetOperation(ctx, c.Params()[0])
	if store.IsNotFound(err) {
		c.WriteError(api.NewError(http.StatusNotFound, "OperationIdNotFound",
			"no operation has id "+c.Params()[0]))
		return
	}
	if err != nil {
		c.WriteError(err)
		return
	}
	if !c.Authorize(op.DatabaseID(), auth.Reader) {
		return
	}
	conns, err := s.History(ctx, op.ID)
	if err != nil {
		c.WriteError(err)
		return
	}
	out := listDoc{Value: []any{}}
	for _, conn := range conns {
		out.Value = append(out.Value, connectionView{
			ID: conn.ID, Name: conn.Name, Type: conn.ARM("").Type, ResourceID: conn.ResourceID,
			Status: conn.Status, Description: conn.Description, DecidedBy: conn.DecidedBy,
			Created: conn.Created, Deleted: conn.Deleted, Traffic: conn.Traffic,
		})
	}
	c.WriteJSON(http.StatusOK, out)
}
