package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/store"
)

func contextBackground() context.Context { return context.Background() }

// richStatus is bacport's status of an operation, beside the ARM result.
// QueuePosition is the 1-based place of a Queued operation in the line for
// a worker of this service (absent when not queued). LastProgressTime is
// when a Running job last moved (before its first report, when its run
// started); Stalled says that is longer ago than the stall-after setting.
type richStatus struct {
	ID                         string                `json:"id"`
	RequestType                string                `json:"requestType"`
	Kind                       string                `json:"kind"`
	ServerID                   string                `json:"serverId"`
	DatabaseName               string                `json:"databaseName"`
	BlobURI                    string                `json:"blobUri"`
	Status                     string                `json:"status"`
	Phase                      string                `json:"phase"`
	CurrentTable               string                `json:"currentTable,omitempty"`
	Percent                    float64               `json:"percent"`
	Rows                       int64                 `json:"rows"`
	Bytes                      int64                 `json:"bytes"`
	BytesPerSecond             float64               `json:"bytesPerSecond"`
	ETASeconds                 float64               `json:"etaSeconds,omitempty"`
	Tables                     []store.TableProgress `json:"tables"`
	QueuePosition              int                   `json:"queuePosition,omitempty"`
	QueuedTime                 time.Time             `json:"queuedTime"`
	StartedTime                *time.Time            `json:"startedTime,omitempty"`
	LastProgressTime           *time.Time            `json:"lastProgressTime,omitempty"`
	Stalled                    bool                  `json:"stalled"`
	FinishedTime               *time.Time            `json:"finishedTime,omitempty"`
	LastModifiedTime           time.Time             `json:"lastModifiedTime"`
	CancelRequested            bool                  `json:"cancelRequested"`
	Cancellable                bool                  `json:"cancellable"` // a cancel would be accepted now
	Error                      *store.OperationErr   `json:"error,omitempty"`
	RequestedBy                string                `json:"requestedBy"`
	Runs                       int                   `json:"runs"`
	PrivateEndpointConnections []store.EndpointInfo  `json:"privateEndpointConnections"`
}

// rich builds the rich status of op. The queue position and the stalled
// flag are worked out now, at read time, so nothing has to update them as
// other jobs start or as time passes.
func (s *Server) rich(ctx context.Context, op *store.Operation) richStatus {
	r := richStatus{
		ID: op.ID, RequestType: requestType(op), Kind: op.Kind, ServerID: op.ServerID,
		DatabaseName: op.DatabaseName, BlobURI: op.Request.StorageURI, Status: op.Status, Phase: op.Phase,
		Percent: op.Progress.Percent, Rows: op.Progress.Rows, Bytes: op.Progress.Bytes,
		BytesPerSecond: op.Progress.BytesPerSecond, Tables: op.Progress.Tables,
		QueuedTime: op.QueuedAt, StartedTime: op.StartedAt, FinishedTime: op.FinishedAt,
		LastModifiedTime: op.ModifiedAt, CancelRequested: op.CancelRequested, Error: op.Error,
		RequestedBy: op.PrincipalName, Runs: op.Runs, PrivateEndpointConnections: op.Endpoints,
		Cancellable: !store.Terminal(op.Status) && !op.CancelRequested && !op.Committing,
	}
	if r.Tables == nil {
		r.Tables = []store.TableProgress{}
	}
	if r.PrivateEndpointConnections == nil {
		r.PrivateEndpointConnections = []store.EndpointInfo{}
	}
	for _, t := range r.Tables {
		if !t.Done {
			r.CurrentTable = t.Name
		}
	}
	if pos, err := s.cfg.Store.QueuePosition(ctx, op); err == nil {
		r.QueuePosition = pos
	} else {
		s.cfg.Log.Warn("queue position", "operation", op.ID, "err", err)
	}
	if op.Status == store.StatusRunning {
		last := op.ModifiedAt // the run started and has not reported yet
		if op.Progress.LastProgressAt != nil {
			last = *op.Progress.LastProgressAt
		}
		r.LastProgressTime = &last
		r.Stalled = time.Since(last) >= s.cfg.StallAfter
	}
	if p := r.Percent; p > 0 && p < 100 && op.StartedAt != nil {
		elapsed := time.Since(*op.StartedAt).Seconds()
		r.ETASeconds = elapsed * (100 - p) / p
	}
	return r
}

func (s *Server) getRichStatus(c *call) {
	op, ok := c.loadOperation(c.params[0], "", auth.Reader)
	if !ok {
		return
	}
	c.writeJSON(http.StatusOK, s.rich(c.ctx(), op))
}

func (s *Server) getOperationHistory(c *call) {
	op, ok := c.loadOperation(c.params[0], "", auth.Reader)
	if !ok {
		return
	}
	events, err := s.cfg.Store.History(c.ctx(), op.ID)
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": events})
}

// streamEvents sends the operation's progress and history as server-sent
// events until it ends or the client goes away: "progress" events carry
// the rich status, "history" events each new history entry, and a final
// "end" event the terminal status.
func (s *Server) streamEvents(c *call) {
	op, ok := c.loadOperation(c.params[0], "", auth.Reader)
	if !ok {
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	rc := http.NewResponseController(c.w)

	send := func(event string, v any) bool {
		data, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(c.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A progress event goes out when the operation changed, and also when
	// only its queue position or stalled flag did: those move without a
	// write to the operation.
	var lastMod time.Time
	var lastPos int
	var lastStalled bool
	var lastSeq int64
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		events, err := s.cfg.Store.History(c.ctx(), op.ID)
		if err != nil {
			return
		}
		for _, e := range events {
			if e.Seq > lastSeq {
				lastSeq = e.Seq
				if !send("history", e) {
					return
				}
			}
		}
		r := s.rich(c.ctx(), op)
		if !op.ModifiedAt.Equal(lastMod) || r.QueuePosition != lastPos || r.Stalled != lastStalled {
			lastMod, lastPos, lastStalled = op.ModifiedAt, r.QueuePosition, r.Stalled
			if !send("progress", r) {
				return
			}
		}
		if store.Terminal(op.Status) {
			send("end", map[string]any{"status": op.Status, "error": op.Error})
			return
		}
		select {
		case <-c.ctx().Done():
			return
		case <-tick.C:
		}
		if op, err = s.cfg.Store.GetOperation(c.ctx(), op.ID); err != nil {
			return
		}
	}
}

// listHistory is a server's Import/Export History: every request, newest
// first, filtered by status, database and type, paged by $skiptoken.
func (s *Server) listHistory(c *call) {
	id := serverID(c.params)
	if !c.authorize(id, auth.Reader) {
		return
	}
	q := c.r.URL.Query()
	top := 50
	for _, k := range []string{"top", "$top"} {
		if v, err := strconv.Atoi(q.Get(k)); err == nil && v > 0 {
			top = min(v, 1000)
		}
	}
	before, _ := strconv.ParseInt(q.Get("$skiptoken"), 10, 64)
	f := store.OperationFilter{ServerID: id, Database: q.Get("database"), Status: q.Get("status"),
		Kind: q.Get("type"), Before: before, Limit: top + 1}
	switch {
	case f.Kind == "":
	case oneOf(f.Kind, "export"):
		f.Kind = store.KindExport
	case oneOf(f.Kind, "import", "importNew"):
		f.Kind = store.KindImportNew
	case oneOf(f.Kind, "importExisting"):
		f.Kind = store.KindImportExisting
	}
	if oneOf(f.Status, "Completed") {
		f.Status = store.StatusSucceeded
	}
	if oneOf(f.Status, "InProgress") {
		f.Status, f.ActiveOnly = "", true
	}
	list, err := s.cfg.Store.ListOperations(c.ctx(), f)
	if err != nil {
		c.writeError(err)
		return
	}
	out := struct {
		Value    []resultDoc `json:"value"`
		NextLink string      `json:"nextLink,omitempty"`
	}{Value: []resultDoc{}}
	for i, op := range list {
		if i == top {
			next := *c.r.URL
			nq := next.Query()
			nq.Set("$skiptoken", strconv.FormatInt(list[i-1].Seq, 10))
			next.RawQuery = nq.Encode()
			out.NextLink = c.baseURL() + next.RequestURI()
			break
		}
		res := s.result(op)
		res.Properties.Events, _ = s.cfg.Store.History(c.ctx(), op.ID)
		out.Value = append(out.Value, res)
	}
	c.writeJSON(http.StatusOK, out)
}

// Principals and role assignments (admin only).

func (c *call) requireAdmin() bool {
	if c.id.Principal.Admin {
		return true
	}
	c.writeError(errorf(http.StatusForbidden, "AuthorizationFailed",
		"only the admin principal manages principals and role assignments"))
	return false
}

func (s *Server) whoami(c *call) {
	c.writeJSON(http.StatusOK, map[string]any{"principal": c.id.Principal, "roleAssignments": c.id.Assignments})
}

func (s *Server) listPrincipals(c *call) {
	if !c.requireAdmin() {
		return
	}
	list, err := s.cfg.Store.Principals(c.ctx())
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": list})
}

// createPrincipal creates a principal with a token (shown in this answer
// only) and, optionally, one role assignment.
func (s *Server) createPrincipal(c *call) {
	if !c.requireAdmin() {
		return
	}
	var body struct {
		Name  string `json:"name"`
		Role  string `json:"role"`
		Scope string `json:"scope"`
	}
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	if body.Name == "" {
		c.writeError(badRequest("InvalidParameterValue", "name is required"))
		return
	}
	if _, err := s.cfg.Store.GetPrincipal(c.ctx(), body.Name); err == nil {
		c.writeError(errorf(http.StatusConflict, "PrincipalExists", "a principal named "+body.Name+" exists"))
		return
	}
	var role auth.Role
	if body.Role != "" {
		var err error
		if role, err = auth.ParseRole(body.Role); err != nil {
			c.writeError(badRequest("InvalidRole", err.Error()))
			return
		}
		if body.Scope == "" {
			c.writeError(badRequest("InvalidScope", "scope is required with role, e.g. /subscriptions/{id}/resourceGroups/{rg}"))
			return
		}
	}
	p := &store.Principal{ID: auth.NewID(), Name: body.Name}
	if err := s.cfg.Store.AddPrincipal(c.ctx(), p); err != nil {
		c.writeError(err)
		return
	}
	token, hash := auth.NewToken()
	if err := s.cfg.Store.AddToken(c.ctx(), p.ID, hash); err != nil {
		c.writeError(err)
		return
	}
	out := map[string]any{"principal": p, "token": token}
	if role != auth.None {
		a := &store.RoleAssignment{ID: auth.NewID(), PrincipalID: p.ID, Role: role.String(), Scope: body.Scope}
		if err := s.cfg.Store.AddRoleAssignment(c.ctx(), a); err != nil {
			c.writeError(err)
			return
		}
		out["roleAssignment"] = a
	}
	c.writeJSON(http.StatusCreated, out)
}

func (s *Server) deletePrincipal(c *call) {
	if !c.requireAdmin() {
		return
	}
	p, err := s.cfg.Store.GetPrincipal(c.ctx(), c.params[0])
	if err != nil {
		c.writeError(err)
		return
	}
	if p.Admin {
		c.writeError(badRequest("InvalidParameterValue", "the admin principal cannot be deleted"))
		return
	}
	if err := s.cfg.Store.DeletePrincipal(c.ctx(), p.ID); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}

func (s *Server) createToken(c *call) {
	if !c.requireAdmin() {
		return
	}
	p, err := s.cfg.Store.GetPrincipal(c.ctx(), c.params[0])
	if err != nil {
		c.writeError(err)
		return
	}
	token, hash := auth.NewToken()
	if err := s.cfg.Store.AddToken(c.ctx(), p.ID, hash); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusCreated, map[string]any{"principal": p, "token": token})
}

func (s *Server) listRoleAssignments(c *call) {
	if !c.requireAdmin() {
		return
	}
	list, err := s.cfg.Store.RoleAssignments(c.ctx(), c.r.URL.Query().Get("principalId"))
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": list})
}

func (s *Server) createRoleAssignment(c *call) {
	if !c.requireAdmin() {
		return
	}
	var body struct {
		Principal string `json:"principal"` // id or name
		Role      string `json:"role"`
		Scope     string `json:"scope"`
	}
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	role, err := auth.ParseRole(body.Role)
	if err != nil {
		c.writeError(badRequest("InvalidRole", err.Error()))
		return
	}
	if body.Scope == "" || body.Scope[0] != '/' {
		c.writeError(badRequest("InvalidScope", "scope must be an ARM id such as /subscriptions/{id}/resourceGroups/{rg}"))
		return
	}
	p, err := s.cfg.Store.GetPrincipal(c.ctx(), body.Principal)
	if err != nil {
		c.writeError(notFound("PrincipalNotFound", "no principal "+body.Principal))
		return
	}
	a := &store.RoleAssignment{ID: auth.NewID(), PrincipalID: p.ID, Role: role.String(), Scope: body.Scope}
	if err := s.cfg.Store.AddRoleAssignment(c.ctx(), a); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusCreated, a)
}

func (s *Server) deleteRoleAssignment(c *call) {
	if !c.requireAdmin() {
		return
	}
	if err := s.cfg.Store.DeleteRoleAssignment(c.ctx(), c.params[0]); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}
