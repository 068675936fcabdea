package server

import (
	"context"
	"log/slog"

	"github.com/bacport/bacport/internal/api"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/jobs"

	// The engines register themselves with the engine registry.
	_ "github.com/bacport/bacport/internal/engine/mysql"
	_ "github.com/bacport/bacport/internal/engine/postgres"
)

// blobServer is the embedded storage account server as Run uses it.
type blobServer struct{}

func startBlob(ctx context.Context, dir, addr string, log *slog.Logger) (*blobServer, error) {
	return &blobServer{}, nil
}

func (b *blobServer) accounts() api.Accounts { return nil }
func (b *blobServer) url() string            { return "" }
func (b *blobServer) stop()                  {}

// pendingPath is the data path of a build without the transfer pipeline.
type pendingPath struct{}

func newDataPath(log *slog.Logger, tmp string) jobs.DataPath { return pendingPath{} }

func (pendingPath) Check(ctx context.Context, t *jobs.Task) error   { return nil }
func (pendingPath) Export(ctx context.Context, t *jobs.Task) error  { return errNotBuilt }
func (pendingPath) Import(ctx context.Context, t *jobs.Task) error  { return errNotBuilt }
func (pendingPath) Discard(ctx context.Context, t *jobs.Task) error { return nil }

var errNotBuilt = &jobs.Error{Code: jobs.CodeNotSupported, Message: "this build has no transfer pipeline",
	Err: engine.ErrNotSupported}
