package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// Error is an API failure: an HTTP status and a stable code with a message
// that tells the caller what to do. It is written as the ARM error
// envelope {"error":{"code","message","target"}}.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func badRequest(code, msg string) *Error { return errorf(http.StatusBadRequest, code, msg) }

func notFound(code, msg string) *Error { return errorf(http.StatusNotFound, code, msg) }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// writeError answers with err as an ARM error. Errors that are not *Error
// are internal: their text goes to the log, the caller gets a request id.
func (c *call) writeError(err error) {
	var e *Error
	if !errors.As(err, &e) {
		var je *jobs.Error
		switch {
		case errors.As(err, &je):
			e = badRequest(je.Code, je.Message)
		case errors.Is(err, store.ErrNotFound):
			e = notFound("ResourceNotFound", "the resource was not found")
		default:
			c.log.Error("request failed", "err", err)
			e = errorf(http.StatusInternalServerError, "InternalServerError",
				"an internal error occurred; the server log has the details under request id "+c.requestID)
		}
	}
	c.w.Header().Set("x-ms-error-code", e.Code)
	c.writeJSON(e.Status, errorBody{errorDetail{Code: e.Code, Message: e.Message, Target: e.Target}})
}

func (c *call) writeJSON(status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		c.log.Error("encode response", "err", err)
		status, data = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"encode response"}}`)
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(status)
	c.w.Write(data)
	c.status = status
}
