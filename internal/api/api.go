// Package api is bacport's HTTP API: the ARM-compatible surface that the
// official Azure SDKs drive (resource groups, Microsoft.Sql servers,
// databases and firewall rules, Microsoft.Storage accounts, import/export
// with its long-running-operation protocol) and bacport's own endpoints
// (rich operation status with a server-sent event stream, import/export
// history, principals and role assignments).
//
// Every request is authenticated with a bearer token and authorized against
// the resource it touches (see package auth). Write-only fields (passwords,
// keys, SAS tokens) are accepted, sealed in the store and never written to
// a response, a log line or the history; listKeys is the one call that
// returns keys, by design and only to Contributors.
//
// Shortcomings: a database or server PUT completes synchronously (200/201),
// which the SDK pollers accept, rather than through an async operation; PATCH
// is accepted on servers and databases only; tags are stored but not
// queryable.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// Accounts is the embedded storage account server as the API manages it.
type Accounts interface {
	// SetAccount creates the account, or replaces its keys.
	SetAccount(name string, key1, key2 []byte) error
	RemoveAccount(name string) error
	// AccountURL is the account's blob endpoint.
	AccountURL(name string) string
}

// Config configures the API.
type Config struct {
	Store  *store.Store
	Runner *jobs.Runner
	Auth   *auth.Authenticator
	// Accounts serves embedded storage accounts; nil means only external
	// accounts can be registered.
	Accounts Accounts
	// EngineDir holds the SQLite files of servers with the embedded engine.
	EngineDir string
	// RetryAfter is the polling interval the API advises in long-running
	// operation answers; default 1s.
	RetryAfter time.Duration
	// StallAfter is how long a Running job may report no progress before
	// its rich status says it is stalled; default 10m. Building indexes and
	// verifying a package report only as they begin, so a long index build
	// can be shown stalled while it works.
	StallAfter time.Duration
	// DefaultLocation is used when a PUT names none; default "local".
	DefaultLocation string
	Log             *slog.Logger
}

// DefaultStallAfter is how long a Running job may report no progress
// before it is shown stalled, when Config.StallAfter is not set.
const DefaultStallAfter = 10 * time.Minute

// Server is the API handler.
type Server struct {
	cfg    Config
	router router
}

// New builds the API.
func New(cfg Config) *Server {
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.DefaultLocation == "" {
		cfg.DefaultLocation = "local"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg}
	s.routes()
	return s
}

// Handle adds a route to the API, for components such as private link that
// serve their own resources. pattern uses "{}" for a captured segment;
// handle receives the captured values and must authorize the caller itself
// with Call.Authorize.
func (s *Server) Handle(method, pattern string, handle func(c *Call)) {
	s.router.handle(method, pattern, func(c *call) { handle(&Call{c}) })
}

type call struct {
	s          *Server
	w          http.ResponseWriter
	r          *http.Request
	id         *auth.Identity
	params     []string
	apiVersion string
	requestID  string
	log        *slog.Logger
	status     int
}

func (c *call) ctx() context.Context { return c.r.Context() }

// ServeHTTP authenticates, routes and logs one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{s: s, w: w, r: r, requestID: newRequestID(), apiVersion: r.URL.Query().Get("api-version")}
	c.log = s.cfg.Log.With("request", c.requestID)
	w.Header().Set("x-ms-request-id", c.requestID)
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = c.requestID
	}
	w.Header().Set("x-ms-correlation-request-id", corr)
	defer func() {
		who := ""
		if c.id != nil {
			who = c.id.Principal.Name
		}
		c.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", c.status,
			"principal", who, "ms", time.Since(start).Milliseconds())
	}()

	if r.URL.Path == "/bacport/health" {
		c.writeJSON(http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	id, err := s.cfg.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if errors.Is(err, auth.ErrUnauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bacport"`)
		c.writeError(errorf(http.StatusUnauthorized, "AuthenticationFailed",
			"send a bacport token as 'Authorization: Bearer <token>'; the admin token is in the "+
				"file named by adminTokenFile in the server's endpoints.json"))
		return
	}
	if err != nil {
		c.writeError(err)
		return
	}
	c.id = id
	rt, params, status := s.router.find(r)
	switch status {
	case http.StatusNotFound:
		c.writeError(notFound("InvalidResourceType", "bacport serves no resource at "+r.URL.Path))
		return
	case http.StatusMethodNotAllowed:
		c.writeError(errorf(status, "MethodNotAllowed", r.Method+" is not supported on "+r.URL.Path))
		return
	}
	c.params = params
	rt.handle(c)
}

// authorize checks that the caller holds need at resourceID, answering 403
// (or 404 for readers of nothing) when not.
func (c *call) authorize(resourceID string, need auth.Role) bool {
	if c.id.Can(resourceID, need) {
		return true
	}
	c.writeError(errorf(http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
		"principal %q does not have %s access at scope %s; ask an Owner to assign a role",
		c.id.Principal.Name, need, resourceID)))
	return false
}

// decode reads a JSON request body into v.
func (c *call) decode(v any) error {
	data, err := io.ReadAll(io.LimitReader(c.r.Body, 4<<20))
	if err != nil {
		return badRequest("InvalidRequestContent", "the request body could not be read")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return badRequest("InvalidRequestContent", "the request needs a JSON body")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest("InvalidRequestContent", "the request body is not valid JSON for this call: "+
			jsonErrorText(err))
	}
	return nil
}

// jsonErrorText describes a decoding error without quoting the input,
// which may hold a secret.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "malformed JSON"
}

// baseURL is the scheme and host the client used, for absolute links.
func (c *call) baseURL() string {
	scheme := "https"
	if c.r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + c.r.Host
}

// link builds an absolute URL for path carrying the caller's api-version.
func (c *call) link(path string) string {
	u := c.baseURL() + path
	if c.apiVersion != "" {
		u += "?api-version=" + url.QueryEscape(c.apiVersion)
	}
	return u
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Call is a request as a handler added with Handle sees it.
type Call struct{ c *call }

// Request is the HTTP request.
func (x *Call) Request() *http.Request { return x.c.r }

// Params are the captured path segments.
func (x *Call) Params() []string { return x.c.params }

// Identity is the authenticated caller.
func (x *Call) Identity() *auth.Identity { return x.c.id }

// Authorize checks the caller's role at resourceID, answering 403 when it
// falls short.
func (x *Call) Authorize(resourceID string, need auth.Role) bool {
	return x.c.authorize(resourceID, need)
}

// Decode reads the JSON body; on error the caller should WriteError it.
func (x *Call) Decode(v any) error { return x.c.decode(v) }

// WriteJSON answers with a JSON body.
func (x *Call) WriteJSON(status int, v any) { x.c.writeJSON(status, v) }

// WriteError answers with an ARM error; use NewError for a specific code.
func (x *Call) WriteError(err error) { x.c.writeError(err) }

// Header is the response header, for a handler that answers with polling
// links (Location, Azure-AsyncOperation).
func (x *Call) Header() http.Header { return x.c.w.Header() }

// APIVersion is the api-version the caller sent.
func (x *Call) APIVersion() string { return x.c.apiVersion }

// Link is an absolute URL for path with the caller's api-version.
func (x *Call) Link(path string) string { return x.c.link(path) }

// NewError returns an API error with an HTTP status, a stable code and a
// message.
func NewError(status int, code, msg string) error { return errorf(status, code, msg) }
