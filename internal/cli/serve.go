package cli

import (
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/bacport/bacport/internal/server"
)

func newServeCmd() *cobra.Command {
	var cfg server.Config
	var logLevel string
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
	f.DurationVar(&cfg.RetryAfter, "poll-interval", time.Second, "polling interval advised to API clients")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
