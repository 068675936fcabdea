// Package portal is bacport's web UI: server and database pages, the Import
// and Export forms with "Use Private Link", the Import/Export History page
// and the Private Link Center. It is a static single-page application that
// calls the same HTTP API as the CLI and the SDKs, with the signed-in
// user's token; it never reads the store.
//
// The app is plain JavaScript with no build step, embedded in the binary
// and mounted by Mount under /portal/ on the API's own listener, so the
// browser calls the API on the same origin and needs no CORS. The token the
// user signs in with stays in the tab's sessionStorage and goes out only as
// a bearer header; the API takes no cookies, so the portal needs no CSRF
// tokens. Every value from the API is inserted as text, never as HTML, and
// the Content-Security-Policy allows only the portal's own script and style.
//
// Pages that change by themselves (the history, an operation, the Private
// Link Center) poll the API and update in place, keeping every element
// that did not change, so a refresh never takes a button from under the
// pointer. #view's data-route attribute names the page once it is drawn,
// which is what the browser test waits for.
//
// Limitations:
//   - Pages poll (history every 1.5 s, an operation every 1 s, the
//     Private Link Center every 2 s) instead of following the API's
//     server-sent events: EventSource cannot send an Authorization header.
//   - The history shows at most the newest 1000 requests of a filter.
//   - Registering external storage accounts, deleting resources,
//     regenerating keys and managing principals and role assignments are
//     left to the CLI and the API.
//   - The admin token is typed in; there is no single sign-on.
package portal

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Prefix is the path under which the portal is served.
const Prefix = "/portal/"

// Handler serves the portal's files under Prefix.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the portal's own files may run or style the page, and no
		// other site may frame it (clickjacking on the approve buttons).
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Mount serves the portal under Prefix beside api, which gets every other
// request, so the portal and the API share one origin and the portal's
// calls need no CORS. "/" and "/portal" redirect a browser to the portal.
func Mount(api http.Handler) http.Handler {
	files := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, Prefix):
			files.ServeHTTP(w, r)
		case (p == "/" || p == strings.TrimSuffix(Prefix, "/")) && r.Method == http.MethodGet:
			http.Redirect(w, r, Prefix, http.StatusFound)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
