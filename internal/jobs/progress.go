package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/bacport/bacport/internal/store"
)

// progressEvery is how often progress is written to the store at most;
// phase changes are written at once.
const progressEvery = 500 * time.Millisecond

// Progress collects a job's progress from the data path, which may report
// from several goroutines, and writes it to the operation at a bounded rate. A nil *Progress
// ignores reports (preflight checks run without one).
type Progress struct {
	store *store.Store
	opID  string
	log   *slog.Logger
	start time.Time

	mu      sync.Mutex
	state   store.Progress
	tables  map[string]int // index into state.Tables
	total   int64          // expected bytes, for the percentage
	rows    int64          // expected rows in all, for the percentage
	ntables int            // tables in the package, for the percentage
	phase   string
	written time.Time
	pending *time.Timer // a flush scheduled for reports that came too soon
	// moved is when the run last moved (a phase, rows, bytes, a finished
	// table); reports that repeat the same numbers do not count, so a job
	// stuck on a lock or a dead connection shows as stalled.
	moved time.Time
}

func newProgress(st *store.Store, op *store.Operation, log *slog.Logger) *Progress {
	now := time.Now()
	p := &Progress{store: st, opID: op.ID, log: log, start: now, moved: now, tables: map[string]int{}}
	return p
}

// Phase records that the job entered a phase, in the status and the
// history.
func (p *Progress) Phase(ctx context.Context, phase string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.phase = phase
	p.moved = time.Now()
	p.mu.Unlock()
	p.log.Info("job phase", "phase", phase)
	ctx = context.WithoutCancel(ctx) // a phase is recorded even as the job stops
	p.flush(ctx, func(tx *sql.Tx, op *store.Operation) error {
		op.Phase = phase
		return p.store.AddHistory(ctx, tx, op, "phase", "entered phase "+phase)
	})
}

// enter moves to phase unless the job is already in it.
func (p *Progress) enter(ctx context.Context, phase string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	same := p.phase == phase
	p.mu.Unlock()
	if !same {
		p.Phase(ctx, phase)
	}
}

// SetTables sets how many tables the job moves; with no other total the
// percentage counts finished tables.
func (p *Progress) SetTables(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.ntables = n
	p.mu.Unlock()
}

// SetTotalRows sets how many rows the job moves in all (an import knows
// it from the package's Origin.xml); the percentage then counts rows.
func (p *Progress) SetTotalRows(rows int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.rows = rows
	p.mu.Unlock()
}

// SetTotal sets the amount of work in bytes, as Table reports them, that
// the percentage is computed from.
func (p *Progress) SetTotal(total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.total = total
	p.mu.Unlock()
}

// Table reports the progress of one table: rows and bytes moved so far,
// and whether the table is done.
func (p *Progress) Table(ctx context.Context, name string, rows, bytes int64, done bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	i, ok := p.tables[name]
	if !ok {
		i = len(p.state.Tables)
		p.tables[name] = i
		p.state.Tables = append(p.state.Tables, store.TableProgress{Name: name})
	}
	t := &p.state.Tables[i]
	if rows != t.Rows || bytes != t.Bytes || done != t.Done {
		p.moved = time.Now()
	}
	p.state.Rows += rows - t.Rows
	p.state.Bytes += bytes - t.Bytes
	t.Rows, t.Bytes, t.Done = rows, bytes, done
	wait := progressEvery - time.Since(p.written)
	due := wait <= 0 || done
	if !due && p.pending == nil {
		// Reports that come too soon are written later, not dropped: the
		// last one before a long quiet spell must still be seen.
		p.pending = time.AfterFunc(wait, func() {
			p.mu.Lock()
			p.pending = nil
			p.mu.Unlock()
			p.flush(ctx, nil)
		})
	}
	p.mu.Unlock()
	if due {
		p.flush(ctx, nil)
	}
}

// TableTotal records the expected rows of a table, when known.
func (p *Progress) TableTotal(name string, rows int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.tables[name]
	if !ok {
		i = len(p.state.Tables)
		p.tables[name] = i
		p.state.Tables = append(p.state.Tables, store.TableProgress{Name: name})
	}
	p.state.Tables[i].TotalRows = rows
}

// Flush writes the current progress now.
func (p *Progress) Flush(ctx context.Context) {
	if p != nil {
		p.flush(ctx, nil)
	}
}

func (p *Progress) snapshot() store.Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state
	s.Tables = append([]store.TableProgress(nil), p.state.Tables...)
	moved := p.moved.UTC()
	s.LastProgressAt = &moved
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		s.BytesPerSecond = float64(s.Bytes) / secs
	}
	switch {
	case p.rows > 0:
		s.Percent = min(99, 100*float64(s.Rows)/float64(p.rows))
	case p.total > 0:
		s.Percent = min(99, 100*float64(s.Bytes)/float64(p.total))
	default:
		var rows, total int64
		for _, t := range s.Tables {
			rows += t.Rows
			total += t.TotalRows
		}
		if total > 0 {
			s.Percent = min(99, 100*float64(rows)/float64(total))
		} else if p.ntables > 0 {
			done := 0
			for _, t := range s.Tables {
				if t.Done {
					done++
				}
			}
			s.Percent = min(99, 100*float64(done)/float64(p.ntables))
		}
	}
	p.written = time.Now()
	return s
}

func (p *Progress) flush(ctx context.Context, also func(tx *sql.Tx, op *store.Operation) error) {
	snap := p.snapshot()
	_, err := p.store.Update(context.WithoutCancel(ctx), p.opID, func(tx *sql.Tx, op *store.Operation) error {
		if store.Terminal(op.Status) {
			return nil
		}
		op.Progress = snap
		if also != nil {
			return also(tx, op)
		}
		return nil
	})
	if err != nil {
		p.log.Warn("write progress", "err", err)
	}
}
