package portal_test

// The harness of the browser test: a bacport server in this process, a
// headless Chromium driven by chromedp, and small helpers for both.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/bacport/bacport/internal/server"
	"github.com/bacport/bacport/internal/servetest"
)

// portalEnv is a bacport server running in this process and a headless
// Chromium tab signed in to its portal.
type portalEnv struct {
	t      *testing.T
	dir    string
	ep     server.Endpoints
	token  string
	client *http.Client
	tab    context.Context
	shots  int
	srv    string // the server the steps work on
	engine string // its engine: sqlite or postgres
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dropPostgres removes the test's databases from the shared server.
func dropPostgres(t *testing.T, names ...string) {
	db, err := sql.Open("pgx", "postgres://postgres@"+pgAddr+"/postgres")
	if err != nil {
		t.Logf("drop test databases: %v", err)
		return
	}
	defer db.Close()
	for _, n := range names {
		if _, err := db.Exec(`DROP DATABASE IF EXISTS "` + n + `" WITH (FORCE)`); err != nil {
			t.Logf("drop test database %s: %v", n, err)
		}
	}
}

// startServer runs server.Run in this process on free loopback ports.
func (e *portalEnv) startServer() {
	t := e.t
	logBuf := &servetest.LockedBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{DataDir: e.dir, Listen: "127.0.0.1:0", BlobListen: "127.0.0.1:0",
			Workers: 2, Log: log, Out: io.Discard})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("bacport did not stop within 20s")
		}
		if t.Failed() {
			t.Logf("server log (warnings and errors):\n%s", logBuf.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(e.dir, "endpoints.json"))
		if err == nil && json.Unmarshal(data, &e.ep) == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("bacport stopped at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("bacport wrote no endpoints.json within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := e.ep.API + "/portal/"; e.ep.Portal != want {
		t.Fatalf("endpoints.json portal = %q, want %q", e.ep.Portal, want)
	}
	tok, err := os.ReadFile(e.ep.AdminTokenFile)
	if err != nil {
		t.Fatalf("read admin token: %v", err)
	}
	e.token = strings.TrimSpace(string(tok))
	pem, err := os.ReadFile(e.ep.CertFile)
	if err != nil {
		t.Fatalf("read certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// startBrowser starts Debian's Chromium, headless, with a fresh profile.
// The server's certificate is self-signed, so the browser is told to
// accept it.
func (e *portalEnv) startBrowser(chrome string) {
	t := e.t
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("ignore-certificate-errors", true),
	)
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	e.tab = tab
}

// do runs browser steps, failing the test with the page's text on error.
// With BACPORT_PORTAL_SHOTS=dir it saves a screenshot after each step, for
// a person to look at the pages.
func (e *portalEnv) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.tab, 45*time.Second)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.t.Fatalf("%s: %v\npage:\n%s", what, err, e.pageText())
	}
	if d := time.Since(start); d > 3*time.Second {
		e.t.Logf("%s took %v", what, d.Round(time.Millisecond)) // where the time goes on a slow machine
	}
	if dir := os.Getenv("BACPORT_PORTAL_SHOTS"); dir != "" {
		e.shots++
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			name := strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
					return r
				}
				return '-'
			}, what)
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", e.shots, name)), png, 0o644)
		}
		if err != nil {
			e.t.Logf("screenshot after %s: %v", what, err)
		}
	}
}

// eval evaluates a JavaScript expression in the page.
func evalIn[T any](e *portalEnv, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.tab, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("evaluate %s: %v\npage:\n%s", expr, err, e.pageText())
	}
	return v
}

func (e *portalEnv) pageText() string {
	ctx, cancel := context.WithTimeout(e.tab, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + "\n" + document.body.innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// until waits for a JavaScript predicate to hold in the page.
func until(js string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(timeout))
}

// goTo opens a page by its address and waits until the portal has drawn
// it (the app then sets #view's data-route).
func goTo(hash string) chromedp.Action[chromedp.Void] {
	return then(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)), drawn(hash))
}

// navTo follows the navigation bar's link to hash.
func navTo(hash string) chromedp.Action[chromedp.Void] {
	return then(click(fmt.Sprintf(`nav a[href=%q]`, hash)), drawn(hash))
}

func drawn(hash string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`document.querySelector("#view").dataset.route === %q`, hash), 15*time.Second)
}

// then runs a and b in turn as one action.
func then(a, b chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := a(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		return b(ctx, t)
	}
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

func set(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), value)
}

// sqliteFile is where the embedded engine keeps a database of the server.
func (e *portalEnv) sqliteFile(db string) string {
	return filepath.Join(e.dir, "engines", "sqlite", strings.ToLower(e.ep.Subscription), rg, e.srv, db+".sqlite")
}

// openDB opens a database of e.srv on its engine.
func (e *portalEnv) openDB(name string) *sql.DB {
	driver, dsn := "sqlite", "file:"+e.sqliteFile(name)+"?_pragma=busy_timeout(5000)"
	if e.engine == "postgres" {
		driver, dsn = "pgx", "postgres://postgres@"+pgAddr+"/"+name
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatalf("open database %s: %v", name, err)
	}
	return db
}

type richStatus struct {
	Status  string `json:"status"`
	Rows    int64  `json:"rows"`
	BlobURI string `json:"blobUri"`
}

// principal creates a principal with role at the subscription and
// returns its token.
func (e *portalEnv) principal(name, role string) string {
	e.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	body := fmt.Sprintf(`{"name":%q,"role":%q,"scope":"/subscriptions/%s"}`, name, role, e.ep.Subscription)
	if code := e.call("POST", "/bacport/principals", body, &out); code != http.StatusCreated || out.Token == "" {
		e.t.Fatalf("create principal %s: HTTP %d", name, code)
	}
	return out.Token
}

func (e *portalEnv) get(path string, out any) int { return e.call("GET", path, "", out) }

func (e *portalEnv) call(method, path, body string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.ep.API+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func (e *portalEnv) richStatus(id string) richStatus {
	var st richStatus
	if code := e.get("/bacport/operations/"+id, &st); code != http.StatusOK {
		e.t.Fatalf("rich status of %s: HTTP %d", id, code)
	}
	return st
}

func (e *portalEnv) servesPrivateLink() bool {
	path := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Sql/servers/%s/privateEndpointConnections",
		e.ep.Subscription, rg, e.srv)
	return e.get(path+"?api-version=2026-08-01-preview", nil) == http.StatusOK
}
