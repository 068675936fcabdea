package enginetest

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// copyDirect moves a database from a Source into a Target without a
// package in between, so the driver's own round trip can be checked apart
// from the package reader and writer.
func copyDirect(ctx context.Context, src engine.Source, dst engine.Target) error {
	m, err := src.Model(ctx)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	if err := dst.CreateTables(ctx, m); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	for _, t := range m.Tables {
		if err := copyTable(ctx, src, dst, t); err != nil {
			return err
		}
	}
	if _, err := dst.Finish(ctx, m); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

func copyTable(ctx context.Context, src engine.Source, dst engine.Target, t *bacpac.Table) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan []any, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(rows)
		errc <- src.Rows(ctx, t, func(row []any) error {
			select {
			case rows <- append([]any(nil), row...):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	_, err := dst.Load(ctx, t, func() ([]any, error) {
		row, ok := <-rows
		if !ok {
			return nil, io.EOF
		}
		return row, nil
	})
	cancel()
	for range rows {
	}
	if rerr := <-errc; rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("copy table %s.%s: %w", t.Schema, t.Name, err)
	}
	return nil
}

// testDirectRoundTrip copies every family into a new database of the same
// engine through copyDirect and compares the two.
func testDirectRoundTrip(t *testing.T, h Harness) {
	for _, f := range h.Families {
		t.Run(f.Name, func(t *testing.T) {
			ctx := ctxFor(t)
			cfg := h.NewDatabase(t)
			for _, stmt := range f.Setup {
				h.Exec(t, cfg, stmt)
			}
			before := dumpDatabase(t, h, cfg)

			dstCfg := h.NewName(t)
			src, err := h.Driver.OpenSource(ctx, cfg)
			if err != nil {
				t.Fatalf("OpenSource: %v", err)
			}
			defer src.Close()
			dst, err := h.Driver.OpenTarget(ctx, dstCfg, true)
			if err != nil {
				t.Fatalf("OpenTarget(create=true): %v", err)
			}
			if err := copyDirect(ctx, src, dst); err != nil {
				_ = dst.Abort(ctx)
				dst.Close()
				t.Fatalf("copy: %v", err)
			}
			dst.Close()
			compareDumps(t, before, dumpDatabase(t, h, dstCfg))
		})
	}
}
