package embedded

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultStagedBlockTTL = 7 * 24 * time.Hour // Azure discards uncommitted blocks after a week
	DefaultSweepInterval  = time.Hour
	DefaultMaxClockSkew   = 15 * time.Minute
)

// defaultVersion is echoed as x-ms-version when a request names none.
const defaultVersion = "2026-12-06"

// Config configures a Server.
type Config struct {
	// Dir holds the server's data (and accounts.json when
	// PersistAccounts is set). It is created if missing.
	Dir string
	// Logger receives lifecycle events; nil discards them.
	Logger *slog.Logger
	// PersistAccounts keeps accounts and their keys in Dir/accounts.json
	// (mode 0600) and loads them on start.
	PersistAccounts bool
	// StagedBlockTTL is how long an uncommitted block may wait for a
	// commit before the sweeper deletes it.
	StagedBlockTTL time.Duration
	// SweepInterval is how often the sweeper runs while serving.
	SweepInterval time.Duration
	// MaxClockSkew bounds the difference between a SharedKey request's
	// date and the server's clock.
	MaxClockSkew time.Duration
	// Now replaces the clock, for tests; nil means time.Now.
	Now func() time.Time
	// AssumeHTTPS treats every request as HTTPS when checking a SAS's
	// protocol (spr=https), for a server behind a TLS-terminating proxy.
	// A TLS listener given to Serve needs no such setting.
	AssumeHTTPS bool
	// Allow, when set, is asked before authentication whether the request
	// may reach the account at all (network rules, private endpoints);
	// false answers 403 AuthorizationFailure, as Azure's firewall does.
	Allow func(r *http.Request, account string) bool
}

// Server is an embedded Azure Blob endpoint serving several storage
// accounts from one folder, path style: /{account}/{container}/{blob}.
type Server struct {
	cfg     Config
	dir     string
	dataDir string
	log     *slog.Logger
	store   *store

	amu      sync.RWMutex
	accounts map[string]*account

	mu     sync.Mutex
	srv    *http.Server
	url    string
	stop   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

// New opens (or creates) the server folder, loads persisted accounts and
// repairs what a crash may have left: unfinished uploads, half-created or
// half-deleted containers and block files no committed blob names.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("new blob server: Config.Dir is empty")
	}
	if cfg.StagedBlockTTL <= 0 {
		cfg.StagedBlockTTL = DefaultStagedBlockTTL
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		dir:      cfg.Dir,
		dataDir:  filepath.Join(cfg.Dir, "data"),
		log:      log.With("component", "blob"),
		accounts: map[string]*account{},
		stop:     make(chan struct{}),
	}
	s.store = newStore(s.dataDir)
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("new blob server: %w", err)
	}
	if cfg.PersistAccounts {
		if err := s.loadAccounts(); err != nil {
			return nil, fmt.Errorf("new blob server: %w", err)
		}
	}
	if err := s.store.recover(s.now(), cfg.StagedBlockTTL); err != nil {
		return nil, fmt.Errorf("new blob server: %w", err)
	}
	return s, nil
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Listen starts serving on addr (for example "127.0.0.1:0") in the
// background; URL then returns the endpoint.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for blob service: %w", err)
	}
	s.mu.Lock()
	s.url = "http://" + ln.Addr().String()
	s.mu.Unlock()
	go s.Serve(ln)
	return nil
}

// Serve answers requests on ln until Shutdown or Close, and sweeps
// expired uncommitted blocks meanwhile. It returns nil after a shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	if s.url == "" {
		s.url = "http://" + ln.Addr().String()
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.srv = srv
	s.wg.Add(1)
	s.mu.Unlock()
	go s.sweepLoop()

	s.log.Info("blob service listening", "addr", ln.Addr().String())
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve blob service: %w", err)
}

// URL is the server's base URL, "http://host:port"; an account's endpoint
// is URL()+"/"+name.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// AccountURL is the Blob service endpoint of the named account.
func (s *Server) AccountURL(name string) string { return s.URL() + "/" + name }

// Handler serves the Blob REST API, for mounting on another listener.
func (s *Server) Handler() http.Handler { return s }

// Shutdown stops accepting requests and waits for those in flight until
// ctx ends, then closes what is left. It can be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	s.wg.Wait()
	s.log.Info("blob service stopped")
	return err
}

// Close stops the server at once, cutting requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
	return nil
}

func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			n := s.store.sweepStaged(s.now(), s.cfg.StagedBlockTTL)
			if n > 0 {
				s.log.Info("expired uncommitted blocks removed", "blobs", n)
			}
		}
	}
}

// request is a parsed request path.
type request struct {
	account, container, blob string
	id                       string
	// createOnly is set when a SAS grants create but not write: the
	// request may not replace an existing blob.
	createOnly bool
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ServeHTTP answers one Blob REST request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID()}
	h := w.Header()
	h.Set("x-ms-request-id", rq.id)
	v := r.Header.Get("x-ms-version")
	if v == "" {
		v = defaultVersion
	}
	h.Set("x-ms-version", v)
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" {
		h.Set("x-ms-client-request-id", cid)
	}
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	h.Set("Server", "bacport-blob")

	err := s.serve(w, r, rq)
	if err == nil {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("blob request failed", "request_id", rq.id, "method", r.Method,
			"account", rq.account, "container", rq.container, "err", err)
		ae = errorf(http.StatusInternalServerError, "InternalError",
			"The server encountered an internal error. Please retry the request.")
	}
	writeError(w, r, rq.id, ae)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rq *request) error {
	p := strings.TrimPrefix(r.URL.Path, "/")
	rq.account, p, _ = strings.Cut(p, "/")
	rq.container, rq.blob, _ = strings.Cut(p, "/")
	if rq.account == "" {
		return errorf(http.StatusBadRequest, "InvalidUri",
			"The requested URI does not represent any resource on the server.")
	}
	a := s.account(rq.account)
	if a == nil {
		return errAccountNotFound
	}
	if s.cfg.Allow != nil && !s.cfg.Allow(r, rq.account) {
		return errAuthorizationFailure
	}
	if rq.container != "" && !validContainerName(rq.container) {
		return errorf(http.StatusBadRequest, "InvalidResourceName",
			"The specifed resource name contains invalid characters.")
	}
	if len(rq.blob) > 1024 {
		return errorf(http.StatusBadRequest, "InvalidResourceName",
			"The specifed resource name length is not within the permissible limits.")
	}
	op, handle := s.route(r, rq)
	if handle == nil {
		return errNotImplemented(r.Method + " " + opDescription(r, rq))
	}
	if err := s.authorize(r, a, rq, op); err != nil {
		return err
	}
	return handle(w, r, rq)
}

func opDescription(r *http.Request, rq *request) string {
	q := r.URL.Query()
	lvl := "account"
	if rq.blob != "" {
		lvl = "blob"
	} else if rq.container != "" {
		lvl = "container"
	}
	return fmt.Sprintf("%s operation (restype=%q comp=%q)", lvl, q.Get("restype"), q.Get("comp"))
}

type handlerFunc func(http.ResponseWriter, *http.Request, *request) error

// route picks the operation for the method, path level and query.
func (s *Server) route(r *http.Request, rq *request) (operation, handlerFunc) {
	q := r.URL.Query()
	comp, restype := q.Get("comp"), q.Get("restype")
	m := r.Method
	type key struct{ method, restype, comp string }
	switch {
	case rq.container == "":
		switch (key{m, restype, comp}) {
		case key{"GET", "", "list"}:
			return operation{"ListContainers", levelService, "l", false}, s.listContainers
		case key{"GET", "account", "properties"}, key{"HEAD", "account", "properties"}:
			return operation{"GetAccountInfo", levelService, "", true}, s.accountInfo
		}
	case rq.blob == "":
		if restype != "container" {
			return operation{}, nil
		}
		switch (key{m, restype, comp}) {
		case key{"PUT", "container", ""}:
			return operation{"CreateContainer", levelContainer, "cw", false}, s.createContainer
		case key{"DELETE", "container", ""}:
			return operation{"DeleteContainer", levelContainer, "d", false}, s.deleteContainer
		case key{"GET", "container", ""}, key{"HEAD", "container", ""}:
			return operation{"GetContainerProperties", levelContainer, "r", false}, s.containerProperties
		case key{"GET", "container", "list"}:
			return operation{"ListBlobs", levelContainer, "l", true}, s.listBlobs
		}
	default:
		switch (key{m, "", comp}) {
		case key{"PUT", "", ""}:
			return operation{"PutBlob", levelObject, "cw", true}, s.putBlob
		case key{"PUT", "", "block"}:
			return operation{"PutBlock", levelObject, "cw", true}, s.putBlock
		case key{"PUT", "", "blocklist"}:
			return operation{"PutBlockList", levelObject, "cw", true}, s.putBlockList
		case key{"PUT", "", "metadata"}:
			return operation{"SetBlobMetadata", levelObject, "w", true}, s.setBlobMetadata
		case key{"GET", "", "blocklist"}:
			return operation{"GetBlockList", levelObject, "r", true}, s.getBlockList
		case key{"GET", "", ""}, key{"HEAD", "", ""}:
			return operation{"GetBlob", levelObject, "r", true}, s.getBlob
		case key{"DELETE", "", ""}:
			return operation{"DeleteBlob", levelObject, "d", true}, s.deleteBlob
		}
	}
	return operation{}, nil
}
