// Package portal is bacport's web UI: server and database pages, the Import
// and Export forms with "Use Private Link", the Import/Export History page
// and the Private Link Center. It is a static single-page application that
// calls the same HTTP API as the CLI and the SDKs, with the signed-in
// user's token; it never reads the store.
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
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
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
