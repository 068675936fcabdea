// Package server runs every part of bacport in one process: the state
// store, the job runner and its workers, the embedded storage account
// server, and the HTTPS API. `bacport serve` is a thin wrapper around Run.
//
// The data directory holds everything the process keeps:
//
//	state.db        state and the job queue (SQLite, WAL)
//	secret.key      the AES-256 key that seals secrets in state.db (0600)
//	admin.token     the admin's bearer token (0600), written on first start
//	tls/            the self-signed certificate, generated on first start
//	blob/           the embedded storage accounts' containers and blobs
//	engines/sqlite/ the databases of servers on the embedded SQLite engine
//	endpoints.json  where this process listens, for scripts and the CLI
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bacport/bacport/internal/api"
	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/portal"
	"github.com/bacport/bacport/internal/privatelink"
	"github.com/bacport/bacport/internal/store"
)

// Defaults for Config fields left empty.
const (
	DefaultListen     = "127.0.0.1:7443"
	DefaultBlobListen = "127.0.0.1:7444"
	DefaultDataDir    = "bacport-data"
)

// Config configures Run.
type Config struct {
	DataDir    string
	Listen     string // API address (HTTPS)
	BlobListen string // embedded storage account server address
	TLSCert    string // certificate and key files; empty: self-signed in DataDir/tls
	TLSKey     string
	Workers    int
	// JobBandwidth caps how many bytes per second each job moves through
	// its package; 0 means no limit.
	JobBandwidth int64
	// ApprovalTimeout is how long an isolated job waits for its private
	// endpoint connections to be approved; 0 means the default, 24h.
	ApprovalTimeout time.Duration
	RetryAfter      time.Duration // polling interval advised to API clients
	StallAfter      time.Duration // no progress for this long marks a Running job stalled; 0: 10m
	Log             *slog.Logger
	Out             io.Writer // where the start-up banner goes
}

// Endpoints is the content of <data-dir>/endpoints.json.
type Endpoints struct {
	API            string `json:"api"`
	Blob           string `json:"blob"`
	Portal         string `json:"portal"`
	CertFile       string `json:"certFile"`
	Subscription   string `json:"subscriptionId"`
	AdminTokenFile string `json:"adminTokenFile"`
	PID            int    `json:"pid"`
}

// DefaultDataDirectory is $XDG_DATA_HOME/bacport when XDG_DATA_HOME is set,
// else ./bacport-data.
func DefaultDataDirectory() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "bacport")
	}
	return DefaultDataDir
}

// Run starts bacport and serves until ctx is cancelled, then stops
// gracefully: the API stops taking requests, running jobs are stopped and
// stay recorded as running, so the next start resumes them.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDirectory()
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.BlobListen == "" {
		cfg.BlobListen = DefaultBlobListen
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("resolve data directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	log := cfg.Log

	sealer, err := store.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(dir, "state.db"), sealer)
	if err != nil {
		return err
	}
	defer st.Close()

	sub, err := defaultSubscription(ctx, st)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "admin.token")
	adminToken, err := auth.EnsureAdmin(ctx, st, tokenFile)
	if err != nil {
		return err
	}

	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if certFile == "" || keyFile == "" {
		host, _, _ := net.SplitHostPort(cfg.Listen)
		if certFile, keyFile, err = selfSigned(filepath.Join(dir, "tls"), host); err != nil {
			return err
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}

	blobs, err := startBlob(ctx, filepath.Join(dir, "blob"), cfg.BlobListen, log)
	if err != nil {
		return err
	}
	defer blobs.stop()

	engineDir := filepath.Join(dir, "engines", "sqlite")
	if err := os.MkdirAll(engineDir, 0o700); err != nil {
		return fmt.Errorf("create engine directory: %w", err)
	}
	tmpDir := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	gateway := privatelink.NewGateway(log.With("component", "gateway"))
	defer gateway.Close()
	links, err := privatelink.New(ctx, privatelink.Config{Store: st, Gateway: gateway,
		ApprovalTimeout: cfg.ApprovalTimeout, Log: log.With("component", "privatelink")})
	if err != nil {
		return err
	}
	runner, err := jobs.New(ctx, jobs.Config{
		Store: st, DataPath: newDataPath(tmpDir, cfg.JobBandwidth), Workers: cfg.Workers,
		Gate: links, Router: links, Log: log.With("component", "jobs"),
	})
	if err != nil {
		return err
	}
	apiSrv := api.New(api.Config{
		Store: st, Runner: runner, Auth: &auth.Authenticator{Store: st}, Accounts: blobs.accounts(),
		EngineDir: engineDir, RetryAfter: cfg.RetryAfter, StallAfter: cfg.StallAfter,
		Log: log.With("component", "api"),
	})
	runner.OnSucceeded(apiSrv.RecordImported)
	links.Register(apiSrv)
	go links.Run(ctx)
	if err := apiSrv.RestoreAccounts(ctx); err != nil {
		return fmt.Errorf("restore storage accounts: %w", err)
	}
	if err := runner.Start(ctx); err != nil {
		return err
	}
	defer runner.Stop(context.WithoutCancel(ctx))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{
		Handler:           portal.Mount(apiSrv), // the portal shares the API's origin
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.ServeTLS(ln, "", "") }()

	ep := Endpoints{
		API: "https://" + ln.Addr().String(), Blob: blobs.url(), CertFile: certFile,
		Subscription: sub, AdminTokenFile: tokenFile, PID: os.Getpid(),
	}
	ep.Portal = ep.API + "/portal/"
	if err := writeEndpoints(filepath.Join(dir, "endpoints.json"), ep); err != nil {
		return err
	}
	banner(cfg.Out, dir, ep, adminToken)
	log.Info("bacport serving", "api", ep.API, "blob", ep.Blob, "dataDir", dir)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve API: %w", err)
	}
	log.Info("bacport stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	httpSrv.Shutdown(sctx)
	return runner.Stop(sctx)
}

func defaultSubscription(ctx context.Context, st *store.Store) (string, error) {
	sub, err := st.Meta(ctx, "defaultSubscription")
	if err != nil || sub != "" {
		return sub, err
	}
	sub = auth.NewID()
	return sub, st.SetMeta(ctx, "defaultSubscription", sub)
}

func writeEndpoints(path string, ep Endpoints) error {
	data, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write endpoints file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write endpoints file: %w", err)
	}
	return nil
}

func banner(w io.Writer, dir string, ep Endpoints, adminToken string) {
	fmt.Fprintf(w, "bacport is serving.\n\n")
	fmt.Fprintf(w, "  API (ARM-compatible, HTTPS)  %s\n", ep.API)
	fmt.Fprintf(w, "  web portal                   %s\n", ep.Portal)
	fmt.Fprintf(w, "  embedded storage accounts    %s/{account}\n", ep.Blob)
	fmt.Fprintf(w, "  TLS certificate to trust     %s\n", ep.CertFile)
	fmt.Fprintf(w, "  default subscription         %s\n", ep.Subscription)
	fmt.Fprintf(w, "  data directory               %s\n", dir)
	fmt.Fprintf(w, "  endpoints file               %s\n\n", filepath.Join(dir, "endpoints.json"))
	if adminToken != "" {
		fmt.Fprintf(w, "An admin token was created. It is shown this once and saved (mode 0600) in\n  %s\n\n  %s\n\n",
			ep.AdminTokenFile, adminToken)
	} else {
		fmt.Fprintf(w, "The admin token is in %s.\n\n", ep.AdminTokenFile)
	}
	fmt.Fprintf(w, "Sign in with:   bacport login --data-dir %s\n", dir)
	fmt.Fprintf(w, "or send 'Authorization: Bearer <token>' with any Azure SDK pointed at %s\n", ep.API)
}
