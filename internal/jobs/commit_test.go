package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/store"
)

// hookPath is a data path whose Export and Import run test code at the
// moment the test needs, so the race between a cancel and a commit can be
// played in both orders without timing. The real data path (Transfer) is
// driven by the process tests in internal/server.
type hookPath struct {
	export   func(ctx context.Context, t *Task) error
	imp      func(ctx context.Context, t *Task) error
	discards atomic.Int32
}

func (h *hookPath) Check(context.Context, *Task) error         { return nil }
func (h *hookPath) Export(ctx context.Context, t *Task) error  { return h.export(ctx, t) }
func (h *hookPath) Import(ctx context.Context, t *Task) error  { return h.imp(ctx, t) }
func (h *hookPath) Discard(ctx context.Context, t *Task) error { h.discards.Add(1); return nil }

func (h *hookPath) set(export, imp func(ctx context.Context, t *Task) error) {
	h.export, h.imp = export, imp
}

func noop(context.Context, *Task) error { return nil }

const testServer = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv"

func setupRunner(t *testing.T, dp DataPath, gate Gate) (*Runner, *store.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	sealer, err := store.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "state.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutResource(ctx, st.Writer(), &store.Resource{
		ID: testServer, Parent: "/subscriptions/s/resourceGroups/rg", Type: "Microsoft.Sql/servers",
		Doc:    []byte(`{"properties":{"administratorLogin":"admin","engine":{"type":"sqlite"}}}`),
		Secret: []byte(`{"administratorLoginPassword":"pw","engineDsn":"sqlite://` + dir + `/"}`),
	}); err != nil {
		t.Fatal(err)
	}
	r, err := New(ctx, Config{Store: st, DataPath: dp, Gate: gate, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return r, st
}

var opSeq atomic.Int32

func submit(t *testing.T, r *Runner, kind string) string {
	t.Helper()
	now, n := time.Now().UTC(), opSeq.Add(1)
	op := &store.Operation{
		ID: fmt.Sprintf("op-%d", n), Kind: kind, ServerID: testServer, ServerName: "srv",
		DatabaseName: fmt.Sprintf("db%d", n), Subscription: "s", ResourceGroup: "rg",
		Request:  store.OperationRequest{StorageURI: "http://127.0.0.1:1/acct/c/p.bacpac", AdministratorLogin: "admin"},
		QueuedAt: now, ModifiedAt: now,
	}
	if err := r.Submit(context.Background(), op, store.OperationSecret{AdministratorLoginPassword: "pw"}); err != nil {
		t.Fatalf("submit: %v", err)
	}
	return op.ID
}

func waitEnd(t *testing.T, st *store.Store, id string) *store.Operation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		op, err := st.GetOperation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if store.Terminal(op.Status) {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s did not end; status %s", id, op.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunner_CancelAndCommit plays the cancel-versus-commit race in both
// orders. A cancelled export used to be able to commit its package when
// the cancel came as the upload finished; now the commit point decides.
func TestRunner_CancelAndCommit(t *testing.T) {
	h := &hookPath{}
	r, st := setupRunner(t, h, nil)
	ctx := context.Background()

	t.Run("cancel before the commit point: the export commits nothing", func(t *testing.T) {
		var commitErr error
		committed := false
		h.set(func(ctx context.Context, task *Task) error {
			if _, err := r.Cancel(ctx, task.Op.ID, "tester"); err != nil {
				t.Errorf("cancel a running export: %v", err)
			}
			if commitErr = task.Commit(ctx); commitErr == nil {
				committed = true
			}
			return commitErr
		}, noop)
		id := submit(t, r, store.KindExport)
		op := waitEnd(t, st, id)
		if committed || commitErr == nil || op.Status != store.StatusCancelled {
			t.Fatalf("commit after cancel: committed %v (err %v), status %s", committed, commitErr, op.Status)
		}
	})

	t.Run("cancel after the commit point is refused and the export succeeds", func(t *testing.T) {
		var cancelErr error
		h.set(func(ctx context.Context, task *Task) error {
			if err := task.Commit(ctx); err != nil {
				return err
			}
			_, cancelErr = r.Cancel(ctx, task.Op.ID, "tester")
			return nil
		}, noop)
		id := submit(t, r, store.KindExport)
		op := waitEnd(t, st, id)
		if !errors.Is(cancelErr, ErrCommitting) || !errors.Is(cancelErr, ErrNotCancellable) ||
			op.Status != store.StatusSucceeded {
			t.Fatalf("cancel after commit: %v, status %s", cancelErr, op.Status)
		}
	})

	t.Run("a cancel accepted as an import's load completes removes what was loaded", func(t *testing.T) {
		before := h.discards.Load()
		h.set(noop, func(ctx context.Context, task *Task) error {
			if _, err := r.Cancel(ctx, task.Op.ID, "tester"); err != nil {
				t.Errorf("cancel a running import: %v", err)
			}
			return nil // the load had just completed
		})
		id := submit(t, r, store.KindImportNew)
		op := waitEnd(t, st, id)
		if op.Status != store.StatusCancelled || h.discards.Load() != before+1 {
			t.Fatalf("import cancelled at its end: status %s, discards %d", op.Status, h.discards.Load()-before)
		}
	})

	if _, err := r.Cancel(ctx, "no-such-op", "tester"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel of an unknown operation: %v", err)
	}
}

// gateFunc is a Gate made of a function.
type gateFunc func(ctx context.Context, op *store.Operation) (time.Duration, error)

func (g gateFunc) Hold(ctx context.Context, op *store.Operation) (time.Duration, error) {
	return g(ctx, op)
}

// TestRunner_CancelWhileGateAsked cancels an operation while its gate is
// being asked, the moment a held job is "running" in River: whether the
// gate then releases or holds the job, the operation stays Cancelled and
// no work starts.
func TestRunner_CancelWhileGateAsked(t *testing.T) {
	var r *Runner
	var asked atomic.Int32
	release := atomic.Bool{}
	gate := gateFunc(func(ctx context.Context, op *store.Operation) (time.Duration, error) {
		if asked.Add(1) == 1 {
			return 10 * time.Millisecond, nil // held: WaitingForApproval
		}
		if _, err := r.Cancel(ctx, op.ID, "tester"); err != nil {
			t.Errorf("cancel while the gate is asked: %v", err)
		}
		if release.Load() {
			return 0, nil
		}
		return 10 * time.Millisecond, nil
	})
	var worked atomic.Int32
	h := &hookPath{}
	h.set(func(context.Context, *Task) error { worked.Add(1); return nil },
		func(context.Context, *Task) error { worked.Add(1); return nil })
	r, st := setupRunner(t, h, gate)

	for _, rel := range []bool{true, false} {
		asked.Store(0)
		release.Store(rel)
		id := submit(t, r, store.KindExport)
		op := waitEnd(t, st, id)
		time.Sleep(50 * time.Millisecond) // a wrongly snoozed job would be asked again by now
		op, _ = st.GetOperation(context.Background(), id)
		if op.Status != store.StatusCancelled || op.Runs != 0 || worked.Load() != 0 {
			t.Fatalf("gate releases %v: status %s, runs %d, work done %d times", rel, op.Status, op.Runs,
				worked.Load())
		}
		if n := asked.Load(); n != 2 {
			t.Fatalf("gate releases %v: the gate was asked %d times, want 2", rel, n)
		}
	}
}
