package privatelink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// Route describes one private endpoint as the gateway sees it: which job it
// serves and which resource address it leads to.
type Route struct {
	// ID identifies the endpoint (the connection's resource ID).
	ID string
	// Job is the import/export operation the endpoint was created for.
	Job string
	// Resource names the server or storage account, for error messages.
	Resource string
	// Target is the resource's network address (host:port). For a
	// file-based engine it is "file:" followed by the database directory.
	Target string
}

// Stats counts what went through one endpoint.
type Stats struct {
	Conns    int64 `json:"connections"` // connections forwarded
	Refused  int64 `json:"refused"`     // connections or opens refused for want of approval
	BytesIn  int64 `json:"bytesIn"`     // bytes from the job to the resource
	BytesOut int64 `json:"bytesOut"`    // bytes from the resource to the job
	Opens    int64 `json:"opens"`       // database files opened through the endpoint
}

// Gateway forwards an isolated job's connections to its resources through
// per-endpoint loopback listeners, and only while the endpoint is approved.
type Gateway struct {
	log *slog.Logger

	mu     sync.Mutex
	routes map[string]*route
	closed bool
}

type route struct {
	Route
	status Status
	cut    bool // Cut: no route ever again, whatever the status
	ln     net.Listener
	conns  map[net.Conn]struct{}

	conns64, refused, bytesIn, bytesOut, opens atomic.Int64
}

// NewGateway returns a gateway with no endpoints.
func NewGateway(log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{log: log, routes: map[string]*route{}}
}

// Add registers an endpoint in the Pending state: it exists, but carries
// nothing until it is approved. Adding a known ID again is a no-op.
func (g *Gateway) Add(r Route) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.routes[r.ID]; ok {
		return
	}
	g.routes[r.ID] = &route{Route: r, status: Pending, conns: map[net.Conn]struct{}{}}
}

// Set moves an endpoint to a new state. Approving opens its listener;
// rejecting or disconnecting closes the listener and cuts its live
// connections.
func (g *Gateway) Set(id string, st Status) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.routes[id]
	if !ok {
		return fmt.Errorf("set endpoint %q to %s: unknown endpoint", id, st)
	}
	if !CanChange(r.status, st) {
		return fmt.Errorf("set endpoint %q from %s to %s: %w", id, r.status, st, ErrTransition)
	}
	r.status = st
	if st == Approved {
		return g.listenLocked(r)
	}
	g.cutLocked(r)
	return nil
}

// Remove deletes an endpoint: its route is cut and forgotten. It returns
// the endpoint's final counters.
func (g *Gateway) Remove(id string) Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.routes[id]
	if !ok {
		return Stats{}
	}
	g.cutLocked(r)
	delete(g.routes, id)
	return r.stats()
}

// Cut closes an endpoint's listener and cuts its live connections for good,
// whatever its state: no new connection or file open passes it again. The
// service cuts an import's storage route this way to stop the import.
func (g *Gateway) Cut(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.routes[id]; ok {
		r.cut = true
		g.cutLocked(r)
	}
}

// Stats returns an endpoint's counters.
func (g *Gateway) Stats(id string) Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.routes[id]; ok {
		return r.stats()
	}
	return Stats{}
}

// Close cuts every endpoint. It may be called more than once.
func (g *Gateway) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, r := range g.routes {
		g.cutLocked(r)
	}
}

func (r *route) stats() Stats {
	return Stats{
		Conns: r.conns64.Load(), Refused: r.refused.Load(),
		BytesIn: r.bytesIn.Load(), BytesOut: r.bytesOut.Load(), Opens: r.opens.Load(),
	}
}

// listenLocked starts the endpoint's loopback listener, unless the target
// is a file directory (those are gated at open, not forwarded).
func (g *Gateway) listenLocked(r *route) error {
	if r.ln != nil || r.cut || strings.HasPrefix(r.Target, "file:") || g.closed {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for endpoint %q: %w", r.ID, err)
	}
	r.ln = ln
	go g.serve(r, ln)
	g.log.Info("private endpoint route open", "endpoint", r.ID, "job", r.Job,
		"listen", ln.Addr().String())
	return nil
}

func (g *Gateway) cutLocked(r *route) {
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		c.Close()
		delete(r.conns, c)
	}
}

func (g *Gateway) serve(r *route, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go g.forward(r, c)
	}
}

// forward carries one connection to the resource. The endpoint's state is
// checked again for each new connection, since approval may have been
// withdrawn between accept and now.
func (g *Gateway) forward(r *route, in net.Conn) {
	if !g.track(r, in) {
		r.refused.Add(1)
		in.Close()
		return
	}
	defer g.untrack(r, in)

	var d net.Dialer
	out, err := d.Dial("tcp", r.Target)
	if err != nil {
		g.log.Warn("private endpoint cannot reach resource", "endpoint", r.ID, "err", err)
		in.Close()
		return
	}
	if !g.track(r, out) {
		out.Close()
		in.Close()
		return
	}
	defer g.untrack(r, out)
	r.conns64.Add(1)

	done := make(chan struct{}, 2)
	go func() { pipe(out, in, &r.bytesIn); done <- struct{}{} }()
	go func() { pipe(in, out, &r.bytesOut); done <- struct{}{} }()
	<-done
	in.Close()
	out.Close()
	<-done
}

// pipe copies src to dst, counting bytes as they pass so the counters
// are current while a transfer runs.
func pipe(dst, src net.Conn, count *atomic.Int64) {
	io.Copy(counter{dst, count}, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

type counter struct {
	w io.Writer
	n *atomic.Int64
}

func (c counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (g *Gateway) track(r *route, c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.status != Approved || r.ln == nil {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (g *Gateway) untrack(r *route, c net.Conn) {
	g.mu.Lock()
	delete(r.conns, c)
	g.mu.Unlock()
	c.Close()
}

// Dialer returns the dial function an isolated job uses for every network
// connection. It reaches an address only through an approved endpoint of
// that job whose target is that address; anything else is refused with
// ErrNoRoute, which is what makes the endpoint the job's only route.
func (g *Gateway) Dialer(job string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		via, err := g.routeFor(job, normalizeAddr(addr))
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", via)
	}
}

func (g *Gateway) routeFor(job, addr string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var found *route
	for _, r := range g.routes {
		if r.Job == job && normalizeAddr(r.Target) == addr {
			found = r
			if r.status == Approved && r.ln != nil {
				return r.ln.Addr().String(), nil
			}
		}
	}
	if found == nil {
		return "", noRoute(fmt.Sprintf("dial %s: job %s has no private endpoint to it", addr, job))
	}
	found.refused.Add(1)
	return "", noRoute(fmt.Sprintf("dial %s: private endpoint to %s is %s", addr, found.Resource, found.state()))
}

// OpenFile returns the open gate an isolated job uses for a file-based
// engine: a database file may be opened only inside the directory of an
// approved endpoint of that job.
func (g *Gateway) OpenFile(job string) func(ctx context.Context, path string) error {
	return func(ctx context.Context, path string) error {
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		var found *route
		for _, r := range g.routes {
			dir, ok := strings.CutPrefix(r.Target, "file:")
			if !ok || r.Job != job || !within(dir, abs) {
				continue
			}
			found = r
			if r.status == Approved && !r.cut {
				r.opens.Add(1)
				return nil
			}
		}
		if found == nil {
			return fmt.Errorf("open %s: job %s has no private endpoint to it: %w", path, job, ErrNoRoute)
		}
		found.refused.Add(1)
		return fmt.Errorf("open %s: private endpoint to %s is %s: %w",
			path, found.Resource, found.state(), ErrNoRoute)
	}
}

func within(dir, path string) bool {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(d, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// normalizeAddr makes "localhost:5432" and "127.0.0.1:5432" compare equal.
func normalizeAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "localhost" || host == "::1" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// routeError is a refused dial. It is not worth retrying, and says so to
// the Azure SDK's retry policy (NonRetriable), so a job whose route was
// cut fails at once instead of after minutes of retries.
type routeError struct{ msg string }

func noRoute(msg string) error { return &routeError{msg} }

func (e *routeError) Error() string { return e.msg + ": " + ErrNoRoute.Error() }
func (e *routeError) Unwrap() error { return ErrNoRoute }

// NonRetriable marks the error for azcore's retry policy.
func (e *routeError) NonRetriable() {}

// state describes the route for a refusal.
func (r *route) state() string {
	if r.cut {
		return "cut (the job is stopping)"
	}
	return string(r.status)
}

// IsNoRoute reports whether err means a private endpoint refused the route.
func IsNoRoute(err error) bool { return errors.Is(err, ErrNoRoute) }
