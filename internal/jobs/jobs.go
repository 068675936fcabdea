// Package jobs runs import and export operations as durable jobs on River.
//
// The API submits an operation: the operation row, its first history entry
// and its River job are written in one SQLite transaction, so an accepted
// request can never vanish. A worker takes the job, builds a Task (engine,
// storage, progress), asks the optional Gate whether the job may run
// (private-link approval holds it with a snooze, which takes no worker and
// no attempt), lets the optional Router install the routes its connections
// must take, and hands the task to the DataPath.
//
// Restarts: a job that was running when the process died is found on the
// next start, its leftovers are discarded (a half-loaded database is dropped
// or emptied; an export's uncommitted blocks were never visible) and it runs
// again from the start, up to MaxRuns times, after which it fails with
// OperationInterrupted. Resuming from per-table checkpoints is not
// implemented: a resumed job redoes all of its work. An export interrupted
// after its commit finds its own package (tagged with the operation ID) and
// succeeds without redoing it. A graceful stop leaves running jobs active,
// and the next start runs them at once.
//
// Cancel: a cancel request stops a run through its context and the data
// path cleans up. Each run has a point of no return (Task.Commit: an export
// about to make its package visible, an import whose load is complete);
// the commit and a cancel are serialized by one store transaction each, so
// either the cancel wins and nothing is committed, or the commit wins and
// the cancel is refused with ErrCommitting.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/bacport/bacport/internal/store"
)

// DefaultMaxRuns is how many times a job starts, counting resumptions
// after restarts, before it fails as interrupted.
const DefaultMaxRuns = 3

// Gate decides whether an operation may run now. Hold returns 0 to run, a
// positive duration to hold the job (status WaitingForApproval) and ask
// again after it, or an error to fail the job. Private Link implements it.
type Gate interface {
	Hold(ctx context.Context, op *store.Operation) (time.Duration, error)
}

// Router installs the routes a task's connections must take: it may set
// t.Engine.Config.Dial, t.Engine.Config.OpenFile and t.Storage.Dial. Done
// is called when the run ends, however it ends. Private Link implements it.
type Router interface {
	Route(ctx context.Context, t *Task) error
	Done(ctx context.Context, t *Task, result error)
}

// Config configures a Runner.
type Config struct {
	Store    *store.Store
	DataPath DataPath
	Gate     Gate   // optional
	Router   Router // optional
	Workers  int    // concurrent jobs; default 4
	MaxRuns  int    // default DefaultMaxRuns
	Log      *slog.Logger
	// PollInterval is how often idle workers look for jobs; default 200ms.
	PollInterval time.Duration
}

// Runner owns the River client and the workers.
type Runner struct {
	cfg      Config
	client   *river.Client[*sql.Tx]
	stopping atomic.Bool

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc // operation id → cancel

	onSucceeded func(ctx context.Context, tx *sql.Tx, op *store.Operation) error
}

// New migrates River's tables and builds the runner. Call Start to work.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = DefaultMaxRuns
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	drv := riversqlite.New(cfg.Store.Writer())
	mig, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: quiet(cfg.Log)})
	if err != nil {
		return nil, fmt.Errorf("prepare job queue migrations: %w", err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("migrate job queue: %w", err)
	}

	r := &Runner{cfg: cfg, running: map[string]context.CancelCauseFunc{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{r: r})
	client, err := river.NewClient(drv, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
		JobTimeout:        -1,
		// Jobs may run for days; restarts are recovered by Start, so
		// River's rescuer must never run a second copy of a live job.
		RescueStuckJobsAfter: 10 * 365 * 24 * time.Hour,
		Logger:               quiet(cfg.Log),
	})
	if err != nil {
		return nil, fmt.Errorf("create job client: %w", err)
	}
	r.client = client
	return r, nil
}

func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(attrs), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}

// Start recovers jobs a previous process left running, then starts the
// workers.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.recover(ctx); err != nil {
		return err
	}
	// Cancelling ctx must not stop the workers behind Stop's back: Stop
	// marks the runner as stopping first, then cancels the jobs.
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start job client: %w", err)
	}
	return nil
}

// Stop stops the workers. Running jobs are cancelled and stay active in the
// store, so the next Start resumes them. Stop may be called twice.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stopping.Swap(true) {
		return nil
	}
	err := r.client.StopAndCancel(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop job client: %w", err)
	}
	return nil
}

// Submit records a new operation with its secret and first history entry,
// and enqueues its job, in one transaction. It fails with a
// *store.RunningError when the database has an active operation.
func (r *Runner) Submit(ctx context.Context, op *store.Operation, secret store.OperationSecret) error {
	st := r.cfg.Store
	return st.InTx(ctx, func(tx *sql.Tx) error {
		op.Status, op.Phase = store.StatusQueued, PhaseQueued
		if err := st.InsertOperation(ctx, tx, op, secret); err != nil {
			return err
		}
		res, err := r.client.InsertTx(ctx, tx, Args{OperationID: op.ID}, nil)
		if err != nil {
			return fmt.Errorf("enqueue job: %w", err)
		}
		if err := st.SetJobID(ctx, tx, op, res.Job.ID); err != nil {
			return err
		}
		return st.AddHistory(ctx, tx, op, "accepted",
			fmt.Sprintf("%s request accepted and queued", op.Kind))
	})
}

// ErrNotCancellable means the operation has already ended.
var ErrNotCancellable = errors.New("operation has already ended")

// ErrCommitting means the operation has passed its point of no return (see
// Task.Commit) and will end as it is about to; it wraps ErrNotCancellable.
var ErrCommitting = fmt.Errorf("%w: it is committing its result", ErrNotCancellable)

// Cancel asks an operation to stop. A queued or held job is cancelled at
// once; a running one stops within seconds, cleans up, and ends Cancelled.
func (r *Runner) Cancel(ctx context.Context, opID, who string) (*store.Operation, error) {
	st := r.cfg.Store
	op, err := st.Update(ctx, opID, func(tx *sql.Tx, op *store.Operation) error {
		if store.Terminal(op.Status) {
			return ErrNotCancellable
		}
		if op.Committing {
			return ErrCommitting
		}
		op.CancelRequested = true
		return st.AddHistory(ctx, tx, op, "cancelRequested", "cancel requested by "+who)
	})
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	cancel := r.running[opID]
	r.mu.Unlock()
	if cancel != nil {
		cancel(errCancelled)
		return op, nil
	}
	row, err := r.client.JobCancel(ctx, op.JobID)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	// A held job (waiting for approval) is "running" in River only for the
	// moments its gate is asked; River then records the cancel instead of
	// the snooze and never runs it again, so it is finished here too.
	if row == nil || row.State != rivertype.JobStateRunning || op.Status == store.StatusWaitingForApproval {
		// Not running anywhere: nobody else will finish the operation.
		return r.finish(ctx, opID, store.StatusCancelled,
			&store.OperationErr{Code: CodeCancelled, Message: "the operation was cancelled by " + who},
			"cancelled", "cancelled before it started")
	}
	return op, nil
}

var errCancelled = errors.New("operation cancelled")

// finish moves an operation to a terminal status with a history entry.
func (r *Runner) finish(ctx context.Context, opID, status string, oerr *store.OperationErr,
	event, message string) (*store.Operation, error) {
	st := r.cfg.Store
	ctx = context.WithoutCancel(ctx) // the outcome is recorded however the job was stopped
	return st.Update(ctx, opID, func(tx *sql.Tx, op *store.Operation) error {
		if store.Terminal(op.Status) {
			return nil
		}
		t := time.Now().UTC()
		op.Status, op.Error, op.FinishedAt = status, oerr, &t
		if status == store.StatusSucceeded {
			op.Progress.Percent = 100
			op.Phase = PhaseFinished
			if r.onSucceeded != nil {
				if err := r.onSucceeded(ctx, tx, op); err != nil {
					return err
				}
			}
		}
		return st.AddHistory(ctx, tx, op, event, message)
	})
}

// Args are the River job arguments of an operation.
type Args struct {
	OperationID string `json:"operation_id"`
}

// Kind names the job kind in River.
func (Args) Kind() string { return "bacport_operation" }

// InsertOpts keeps the attempts above MaxRuns so that bacport, not River,
// decides when a job has been interrupted too often.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 25} }

// Admitter is an optional part of a Gate: Admit runs when a request is
// accepted, before anything is recorded, and refuses requests that can
// never run (for example a server that keeps the service out).
type Admitter interface {
	Admit(ctx context.Context, op *store.Operation) error
}

// Preflight checks, before an operation is accepted, everything that can
// be checked without holding a route: the administrator credentials of
// engines bacport guards itself, the gate's admission rules and, for
// operations that need no private endpoint, the data path's checks
// (storage reachable with the credential, blob absent or package readable,
// engine credentials, target database state).
func (r *Runner) Preflight(ctx context.Context, op *store.Operation, secret store.OperationSecret) error {
	t, err := BuildTask(ctx, r.cfg.Store, op, secret)
	if err != nil {
		return err
	}
	if a, ok := r.cfg.Gate.(Admitter); ok {
		if err := a.Admit(ctx, op); err != nil {
			return err
		}
	}
	if op.Request.NetworkIsolation != nil {
		return nil // checked by the job once its endpoints are approved
	}
	t.Log = r.cfg.Log.With("operation", op.ID, "preflight", true)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return r.cfg.DataPath.Check(ctx, t)
}

// OnSucceeded sets a function run inside the transaction that marks an
// operation Succeeded (the API records a newly imported database there).
// Call it before Start.
func (r *Runner) OnSucceeded(fn func(ctx context.Context, tx *sql.Tx, op *store.Operation) error) {
	r.onSucceeded = fn
}
