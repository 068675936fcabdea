package privatelink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// Route makes an isolated job's endpoints its only routes: the engine is
// dialled (or, for SQLite, its files opened) and the storage account
// reached only through the gateway, which refuses every other address.
func (s *Service) Route(ctx context.Context, t *jobs.Task) error {
	op := t.Op
	if op.Request.NetworkIsolation == nil {
		return nil
	}
	conns, err := connsOfOperation(ctx, s.store.Reader(), op.ID)
	if err != nil {
		return err
	}
	if err := s.verdict(op, conns); err != nil {
		return err
	}
	if !allApproved(conns) {
		return jobs.Errorf(CodeRejected, nil, "the private endpoint connections of the job are not "+
			"both approved; the job cannot run")
	}
	s.sync(conns)

	if t.Engine.Driver == "sqlite" {
		t.Engine.Config.OpenFile = s.gw.OpenFile(op.ID)
	} else {
		t.Engine.Config.Dial = s.gw.Dialer(op.ID)
	}
	t.Storage.Dial = s.gw.Dialer(op.ID)
	if t.Stop != nil {
		s.mu.Lock()
		s.running[op.ID] = run{stop: t.Stop, kind: op.Kind, storage: storageOf(conns)}
		s.mu.Unlock()
	}
	return nil
}

// run is a job running in this process.
type run struct {
	stop    func(error) // its Task.Stop
	kind    string      // its operation's kind
	storage string      // the id of its storage account connection
}

func storageOf(conns []*Connection) string {
	for _, c := range conns {
		if c.Kind == KindStorage {
			return c.ID
		}
	}
	return ""
}

// Done deletes an isolated job's connections when its run ends, however
// it ended. A run that failed because an owner rejected or deleted one of
// its connections meanwhile is recorded as failed for that reason, which
// the data path's own error (a cut connection) would not say.
func (s *Service) Done(ctx context.Context, t *jobs.Task, result error) {
	op := t.Op
	if op.Request.NetworkIsolation == nil {
		return
	}
	s.mu.Lock()
	delete(s.running, op.ID)
	s.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	if result != nil {
		if conns, err := connsOfOperation(ctx, s.store.Reader(), op.ID); err == nil {
			if c := cutBy(conns); c != nil {
				s.failCut(ctx, op.ID, op.Kind, c, result)
			}
		}
	}
	s.cleanup(ctx, op.ID)
}

// cleanupGrace bounds how long a stopped import may still reach its
// server through a withdrawn route to remove what it loaded.
const cleanupGrace = 30 * time.Second

// withdraw acts on a connection its owner rejected or deleted: the job it
// serves must stop at once, and cutRoute cuts the connection's route, live
// connections included. Done then records why the job failed.
//
// An export is stopped through its Task.Stop. An import is stopped by
// cutting its storage route instead: its reads fail and it aborts the
// load, removing what it loaded from the server, which is why the server
// route of an import outlives its rejection until the run ends (Done
// removes it), or cleanupGrace at the latest. (Cancelling an import's
// context while a PostgreSQL COPY is in flight is not safe in the engine
// today; an I/O error is.)
func (s *Service) withdraw(c *Connection, cutRoute func(), why error) {
	s.mu.Lock()
	r, running := s.running[c.OperationID]
	s.mu.Unlock()
	switch {
	case !running:
		cutRoute()
	case r.kind == store.KindExport:
		cutRoute()
		r.stop(why)
	case c.Kind == KindStorage:
		cutRoute()
	default:
		s.gw.Cut(r.storage)
		time.AfterFunc(cleanupGrace, cutRoute)
	}
}

// cutBy returns the connection whose rejection or deletion cut a job.
func cutBy(conns []*Connection) *Connection {
	for _, c := range conns {
		if c.Status == Rejected || c.Status == Disconnected {
			return c
		}
	}
	return nil
}

// failCut ends an operation as failed because c was rejected or deleted
// during its run. The runner's own record of the failure, which follows,
// leaves an ended operation as it is.
func (s *Service) failCut(ctx context.Context, opID, kind string, c *Connection, result error) {
	code, what := CodeRejected, "rejected"
	if c.Status == Disconnected {
		code, what = CodeDeleted, "deleted"
	}
	done := "no package was written"
	if kind != store.KindExport {
		done = "what it had imported was removed"
		if result != nil && strings.Contains(result.Error(), "undo import") {
			done = "what it had imported could not be removed; drop or empty the database by hand"
		}
	}
	msg := fmt.Sprintf("private endpoint connection %s on %s was %s by %s during the job; "+
		"its route was cut and the job stopped; %s", c.Name, c.Resource, what,
		or(c.DecidedBy, "its owner"), done)
	_, err := s.store.Update(ctx, opID, func(tx *sql.Tx, op *store.Operation) error {
		if store.Terminal(op.Status) {
			return nil
		}
		now := time.Now().UTC()
		op.Status, op.FinishedAt = store.StatusFailed, &now
		op.Error = &store.OperationErr{Code: code, Message: msg}
		return s.store.AddHistory(ctx, tx, op, "failed", code+": "+msg)
	})
	if err != nil {
		s.log.Error("record cut job", "operation", opID, "err", err)
	}
}

// cleanup deletes every live connection of an operation, keeping their
// final states and traffic in the history.
func (s *Service) cleanup(ctx context.Context, opID string) {
	ctx = context.WithoutCancel(ctx)
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		conns, err := connsOfOperation(ctx, tx, opID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		var notes []string
		for _, c := range conns {
			if c.Deleted != nil {
				s.gw.Remove(c.ID)
				continue
			}
			st := s.gw.Remove(c.ID)
			c.Deleted, c.Traffic = &now, &st
			if err := putConn(ctx, tx, c); err != nil {
				return err
			}
			if err := refreshEmbedded(ctx, s.store, tx, c.ResourceID); err != nil {
				return err
			}
			notes = append(notes, describe(c))
		}
		if len(notes) == 0 {
			return nil
		}
		return s.noteOperation(ctx, tx, opID, conns, "privateEndpointsDeleted",
			"private endpoint connections deleted: "+strings.Join(notes, "; "))
	})
	if err != nil {
		s.log.Error("delete private endpoint connections", "operation", opID, "err", err)
		return
	}
}

func describe(c *Connection) string {
	msg := fmt.Sprintf("%s on %s (final state %s)", c.Name, c.Resource, c.Status)
	if t := c.Traffic; t != nil {
		msg += fmt.Sprintf(": %d connections, %d bytes in, %d bytes out, %d file opens, %d refused",
			t.Conns, t.BytesIn, t.BytesOut, t.Opens, t.Refused)
	}
	return msg
}

// ErrNoConnection means no live connection has the given id.
var ErrNoConnection = errors.New("no such private endpoint connection")

// Decide approves or rejects a connection on behalf of who. Rejecting an
// approved connection cuts its route at once and fails the job using it.
func (s *Service) Decide(ctx context.Context, id string, st Status, description, who string) (*Connection, error) {
	var c *Connection
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = getConn(ctx, tx, id)
		if store.IsNotFound(err) {
			return ErrNoConnection
		}
		if err != nil {
			return err
		}
		if !CanChange(c.Status, st) {
			return fmt.Errorf("set connection %s from %s to %s: %w", c.Name, c.Status, st, ErrTransition)
		}
		changed := c.Status != st
		c.Status, c.DecidedBy = st, who
		if description != "" {
			c.Description = description
		}
		if err := putConn(ctx, tx, c); err != nil {
			return err
		}
		if err := refreshEmbedded(ctx, s.store, tx, c.ResourceID); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		all, err := connsOfOperation(ctx, tx, c.OperationID)
		if err != nil {
			return err
		}
		return s.noteOperation(ctx, tx, c.OperationID, all, "privateEndpoint"+string(st),
			fmt.Sprintf("private endpoint connection %s on %s %s by %s", c.Name, c.Resource,
				strings.ToLower(string(st)), who))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("private endpoint connection decided", "endpoint", c.ID, "status", st, "by", who)
	if st != Rejected {
		s.sync([]*Connection{c})
		return c, nil
	}
	// Stopping the run matters even where the cut route carries nothing
	// live (a SQLite file already open).
	s.withdraw(c, func() { s.gw.Set(c.ID, Rejected) },
		fmt.Errorf("connection %s rejected: %w", c.ID, ErrNoRoute))
	return c, nil
}

// Delete deletes a connection on behalf of who. Its route is cut at once
// and the job it serves fails.
func (s *Service) Delete(ctx context.Context, id, who string) error {
	var c *Connection
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = getConn(ctx, tx, id)
		if store.IsNotFound(err) {
			return ErrNoConnection
		}
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		st := s.gw.Stats(c.ID)
		c.Status, c.Deleted, c.Traffic, c.DecidedBy = Disconnected, &now, &st, who
		if err := putConn(ctx, tx, c); err != nil {
			return err
		}
		if err := refreshEmbedded(ctx, s.store, tx, c.ResourceID); err != nil {
			return err
		}
		all, err := connsOfOperation(ctx, tx, c.OperationID)
		if err != nil {
			return err
		}
		return s.noteOperation(ctx, tx, c.OperationID, all, "privateEndpointDeleted",
			fmt.Sprintf("private endpoint connection %s on %s deleted by %s", c.Name, c.Resource, who))
	})
	if err != nil {
		return err
	}
	s.log.Info("private endpoint connection deleted", "endpoint", c.ID, "by", who)
	s.withdraw(c, func() { s.gw.Remove(c.ID) },
		fmt.Errorf("connection %s deleted: %w", c.ID, ErrNoRoute))
	return nil
}

// Run deletes, until ctx ends, the connections of operations that ended
// without their job seeing it (cancelled while held, failed before its
// run). Jobs delete their own connections when their run ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.sweep(ctx)
	}
}

func (s *Service) sweep(ctx context.Context) {
	conns, err := liveConns(ctx, s.store.Reader())
	if err != nil {
		s.log.Warn("sweep private endpoint connections", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, c := range conns {
		if seen[c.OperationID] {
			continue
		}
		seen[c.OperationID] = true
		op, err := s.store.GetOperation(ctx, c.OperationID)
		if err == nil && !store.Terminal(op.Status) {
			continue
		}
		if err != nil && !store.IsNotFound(err) {
			continue
		}
		s.cleanup(ctx, c.OperationID)
	}
}

// History lists an operation's connections, deleted ones included, with
// their final states and traffic.
func (s *Service) History(ctx context.Context, opID string) ([]*Connection, error) {
	conns, err := connsOfOperation(ctx, s.store.Reader(), opID)
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		if c.Deleted == nil {
			st := s.gw.Stats(c.ID)
			c.Traffic = &st
		}
	}
	return sortConns(conns), nil
}
