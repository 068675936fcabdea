package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bacport/bacport/internal/api"
	"github.com/bacport/bacport/internal/server"
)

func newServeCmd() *cobra.Command {
	var cfg server.Config
	var logLevel, bandwidth string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bacport service: API, job workers and embedded storage in one process",
		Long: `Run the bacport service in one process: the ARM-compatible HTTPS API, the
import/export workers, the job queue and state (SQLite), and the embedded
storage account server.

With no flags it keeps everything in ./bacport-data (or $XDG_DATA_HOME/bacport
when XDG_DATA_HOME is set), generates a self-signed certificate and an admin
token on first start, and writes <data-dir>/endpoints.json so clients find it.`,
		Example: `  bacport serve
  bacport serve --data-dir /var/lib/bacport --listen 0.0.0.0:7443 --tls-cert cert.pem --tls-key key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{err}
			}
			cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.Out = cmd.OutOrStdout()
			bw, err := parseBandwidth(bandwidth)
			if err != nil {
				return usageError{err}
			}
			cfg.JobBandwidth = bw
			if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
				return usageError{errors.New("--tls-cert and --tls-key go together")}
			}
			return server.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", server.DefaultDataDirectory(), "where state, keys, certificate and data live")
	f.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address of the HTTPS API")
	f.StringVar(&cfg.BlobListen, "blob-listen", server.DefaultBlobListen, "address of the embedded storage account server")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate file (PEM) instead of the generated one")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "key file (PEM) of --tls-cert")
	f.IntVar(&cfg.Workers, "workers", 4, "how many jobs run at once")
	f.StringVar(&bandwidth, "job-bandwidth", "0",
		"bytes per second each job may move through its package, e.g. 20MB or 512KiB; 0 means no limit")
	f.DurationVar(&cfg.ApprovalTimeout, "approval-timeout", 24*time.Hour,
		"how long an isolated job waits for its private endpoint connections to be approved")
	f.DurationVar(&cfg.StallAfter, "stall-after", api.DefaultStallAfter,
		"how long a running job may report no progress before its status says it is stalled")
	f.DurationVar(&cfg.RetryAfter, "poll-interval", time.Second, "polling interval advised to API clients")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// parseBandwidth reads a byte rate such as "512KiB", "20MB" or "1048576".
func parseBandwidth(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	num, mult := strings.ToUpper(strings.TrimSpace(s)), int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--job-bandwidth %q: want bytes per second such as 20MB, 512KiB or 0", s)
	}
	return n * mult, nil
}
