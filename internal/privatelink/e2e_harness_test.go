package privatelink_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/bacport/bacport/internal/server"
	"github.com/bacport/bacport/internal/servetest"
)

// The end-to-end tests drive a real `bacport serve` process with the
// official SDK clients and plain HTTP, as users do.

// serve is one `bacport serve` process.
type serve struct {
	t      *testing.T
	dir    string
	args   []string
	cmd    *exec.Cmd
	out    *servetest.LockedBuffer
	ep     server.Endpoints
	token  string
	client *http.Client
	exited chan struct{}
}

func startServe(t *testing.T, extra ...string) *serve {
	t.Helper()
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	s := &serve{t: t, dir: t.TempDir(), out: &servetest.LockedBuffer{}}
	s.args = append([]string{"serve", "--data-dir", s.dir, "--listen", servetest.FreeAddr(t),
		"--blob-listen", servetest.FreeAddr(t), "--poll-interval", "200ms"}, extra...)
	t.Cleanup(func() {
		s.stop()
		// BACPORT_E2E_LOG=1 shows the log of a passing run too.
		if t.Failed() || os.Getenv("BACPORT_E2E_LOG") != "" {
			out := s.out.String()
			t.Logf("bacport serve output (end):\n%s", out[max(0, len(out)-60000):])
		}
	})
	s.start(t)
	return s
}

// restart stops the process gracefully and starts it again on the same
// data directory and addresses.
func (s *serve) restart(t *testing.T) {
	t.Helper()
	s.stop()
	s.start(t)
}

func (s *serve) start(t *testing.T) {
	t.Helper()
	os.Remove(filepath.Join(s.dir, "endpoints.json"))
	s.cmd = exec.Command(servetest.Binary(t), s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start bacport serve: %v", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(c *exec.Cmd) { c.Wait(); close(exited) }(s.cmd)

	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(s.dir, "endpoints.json"))
		if err == nil && json.Unmarshal(data, &s.ep) == nil && s.ep.PID == s.cmd.Process.Pid {
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("bacport serve exited at start:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bacport serve did not start within 60s:\n%s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(s.ep.AdminTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(tok))
	pem, err := os.ReadFile(s.ep.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	s.client = &http.Client{Transport: tr}
}

func (s *serve) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// arm returns SDK options pointed at the process.
func (s *serve) arm() *arm.ClientOptions {
	return servetest.ARMOptions(s.ep.API, s.client)
}

// reply is a raw API answer.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// call sends an API request with token; path may be absolute.
func (s *serve) call(t *testing.T, token, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = s.ep.API + path
	}
	if !strings.Contains(u, "api-version=") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "api-version=2026-08-01-preview"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, data}
}

// mustCall is call that fails the test on an unexpected status.
func (s *serve) mustCall(t *testing.T, method, path string, body any, want int, out any) reply {
	t.Helper()
	r := s.call(t, s.token, method, path, body)
	if r.code != want {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, r.code, r.body, want)
	}
	if out != nil {
		r.decode(t, out)
	}
	return r
}
