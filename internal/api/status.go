package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// loadOperation reads an operation for a caller who needs role at its
// database; an operation of another subscription is not found.
func (c *call) loadOperation(id, sub string, need auth.Role) (*store.Operation, bool) {
	op, err := c.s.cfg.Store.GetOperation(c.ctx(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && sub != "" && !strings.EqualFold(sub, op.Subscription) {
		c.writeError(notFound("ImportExportOperationIdNotFound", "no import/export operation "+id))
		return nil, false
	}
	if err != nil {
		c.writeError(err)
		return nil, false
	}
	if !c.authorize(op.DatabaseID(), need) {
		return nil, false
	}
	return op, true
}

// asyncDoc is the Azure-AsyncOperation status document.
type asyncDoc struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Status          string       `json:"status"`
	StartTime       string       `json:"startTime"`
	EndTime         string       `json:"endTime,omitempty"`
	PercentComplete float64      `json:"percentComplete"`
	Error           *errorDetail `json:"error,omitempty"`
}

func (s *Server) getAsyncStatus(c *call) {
	op, ok := c.loadOperation(c.params[2], c.params[0], auth.Reader)
	if !ok {
		return
	}
	doc := asyncDoc{ID: asyncPath(op), Name: op.ID, StartTime: op.QueuedAt.Format(time.RFC3339Nano),
		PercentComplete: op.Progress.Percent}
	switch op.Status {
	case store.StatusSucceeded:
		doc.Status = "Succeeded"
	case store.StatusFailed:
		doc.Status = "Failed"
	case store.StatusCancelled:
		doc.Status = "Canceled"
	default:
		doc.Status = "InProgress"
		s.retryHeaders(c)
	}
	if op.FinishedAt != nil {
		doc.EndTime = op.FinishedAt.Format(time.RFC3339Nano)
	}
	if op.Error != nil {
		doc.Error = &errorDetail{Code: op.Error.Code, Message: op.Error.Message}
	}
	c.writeJSON(http.StatusOK, doc)
}

// resultDoc is an ImportExportOperationResult (or, on the extensions
// route, an ImportExportExtensionsOperationResult).
type resultDoc struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Properties resultProps `json:"properties"`
}

type resultProps struct {
	RequestID                  string               `json:"requestId"`
	RequestType                string               `json:"requestType"`
	QueuedTime                 string               `json:"queuedTime"`
	LastModifiedTime           string               `json:"lastModifiedTime"`
	BlobURI                    string               `json:"blobUri"`
	ServerName                 string               `json:"serverName"`
	DatabaseName               string               `json:"databaseName"`
	Status                     string               `json:"status"`
	ErrorMessage               string               `json:"errorMessage,omitempty"`
	PrivateEndpointConnections []store.EndpointInfo `json:"privateEndpointConnections"`
	// bacport additions, beside the ARM fields.
	Phase     string               `json:"phase,omitempty"`
	ErrorCode string               `json:"errorCode,omitempty"`
	Principal string               `json:"requestedBy,omitempty"`
	Events    []store.HistoryEntry `json:"events,omitempty"`
}

func resultStatus(op *store.Operation) string {
	switch op.Status {
	case store.StatusSucceeded:
		return "Completed"
	case store.StatusFailed:
		return "Failed"
	case store.StatusCancelled:
		return "Cancelled"
	}
	return "InProgress"
}

func (s *Server) result(op *store.Operation) resultDoc {
	srvName := op.ServerName
	if r, err := s.cfg.Store.GetResource(contextBackground(), op.ServerID); err == nil {
		var d serverDoc
		if json.Unmarshal(r.Doc, &d) == nil && d.Properties.FullyQualifiedDomainName != "" {
			srvName = d.Properties.FullyQualifiedDomainName
		}
	}
	p := resultProps{
		RequestID: op.ID, RequestType: requestType(op),
		QueuedTime: op.QueuedAt.Format(time.RFC3339Nano), LastModifiedTime: op.ModifiedAt.Format(time.RFC3339Nano),
		BlobURI: op.Request.StorageURI, ServerName: srvName, DatabaseName: op.DatabaseName,
		Status: resultStatus(op), PrivateEndpointConnections: op.Endpoints, Phase: op.Phase,
		Principal: op.PrincipalName,
	}
	if p.PrivateEndpointConnections == nil {
		p.PrivateEndpointConnections = []store.EndpointInfo{}
	}
	if op.Error != nil {
		p.ErrorMessage, p.ErrorCode = op.Error.Message, op.Error.Code
	}
	return resultDoc{
		ID:   op.DatabaseID() + "/importExportOperationResults/" + op.ID,
		Name: op.ID, Type: "Microsoft.Sql/servers/databases/importExportOperationResults",
		Properties: p,
	}
}

// getOperationResult serves the Location link: 202 while the job runs,
// then 200 with the ImportExportOperationResult.
func (s *Server) getOperationResult(c *call) {
	op, ok := c.loadOperation(c.params[2], c.params[0], auth.Reader)
	if !ok {
		return
	}
	res := s.result(op)
	if !store.Terminal(op.Status) {
		s.retryHeaders(c)
		c.w.Header().Set("Location", c.link(resultPath(op)))
		c.writeJSON(http.StatusAccepted, res)
		return
	}
	c.writeJSON(http.StatusOK, res)
}

// getExtension serves the final GET of a database extension PUT: the
// result of the latest operation started under that extension name.
func (s *Server) getExtension(c *call) {
	id := databaseID(c.params)
	if !c.authorize(id, auth.Reader) {
		return
	}
	list, err := s.cfg.Store.ListOperations(c.ctx(), store.OperationFilter{
		ServerID: serverID(c.params), Database: c.params[3], Limit: 200})
	if err != nil {
		c.writeError(err)
		return
	}
	for _, op := range list {
		if strings.EqualFold(op.ExtensionName, c.params[4]) {
			c.writeJSON(http.StatusOK, s.extensionResult(op))
			return
		}
	}
	c.writeError(notFound("ResourceNotFound", "no extension operation named "+c.params[4]+" on this database"))
}

func (s *Server) extensionResult(op *store.Operation) resultDoc {
	r := s.result(op)
	r.ID = op.DatabaseID() + "/extensions/" + op.ExtensionName
	r.Name = op.ExtensionName
	r.Type = "Microsoft.Sql/servers/databases/extensions"
	return r
}

func (s *Server) listExtensions(c *call) {
	id := databaseID(c.params)
	if !c.authorize(id, auth.Reader) {
		return
	}
	list, err := s.cfg.Store.ListOperations(c.ctx(), store.OperationFilter{
		ServerID: serverID(c.params), Database: c.params[3], Limit: 200})
	if err != nil {
		c.writeError(err)
		return
	}
	out := []resultDoc{}
	seen := map[string]bool{}
	for _, op := range list {
		if op.ExtensionName != "" && !seen[strings.ToLower(op.ExtensionName)] {
			seen[strings.ToLower(op.ExtensionName)] = true
			out = append(out, s.extensionResult(op))
		}
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": out})
}

// Database operations (DatabaseOperations_ListByDatabase / _Cancel).

type dbOperationDoc struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		DatabaseName          string `json:"databaseName"`
		Operation             string `json:"operation"`
		OperationFriendlyName string `json:"operationFriendlyName"`
		PercentComplete       int32  `json:"percentComplete"`
		ServerName            string `json:"serverName"`
		StartTime             string `json:"startTime"`
		State                 string `json:"state"`
		ErrorCode             *int32 `json:"errorCode,omitempty"`
		ErrorDescription      string `json:"errorDescription,omitempty"`
		IsUserError           bool   `json:"isUserError"`
		IsCancellable         bool   `json:"isCancellable"`
		Description           string `json:"description"`
		OperationPhaseDetails struct {
			Phase            string            `json:"phase"`
			PhaseInformation map[string]string `json:"phaseInformation,omitempty"`
		} `json:"operationPhaseDetails"`
	} `json:"properties"`
}

func dbOperation(op *store.Operation) dbOperationDoc {
	var d dbOperationDoc
	d.ID = op.DatabaseID() + "/operations/" + op.ID
	d.Name, d.Type = op.ID, "Microsoft.Sql/servers/databases/operations"
	p := &d.Properties
	p.DatabaseName, p.ServerName = op.DatabaseName, op.ServerName
	if op.Kind == store.KindExport {
		p.Operation, p.OperationFriendlyName = "ExportDatabase", "EXPORT DATABASE"
	} else {
		p.Operation, p.OperationFriendlyName = "ImportDatabase", "IMPORT DATABASE"
	}
	p.PercentComplete = int32(op.Progress.Percent)
	p.StartTime = op.QueuedAt.Format(time.RFC3339Nano)
	if op.StartedAt != nil {
		p.StartTime = op.StartedAt.Format(time.RFC3339Nano)
	}
	switch {
	case op.Status == store.StatusSucceeded:
		p.State = "Succeeded"
	case op.Status == store.StatusFailed:
		p.State = "Failed"
	case op.Status == store.StatusCancelled:
		p.State = "Cancelled"
	case op.CancelRequested:
		p.State = "CancelInProgress"
	case op.Status == store.StatusRunning:
		p.State = "InProgress"
	default:
		p.State = "Pending"
	}
	p.IsCancellable = !store.Terminal(op.Status) && !op.CancelRequested && !op.Committing
	p.Description = requestType(op) + " of database " + op.DatabaseName + " requested by " + op.PrincipalName
	p.OperationPhaseDetails.Phase = op.Phase
	if op.Error != nil {
		p.ErrorDescription = op.Error.Code + ": " + op.Error.Message
		p.IsUserError = op.Error.Code != jobs.CodeJobError
	}
	return d
}

// listDatabaseOperations lists the database's active import/export
// operations (and, with ?all=true, its finished ones).
func (s *Server) listDatabaseOperations(c *call) {
	id := databaseID(c.params)
	if !c.authorize(id, auth.Reader) {
		return
	}
	all, _ := strconv.ParseBool(c.r.URL.Query().Get("all"))
	list, err := s.cfg.Store.ListOperations(c.ctx(), store.OperationFilter{
		ServerID: serverID(c.params), Database: c.params[3], ActiveOnly: !all, Limit: 100})
	if err != nil {
		c.writeError(err)
		return
	}
	out := []dbOperationDoc{}
	for _, op := range list {
		out = append(out, dbOperation(op))
	}
	c.writeJSON(http.StatusOK, map[string]any{"value": out})
}

func (s *Server) cancelDatabaseOperation(c *call) {
	op, ok := c.loadOperation(c.params[4], c.params[0], auth.Contributor)
	if !ok {
		return
	}
	if !strings.EqualFold(op.DatabaseID(), databaseID(c.params)) {
		c.writeError(notFound("OperationIdNotFound", "no operation "+c.params[4]+" on this database"))
		return
	}
	s.cancel(c, op)
	if c.status == 0 {
		c.w.WriteHeader(http.StatusOK)
		c.status = http.StatusOK
	}
}

func (s *Server) cancelByID(c *call) {
	op, ok := c.loadOperation(c.params[0], "", auth.Contributor)
	if !ok {
		return
	}
	op = s.cancel(c, op)
	if op != nil {
		c.writeJSON(http.StatusOK, s.rich(c.ctx(), op))
	}
}

func (s *Server) cancel(c *call, op *store.Operation) *store.Operation {
	out, err := s.cfg.Runner.Cancel(c.ctx(), op.ID, c.id.Principal.Name)
	if errors.Is(err, jobs.ErrCommitting) {
		c.writeError(errorf(http.StatusConflict, "CannotCancelOperation",
			"operation "+op.ID+" can no longer be cancelled: it is committing its result "+
				"and ends within moments; poll its status"))
		return nil
	}
	if errors.Is(err, jobs.ErrNotCancellable) {
		c.writeError(errorf(http.StatusConflict, "CannotCancelOperation",
			"operation "+op.ID+" has already ended ("+op.Status+")"))
		return nil
	}
	if err != nil {
		c.writeError(err)
		return nil
	}
	c.log.Info("operation cancel requested", "operation", op.ID)
	return out
}
