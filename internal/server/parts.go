package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bacport/bacport/internal/api"
	"github.com/bacport/bacport/internal/blob/embedded"
	"github.com/bacport/bacport/internal/jobs"

	// The engines register themselves with the engine registry.
	_ "github.com/bacport/bacport/internal/engine/mysql"
	_ "github.com/bacport/bacport/internal/engine/postgres"
	_ "github.com/bacport/bacport/internal/engine/sqlite"
)

// blobServer is the embedded storage account server. Accounts and keys are
// not persisted by it: the API keeps them sealed in the state store and
// adds them again on start (api.Server.RestoreAccounts).
type blobServer struct {
	srv *embedded.Server
}

func startBlob(ctx context.Context, dir, addr string, log *slog.Logger) (*blobServer, error) {
	srv, err := embedded.New(embedded.Config{Dir: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(addr); err != nil {
		return nil, fmt.Errorf("start embedded storage: %w", err)
	}
	return &blobServer{srv: srv}, nil
}

func (b *blobServer) accounts() api.Accounts { return accounts{b.srv} }
func (b *blobServer) url() string            { return b.srv.URL() }

func (b *blobServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		b.srv.Close()
	}
}

// accounts adapts the embedded server to api.Accounts.
type accounts struct{ srv *embedded.Server }

func (a accounts) SetAccount(name string, key1, key2 []byte) error {
	err := a.srv.AddAccount(name, key1, key2)
	if !errors.Is(err, embedded.ErrAccountExists) {
		return err
	}
	if err := a.srv.SetKey(name, embedded.Key1, key1); err != nil {
		return err
	}
	return a.srv.SetKey(name, embedded.Key2, key2)
}

func (a accounts) RemoveAccount(name string) error { return a.srv.RemoveAccount(name) }
func (a accounts) AccountURL(name string) string   { return a.srv.AccountURL(name) }

func newDataPath(tmp string, bytesPerSecond int64) jobs.DataPath {
	return &jobs.Transfer{TempDir: tmp, BytesPerSecond: bytesPerSecond}
}
