package privatelink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bacport/bacport/internal/store"
)

// The connections live in their own tables of the state database. A
// deleted connection keeps its row (live = 0) with its final state and
// traffic, so an operation's history can show them.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS privatelink_connections (
		key          TEXT PRIMARY KEY, -- lower-cased ARM id
		resource_key TEXT NOT NULL,    -- lower-cased server or account id
		operation_id TEXT NOT NULL,
		sub_key      TEXT NOT NULL,    -- lower-cased /subscriptions/{sub}
		live         INTEGER NOT NULL,
		doc          TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS privatelink_connections_resource
		ON privatelink_connections (resource_key, live)`,
	`CREATE INDEX IF NOT EXISTS privatelink_connections_operation
		ON privatelink_connections (operation_id)`,
	`CREATE TABLE IF NOT EXISTS privatelink_async (
		id  TEXT PRIMARY KEY,
		doc TEXT NOT NULL)`,
}

func migrate(ctx context.Context, st *store.Store) error {
	return st.InTx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range schema {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create private link tables: %w", err)
			}
		}
		return nil
	})
}

func putConn(ctx context.Context, q store.Querier, c *Connection) error {
	c.Updated = time.Now().UTC()
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode connection: %w", err)
	}
	live := 1
	if c.Deleted != nil {
		live = 0
	}
	_, err = q.ExecContext(ctx, `INSERT INTO privatelink_connections
		(key, resource_key, operation_id, sub_key, live, doc) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET live = excluded.live, doc = excluded.doc`,
		store.Key(c.ID), store.Key(c.ResourceID), c.OperationID,
		store.Key("/subscriptions/"+c.Subscription), live, string(doc))
	if err != nil {
		return fmt.Errorf("write connection %s: %w", c.ID, err)
	}
	return nil
}

// getConn reads a live connection.
func getConn(ctx context.Context, q store.Querier, id string) (*Connection, error) {
	list, err := queryConns(ctx, q, `WHERE key = ? AND live = 1`, store.Key(id))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, store.ErrNotFound
	}
	return list[0], nil
}

// getRecent reads a connection that is live or was deleted within grace.
func getRecent(ctx context.Context, q store.Querier, id string, grace time.Duration) (*Connection, error) {
	list, err := queryConns(ctx, q, `WHERE key = ?`, store.Key(id))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || list[0].Deleted != nil && time.Since(*list[0].Deleted) > grace {
		return nil, store.ErrNotFound
	}
	return list[0], nil
}

func connsOfResource(ctx context.Context, q store.Querier, resourceID string) ([]*Connection, error) {
	return queryConns(ctx, q, `WHERE resource_key = ? AND live = 1 ORDER BY key`, store.Key(resourceID))
}

// connsOfOperation lists an operation's connections, deleted ones too.
func connsOfOperation(ctx context.Context, q store.Querier, opID string) ([]*Connection, error) {
	return queryConns(ctx, q, `WHERE operation_id = ? ORDER BY key`, opID)
}

func connsOfSubscription(ctx context.Context, q store.Querier, sub string) ([]*Connection, error) {
	return queryConns(ctx, q, `WHERE sub_key = ? AND live = 1 ORDER BY key`,
		store.Key("/subscriptions/"+sub))
}

func liveConns(ctx context.Context, q store.Querier) ([]*Connection, error) {
	return queryConns(ctx, q, `WHERE live = 1 ORDER BY operation_id`)
}

func queryConns(ctx context.Context, q store.Querier, clause string, args ...any) ([]*Connection, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc FROM privatelink_connections `+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("read connections: %w", err)
	}
	defer rows.Close()
	var list []*Connection
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("read connection: %w", err)
		}
		var c Connection
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, fmt.Errorf("decode connection: %w", err)
		}
		list = append(list, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read connections: %w", err)
	}
	return list, nil
}

// asyncOp is the record behind a SQL connection PUT or DELETE's polling
// links. The change itself is applied before the 202 is sent, so the
// record is born finished; it exists because the SDK's poller insists on
// polling.
type asyncOp struct {
	ID           string    `json:"id"`
	Method       string    `json:"method"`
	ConnectionID string    `json:"connectionId"`
	Start        time.Time `json:"startTime"`
	End          time.Time `json:"endTime"`
}

func putAsync(ctx context.Context, q store.Querier, a *asyncOp) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO privatelink_async (id, doc) VALUES (?, ?)`,
		a.ID, string(doc)); err != nil {
		return fmt.Errorf("record connection operation: %w", err)
	}
	return nil
}

func getAsync(ctx context.Context, q store.Querier, id string) (*asyncOp, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM privatelink_async WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read connection operation: %w", err)
	}
	var a asyncOp
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("decode connection operation: %w", err)
	}
	return &a, nil
}
