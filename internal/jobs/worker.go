package jobs

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/store"
)

type worker struct {
	river.WorkerDefaults[Args]
	r *Runner
}

// Timeout disables River's per-job timeout: exports and imports of big
// databases run for hours.
func (w *worker) Timeout(*river.Job[Args]) time.Duration { return -1 }

func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	r := w.r
	st := r.cfg.Store
	opID := job.Args.OperationID
	log := r.cfg.Log.With("operation", opID, "job", job.ID)

	op, err := st.GetOperation(ctx, opID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("job without operation; dropping it")
		return nil
	}
	if err != nil {
		return err
	}
	if store.Terminal(op.Status) {
		return nil
	}
	if op.CancelRequested {
		return r.cancelledBeforeStart(ctx, opID)
	}

	if r.cfg.Gate != nil {
		wait, err := r.cfg.Gate.Hold(ctx, op)
		if err != nil {
			return r.fail(ctx, log, op, nil, err)
		}
		if wait > 0 {
			// A cancel may have come while the gate was asked; it must not
			// be overwritten by the hold.
			_, err := st.Update(ctx, opID, func(tx *sql.Tx, op *store.Operation) error {
				if store.Terminal(op.Status) || op.CancelRequested {
					return errNotStarted
				}
				if op.Status == store.StatusWaitingForApproval {
					return nil
				}
				op.Status, op.Phase = store.StatusWaitingForApproval, PhaseWaiting
				return st.AddHistory(ctx, tx, op, "held", "waiting for approval")
			})
			if errors.Is(err, errNotStarted) {
				return r.cancelledBeforeStart(ctx, opID)
			}
			if err != nil {
				return err
			}
			return river.JobSnooze(wait)
		}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.mu.Lock()
	r.running[opID] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, opID)
		r.mu.Unlock()
	}()

	task, err := r.begin(runCtx, log, op)
	switch {
	case errors.Is(err, errNotStarted):
		return r.cancelledBeforeStart(ctx, opID)
	case err != nil && task != nil:
		return r.end(ctx, log, task, err) // a cancel or a stop may be why
	case err != nil:
		return r.fail(ctx, log, op, nil, err)
	case task == nil:
		return nil // failed as interrupted too often
	}
	task.Stop = cancel
	err = r.run(runCtx, task)
	if r.cfg.Router != nil {
		r.cfg.Router.Done(context.WithoutCancel(ctx), task, err)
	}
	return r.end(ctx, log, task, err)
}

// errNotStarted means a run found its operation cancelled before it began.
var errNotStarted = errors.New("operation cancelled before its run began")

// cancelledBeforeStart ends an operation cancelled before any of its work
// began; it does nothing to one that has already ended.
func (r *Runner) cancelledBeforeStart(ctx context.Context, opID string) error {
	_, err := r.finish(ctx, opID, store.StatusCancelled,
		&store.OperationErr{Code: CodeCancelled, Message: "the operation was cancelled"},
		"cancelled", "cancelled before it started")
	return err
}

// begin starts a run: it discards what an interrupted earlier run left,
// marks the operation Running and builds the task. It returns a nil task
// when the operation failed for having been interrupted too often.
func (r *Runner) begin(ctx context.Context, log *slog.Logger, op *store.Operation) (*Task, error) {
	st := r.cfg.Store
	task, err := r.task(ctx, log, op)
	if err != nil {
		return nil, err
	}
	if op.Runs > 0 {
		log.Warn("resuming interrupted job", "runs", op.Runs)
		task.Progress.Phase(ctx, PhaseCleaningUp)
		if err := r.discard(ctx, task); err != nil {
			return task, err
		}
		if op.Runs >= r.cfg.MaxRuns {
			_, err := r.finish(ctx, op.ID, store.StatusFailed, &store.OperationErr{
				Code: CodeInterrupted,
				Message: fmt.Sprintf("the job was interrupted %d times by restarts of the service "+
					"and was given up; what it had done was removed; submit it again", op.Runs),
			}, "failed", "interrupted too often")
			return nil, err
		}
	}
	op, err = st.Update(ctx, op.ID, func(tx *sql.Tx, op *store.Operation) error {
		if store.Terminal(op.Status) || op.CancelRequested {
			return errNotStarted // cancelled while the gate was asked
		}
		op.Runs++
		op.Status, op.Phase, op.Committing = store.StatusRunning, PhaseValidating, false
		op.Progress = store.Progress{}
		now := time.Now().UTC()
		if op.StartedAt == nil {
			op.StartedAt = &now
		}
		msg := "job started"
		if op.Runs > 1 {
			msg = fmt.Sprintf("job resumed from the start after an interruption (run %d of at most %d)",
				op.Runs, r.cfg.MaxRuns)
		}
		return st.AddHistory(ctx, tx, op, "started", msg)
	})
	if err != nil {
		return task, err
	}
	task.Op = op
	task.commit = func(ctx context.Context) error { return r.commit(ctx, op.ID) }
	return task, nil
}

// commit is the point of no return of a run. It fails with errCancelled
// when a cancel was requested; otherwise it marks the operation
// committing, and Cancel refuses from then on. The check and the mark are
// one store transaction, which Cancel's own write is serialized with.
func (r *Runner) commit(ctx context.Context, opID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := r.cfg.Store
	ctx = context.WithoutCancel(ctx)
	_, err := st.Update(ctx, opID, func(tx *sql.Tx, op *store.Operation) error {
		if op.CancelRequested {
			return errCancelled
		}
		if op.Committing {
			return nil
		}
		op.Committing = true
		return st.AddHistory(ctx, tx, op, "committing", "the job is committing its result; "+
			"it can no longer be cancelled")
	})
	return err
}

// task builds a Task for an operation from the store.
func (r *Runner) task(ctx context.Context, log *slog.Logger, op *store.Operation) (*Task, error) {
	sec, err := r.cfg.Store.Secret(ctx, op.ID)
	if err != nil {
		return nil, fmt.Errorf("read operation inputs: %w", err)
	}
	t, err := BuildTask(ctx, r.cfg.Store, op, sec)
	if err != nil {
		return nil, err
	}
	t.Log = log
	t.Progress = newProgress(r.cfg.Store, op, log)
	return t, nil
}

// BuildTask resolves an operation's engine and storage into a Task (without
// progress), checking the administrator credentials for engines that have
// none of their own (SQLite).
func BuildTask(ctx context.Context, st *store.Store, op *store.Operation, sec store.OperationSecret) (*Task, error) {
	srv, err := st.GetResource(ctx, op.ServerID)
	if err != nil {
		return nil, Errorf("ResourceNotFound", err, "the server %s no longer exists", op.ServerName)
	}
	driver, ssec, err := store.ServerEngine(srv)
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		var doc struct {
			Properties struct {
				Login string `json:"administratorLogin"`
			} `json:"properties"`
		}
		_ = jsonUnmarshal(srv.Doc, &doc)
		if !strings.EqualFold(doc.Properties.Login, op.Request.AdministratorLogin) ||
			subtle.ConstantTimeCompare([]byte(ssec.AdministratorLoginPassword),
				[]byte(sec.AdministratorLoginPassword)) != 1 {
			return nil, Classify(fmt.Errorf("check administrator login: %w", engine.ErrAuth))
		}
	}
	return &Task{
		Op: op,
		Engine: EngineRef{Driver: driver, Config: engine.Config{
			DSN:      ssec.EngineDSN,
			Database: op.DatabaseName,
			Login:    op.Request.AdministratorLogin,
			Password: sec.AdministratorLoginPassword,
		}},
		Storage: StorageRef{
			URI:     op.Request.StorageURI,
			KeyType: op.Request.StorageKeyType,
			Key:     sec.StorageKey,
		},
	}, nil
}

func (r *Runner) run(ctx context.Context, t *Task) error {
	if r.cfg.Router != nil {
		if err := r.cfg.Router.Route(ctx, t); err != nil {
			return err
		}
	}
	err := r.cfg.DataPath.Check(ctx, t)
	if errors.Is(err, ErrPackageCommitted) {
		t.Log.Info("package committed by an earlier run; nothing to redo")
		return nil
	}
	if err != nil {
		return err
	}
	if t.Op.Kind == store.KindExport {
		return r.cfg.DataPath.Export(ctx, t)
	}
	return r.cfg.DataPath.Import(ctx, t)
}

func (r *Runner) discard(ctx context.Context, t *Task) error {
	if t.Op.Kind == store.KindExport {
		return nil // uncommitted blocks are invisible and expire
	}
	if err := r.cfg.DataPath.Discard(context.WithoutCancel(ctx), t); err != nil {
		return Errorf(CodeJobError, err,
			"the job was interrupted and what it had imported could not be removed; "+
				"drop or empty database %s by hand", t.Op.DatabaseName)
	}
	return nil
}

// end records how a run ended.
func (r *Runner) end(ctx context.Context, log *slog.Logger, t *Task, err error) error {
	st := r.cfg.Store
	if err == nil {
		// An import's load is complete; a cancel accepted meanwhile still
		// wins, and what was loaded is removed.
		err = r.commit(ctx, t.Op.ID)
		if errors.Is(err, errCancelled) && t.Op.Kind != store.KindExport {
			if derr := r.discard(ctx, t); derr != nil {
				return r.fail(ctx, log, t.Op, t, derr)
			}
		}
	}
	if err == nil {
		log.Info("job succeeded")
		_, err := r.finish(ctx, t.Op.ID, store.StatusSucceeded, nil, "succeeded", "job succeeded")
		return err
	}
	cur, gerr := st.GetOperation(context.WithoutCancel(ctx), t.Op.ID)
	if gerr == nil && cur.CancelRequested {
		log.Info("job cancelled")
		_, ferr := r.finish(ctx, t.Op.ID, store.StatusCancelled, &store.OperationErr{
			Code: CodeCancelled, Message: "the operation was cancelled; " + cleanedUp(t.Op.Kind),
		}, "cancelled", "job stopped after a cancel request and cleaned up")
		return ferr
	}
	if ctx.Err() != nil {
		// Only a stop of the runner cancels the job's own context (a
		// cancel request cancels the run's): the service is shutting
		// down. Leave the operation active; the next start resumes it.
		log.Info("job stopped by shutdown; it resumes on the next start")
		wctx := context.WithoutCancel(ctx)
		_, uerr := st.Update(wctx, t.Op.ID, func(tx *sql.Tx, op *store.Operation) error {
			return st.AddHistory(wctx, tx, op, "interrupted", "the service stopped during the job")
		})
		return errors.Join(ctx.Err(), uerr)
	}
	return r.fail(ctx, log, t.Op, t, err)
}

func cleanedUp(kind string) string {
	if kind == store.KindExport {
		return "no package was written"
	}
	return "what was imported has been removed"
}

// fail records a failure with its code and a message scrubbed of secrets.
func (r *Runner) fail(ctx context.Context, log *slog.Logger, op *store.Operation, t *Task, err error) error {
	e := Classify(err)
	msg := e.Message
	if t != nil {
		msg = scrub(msg, t.Engine.Config.Password, t.Storage.Key)
	}
	log.Warn("job failed", "code", e.Code, "err", scrubErr(err, t))
	_, ferr := r.finish(ctx, op.ID, store.StatusFailed, &store.OperationErr{Code: e.Code, Message: msg},
		"failed", e.Code+": "+msg)
	return ferr
}

func scrubErr(err error, t *Task) string {
	if t == nil {
		return err.Error()
	}
	return scrub(err.Error(), t.Engine.Config.Password, t.Storage.Key)
}

// scrub removes secrets from a message, as a last line of defence: no
// component is meant to put them there.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}
