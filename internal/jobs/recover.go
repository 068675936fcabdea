package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/bacport/bacport/internal/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// recover handles what a previous process left. This runs before the River
// client starts, so no job of this process is running: a River job still in
// state "running" lost its worker when the process died. It is made
// available again (River itself only rescues such jobs after a long
// timeout), and the operation's history says it was interrupted; the
// worker then discards the leftovers and runs it again (see begin). A job
// a graceful stop left waiting for a retry runs at once as well.
func (r *Runner) recover(ctx context.Context) error {
	st := r.cfg.Store
	ops, err := st.ActiveOperations(ctx)
	if err != nil {
		return err
	}
	for _, op := range ops {
		err := st.InTx(ctx, func(tx *sql.Tx) error {
			var state string
			err := tx.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = ?`, op.JobID).Scan(&state)
			if err == sql.ErrNoRows {
				return r.failTx(ctx, tx, op, "the job of this operation was lost")
			}
			if err != nil {
				return fmt.Errorf("read job %d: %w", op.JobID, err)
			}
			switch state {
			case "running":
				if _, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available',
					scheduled_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?`, op.JobID); err != nil {
					return fmt.Errorf("requeue job %d: %w", op.JobID, err)
				}
				r.cfg.Log.Warn("requeued job interrupted by a restart", "operation", op.ID, "job", op.JobID)
				return st.AddHistory(ctx, tx, op, "interrupted",
					"the service stopped while the job ran; it will be cleaned up and resumed")
			case "retryable":
				// A graceful stop cancelled the job and River scheduled a
				// retry after a backoff; the process is back, so run it now.
				if _, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available',
					scheduled_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?`, op.JobID); err != nil {
					return fmt.Errorf("requeue job %d: %w", op.JobID, err)
				}
				return nil
			case "cancelled", "discarded", "completed":
				return r.failTx(ctx, tx, op, "the job ended ("+state+") without recording a result")
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("recover operation %s: %w", op.ID, err)
		}
	}
	return nil
}

func (r *Runner) failTx(ctx context.Context, tx *sql.Tx, op *store.Operation, why string) error {
	op.Status = store.StatusFailed
	op.Error = &store.OperationErr{Code: CodeInterrupted, Message: why + "; submit it again"}
	if err := r.cfg.Store.UpdateOperation(ctx, tx, op); err != nil {
		return err
	}
	return r.cfg.Store.AddHistory(ctx, tx, op, "failed", why)
}
