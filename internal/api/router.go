package api

import (
	"net/http"
	"net/url"
	"strings"
)

// A route matches a method and a path pattern. Patterns are "/"-separated;
// "{}" matches one segment and captures it; other segments match
// case-insensitively, as ARM paths do.
type route struct {
	method  string
	pattern []string
	handle  func(c *call)
}

func split(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

func (rt *route) match(method string, segs []string) ([]string, bool) {
	if rt.method != method || len(segs) != len(rt.pattern) {
		return nil, false
	}
	var params []string
	for i, p := range rt.pattern {
		if p == "{}" {
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return nil, false
		}
	}
	return params, true
}

// router dispatches on routes; a path that matches some route but with
// another method gets 405.
type router struct {
	routes []*route
}

func (r *router) handle(method, pattern string, h func(c *call)) {
	r.routes = append(r.routes, &route{method: method, pattern: split(pattern), handle: h})
}

func (r *router) find(req *http.Request) (*route, []string, int) {
	segs := split(req.URL.EscapedPath())
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	pathMatched := false
	for _, rt := range r.routes {
		if p, ok := rt.match(req.Method, segs); ok {
			return rt, p, 0
		}
		if _, ok := (&route{method: req.Method, pattern: rt.pattern}).match(req.Method, segs); ok {
			pathMatched = true
		}
	}
	if pathMatched {
		return nil, nil, http.StatusMethodNotAllowed
	}
	return nil, nil, http.StatusNotFound
}
