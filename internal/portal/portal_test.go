package portal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/portal"
)

func TestMount(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		io.WriteString(w, "api "+r.URL.Path)
	})
	h := portal.Mount(api)
	tests := []struct {
		method, path string
		status       int
		location     string // for redirects
		body         string // a substring of the body
		fromAPI      bool
	}{
		{"GET", "/", http.StatusFound, "/portal/", "", false},
		{"GET", "/portal", http.StatusFound, "/portal/", "", false},
		{"GET", "/portal/", http.StatusOK, "", `<script src="app.js">`, false},
		{"GET", "/portal/app.js", http.StatusOK, "", "function route()", false},
		{"GET", "/portal/style.css", http.StatusOK, "", "font:", false},
		{"GET", "/portal/missing.js", http.StatusNotFound, "", "", false},
		{"POST", "/", http.StatusOK, "", "api /", true},
		{"GET", "/subscriptions", http.StatusOK, "", "api /subscriptions", true},
		{"GET", "/portalx", http.StatusOK, "", "api /portalx", true},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
		if got := rec.Header().Get("Location"); got != tc.location {
			t.Errorf("%s %s: Location %q, want %q", tc.method, tc.path, got, tc.location)
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: body lacks %q", tc.method, tc.path, tc.body)
		}
		if got := rec.Header().Get("X-From") == "api"; got != tc.fromAPI {
			t.Errorf("%s %s: served by the API = %v, want %v", tc.method, tc.path, got, tc.fromAPI)
		}
		if !tc.fromAPI && tc.status == http.StatusOK {
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s %s: Content-Security-Policy %q", tc.method, tc.path, csp)
			}
		}
	}
}
