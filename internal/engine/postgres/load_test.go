package postgres

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// Cancelling a load mid-COPY makes pgconn return before its reader
// goroutine stops; the stream must then stop pulling rows, because the
// caller closes the rows behind next as soon as Load returns.
func TestLoad_CancelStopsPullingRows(t *testing.T) {
	cfg := newName(t)
	tbl := &bacpac.Table{Schema: "dbo", Name: "endless", Columns: []*bacpac.Column{
		{Name: "id", Type: bacpac.Type{Name: "bigint"}},
		{Name: "pad", Type: bacpac.Type{Name: "nvarchar", Length: 100}, Nullable: true},
	}}
	tgt, err := New().OpenTarget(t.Context(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	defer tgt.Abort(context.Background())
	if err := tgt.CreateTables(t.Context(), &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var (
		returned atomic.Bool
		late     atomic.Int64
		n        int64
	)
	next := func() ([]any, error) {
		if returned.Load() {
			late.Add(1)
			return nil, io.ErrUnexpectedEOF
		}
		n++
		if n == 20000 {
			cancel()
		}
		if n >= 20000 {
			// Slow rows keep a Read in progress while CopyFrom returns.
			time.Sleep(time.Millisecond)
		}
		return []any{n, "a row that keeps the COPY busy for a while"}, nil
	}
	_, err = tgt.Load(ctx, tbl, next)
	returned.Store(true)
	if err == nil || !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		t.Fatalf("Load after cancel = %v, want an error", err)
	}
	time.Sleep(time.Second)
	if c := late.Load(); c > 0 {
		t.Errorf("the COPY stream pulled %d rows after Load returned", c)
	}
}
