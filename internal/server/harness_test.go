package server_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	_ "modernc.org/sqlite"

	"github.com/bacport/bacport/internal/server"
	"github.com/bacport/bacport/internal/servetest"
)

// proc is one `bacport serve` process on a data directory.
type proc struct {
	t      *testing.T
	dir    string
	api    string
	blob   string
	cmd    *exec.Cmd
	log    *servetest.LockedBuffer // stdout and stderr of every run, for the secret check
	ep     server.Endpoints
	token  string
	caPool *x509.CertPool
	exited chan struct{}
	// flags are added to the serve command line of the next start.
	flags []string
}

func startServe(t *testing.T) *proc {
	t.Helper()
	p := &proc{t: t, dir: t.TempDir(), api: servetest.FreeAddr(t), blob: servetest.FreeAddr(t), log: &servetest.LockedBuffer{}}
	p.start()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) start() {
	t := p.t
	t.Helper()
	os.Remove(filepath.Join(p.dir, "endpoints.json"))
	args := append([]string{"serve", "--data-dir", p.dir, "--listen", p.api, "--blob-listen", p.blob,
		"--poll-interval", "200ms", "--log-level", "debug"}, p.flags...)
	p.cmd = exec.Command(servetest.Binary(t), args...)
	w := p.log
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start bacport serve: %v", err)
	}
	p.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(p.cmd, p.exited)

	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(p.dir, "endpoints.json"))
		if err == nil && json.Unmarshal(data, &p.ep) == nil && p.ep.PID == p.cmd.Process.Pid {
			break
		}
		select {
		case <-p.exited:
			t.Fatalf("bacport serve exited at start:\n%s", p.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bacport serve did not write endpoints.json within 60s:\n%s", p.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(p.ep.AdminTokenFile)
	if err != nil {
		t.Fatalf("read admin token: %v", err)
	}
	p.token = strings.TrimSpace(string(tok))
	pem, err := os.ReadFile(p.ep.CertFile)
	if err != nil {
		t.Fatalf("read certificate: %v", err)
	}
	p.caPool = x509.NewCertPool()
	p.caPool.AppendCertsFromPEM(pem)
}

// kill9 kills the process without letting it clean up.
func (p *proc) kill9() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// restart stops the process gracefully and starts it again with flags.
func (p *proc) restart(flags ...string) {
	p.t.Helper()
	p.stop()
	p.flags = flags
	p.start()
}

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *proc) logText() string {
	return p.log.String()
}

// recorder is an SDK transport that keeps every response, so the test can
// look for secrets in all of them.
type recorder struct {
	client *http.Client
	mu     sync.Mutex
	seen   []recorded
}

type recorded struct {
	method, url string
	status      int
	header      http.Header
	body        []byte
}

func (p *proc) recorder() *recorder {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: p.caPool}
	return &recorder{client: &http.Client{Transport: tr}}
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.seen = append(r.seen, recorded{req.Method, req.URL.String(), resp.StatusCode, resp.Header.Clone(), body})
	r.mu.Unlock()
	return resp, nil
}

// armOptions points the SDK at the process, trusting its certificate.
func (p *proc) armOptions(rec *recorder) *arm.ClientOptions {
	return servetest.ARMOptions(p.ep.API, rec)
}

// call sends a raw API request with a token and decodes the JSON answer.
func (p *proc) call(rec *recorder, token, method, path string, body, out any) int {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	u := p.ep.API + path
	if !strings.Contains(path, "?") {
		u += "?api-version=2026-08-01-preview"
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := rec.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// opStatus is the part of bacport's rich status the tests read.
type opStatus struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	Phase        string  `json:"phase"`
	Percent      float64 `json:"percent"`
	Rows         int64   `json:"rows"`
	Runs         int     `json:"runs"`
	Cancellable  bool    `json:"cancellable"`
	QueuedTime   string  `json:"queuedTime"`
	StartedTime  string  `json:"startedTime"`
	FinishedTime string  `json:"finishedTime"`
	Tables       []struct {
		Name string `json:"name"`
		Rows int64  `json:"rows"`
	} `json:"tables"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (p *proc) status(rec *recorder, id string) opStatus {
	p.t.Helper()
	var st opStatus
	if code := p.call(rec, p.token, "GET", "/bacport/operations/"+id, nil, &st); code != 200 {
		p.t.Fatalf("GET status of %s: HTTP %d", id, code)
	}
	return st
}

// waitStatus polls the rich status until ok accepts it.
func (p *proc) waitStatus(rec *recorder, id string, what string, ok func(opStatus) bool) opStatus {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := p.status(rec, id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("operation %s: waited 3m for %s; last status %+v", id, what, st)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// sqliteFile is where the embedded engine keeps a database of a server.
func (p *proc) sqliteFile(rg, srv, db string) string {
	return filepath.Join(p.dir, "engines", "sqlite", strings.ToLower(p.ep.Subscription),
		strings.ToLower(rg), strings.ToLower(srv), db+".sqlite")
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dump returns every row of a table as text, ordered by its first column.
func dump(t *testing.T, path, table string) []string {
	t.Helper()
	db := openSQLite(t, path)
	rows, err := db.Query("SELECT * FROM " + table + " ORDER BY 1")
	if err != nil {
		t.Fatalf("read %s from %s: %v", table, path, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		out = append(out, fmt.Sprintf("%v", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	db.Close()
	return out
}

func sameRows(t *testing.T, from, to, table string) {
	t.Helper()
	a, b := dump(t, from, table), dump(t, to, table)
	if len(a) != len(b) {
		t.Fatalf("table %s: %d rows in %s, %d in %s", table, len(a), from, len(b), to)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("table %s row %d: source %s, imported %s", table, i, a[i], b[i])
		}
	}
}
