package store

import (
	"context"
	"fmt"
)

// QueuePosition is where a Queued operation stands in the line for a
// worker: 1 for the next one to start. It is 0 for an operation that is
// not Queued.
//
// The line is every Queued operation of this store, in the order they were
// queued: seq is given at submit, with the queued time, so it orders them
// as the queued time does without comparing timestamps. Only active
// operations are looked at (the operations_active index holds them), so
// the count stays cheap however long the history grows.
func (s *Store) QueuePosition(ctx context.Context, op *Operation) (int, error) {
	if op.Status != StatusQueued {
		return 0, nil
	}
	var ahead int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM operations
		WHERE active = 1 AND status = ? AND seq < ?`, StatusQueued, op.Seq).Scan(&ahead); err != nil {
		return 0, fmt.Errorf("read queue position: %w", err)
	}
	return ahead + 1, nil
}
