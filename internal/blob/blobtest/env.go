// Package blobtest is the one conformance suite for Blob endpoints: Run
// drives any endpoint through the official azblob SDK and checks the
// behaviour bacport relies on. It also starts the endpoints the suite runs
// against: the embedded service and Azurite.
//
// The suite asserts Azure's documented behaviour. Where Azurite 3.35.0
// deviates it accepts Azurite's answer for Azurite only and logs the
// deviation ("azurite deviation: …"). Those found:
//
//   - A bad signature, a wrong key and a SAS outside its time window or
//     resource get 403 AuthorizationFailure; Azure answers 403
//     AuthenticationFailed.
//   - A range starting exactly at the end of a blob (and any range of an
//     empty blob) returns 206 with no bytes; Azure answers 416
//     InvalidRange. Ranges starting further out do get 416.
//   - Put Blob with a wrong Content-MD5 gets 400 InvalidOperation; Azure
//     answers 400 Md5Mismatch.
//   - Error responses carry no x-ms-version header.
package blobtest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/blob/embedded"
	"github.com/bacport/bacport/internal/testenv"
)

// Azurite's well-known development account.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Env is an endpoint under test.
type Env struct {
	Name     string // "embedded" or "azurite", for messages
	Endpoint string // the account's Blob endpoint, path style
	Account  string
	Key      string // base64 account key
	// Azurite marks Azurite, whose documented deviations the suite accepts.
	Azurite bool
	// Server is the embedded server, when Name is "embedded".
	Server *embedded.Server
}

// Embedded starts an embedded server on a free loopback port with one
// account, stopped when tb ends.
func Embedded(tb testing.TB) Env {
	tb.Helper()
	srv, err := embedded.New(embedded.Config{Dir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("start embedded blob server: %v", err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("listen: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	key := embedded.NewKey()
	if err := srv.AddAccount("bacportdev", key, embedded.NewKey()); err != nil {
		tb.Fatalf("add account: %v", err)
	}
	return Env{Name: "embedded", Endpoint: srv.AccountURL("bacportdev"), Account: "bacportdev",
		Key: b64(key), Server: srv}
}

// ErrNoAzurite means neither BACPORT_AZURITE_BLOB nor an installed Azurite
// was found.
var ErrNoAzurite = errors.New("Azurite is not available")

// Azurite returns an Azurite endpoint: BACPORT_AZURITE_BLOB when set (the
// endpoint of devstoreaccount1 with the well-known key), else a fresh
// in-memory Azurite from <repo>/.tools started on a free port and stopped
// when tb ends. Without either it reports Azurite missing.
func Azurite(tb testing.TB) Env {
	tb.Helper()
	env, stop, err := StartAzurite()
	if errors.Is(err, ErrNoAzurite) {
		testenv.Missing(tb, "Azurite", "run bash .ci/services.sh (installs azurite@3.35.0 into .tools)")
	}
	if err != nil {
		tb.Fatalf("start Azurite: %v", err)
	}
	tb.Cleanup(stop)
	return env
}

// StartAzurite is Azurite for callers that manage the lifetime themselves;
// stop kills the process it started (it does nothing for an external one).
func StartAzurite() (env Env, stop func(), err error) {
	env = Env{Name: "azurite", Account: AzuriteAccount, Key: AzuriteKey, Azurite: true}
	if ep := os.Getenv("BACPORT_AZURITE_BLOB"); ep != "" {
		env.Endpoint = ep
		return env, func() {}, nil
	}
	bin := filepath.Join(testenv.RepoRoot(), ".tools", "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		return env, nil, ErrNoAzurite
	}
	port, err := freePort()
	if err != nil {
		return env, nil, err
	}
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return env, nil, err
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return env, nil, fmt.Errorf("run %s: %w", bin, err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(base, 60*time.Second); err != nil {
		stop()
		return env, nil, err
	}
	env.Endpoint = base + "/" + AzuriteAccount
	return env, stop, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until anything answers, or limit passes.
func waitHTTP(url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Azurite at %s did not answer within %v: %w", url, limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
