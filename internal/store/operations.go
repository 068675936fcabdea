package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Operation statuses. An operation is active until it reaches Succeeded,
// Failed or Cancelled.
const (
	StatusQueued             = "Queued"
	StatusWaitingForApproval = "WaitingForApproval"
	StatusRunning            = "Running"
	StatusSucceeded          = "Succeeded"
	StatusFailed             = "Failed"
	StatusCancelled          = "Cancelled"
)

// Operation kinds.
const (
	KindExport         = "Export"
	KindImportNew      = "ImportNew"
	KindImportExisting = "ImportExisting"
)

// Terminal reports whether status is final.
func Terminal(status string) bool {
	return status == StatusSucceeded || status == StatusFailed || status == StatusCancelled
}

// Operation is one import or export request and the state of its job.
type Operation struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	Route         string `json:"route"` // how it was asked: export, import, databaseImport, extension
	ExtensionName string `json:"extensionName,omitempty"`

	Subscription  string `json:"subscription"`
	ResourceGroup string `json:"resourceGroup"`
	ServerID      string `json:"serverId"`
	ServerName    string `json:"serverName"`
	DatabaseName  string `json:"databaseName"`
	Location      string `json:"location"`

	Request OperationRequest `json:"request"`

	Status          string `json:"status"`
	Phase           string `json:"phase"`
	CancelRequested bool   `json:"cancelRequested,omitempty"`
	// Committing is set at a run's point of no return (an export about to
	// make its package visible, an import whose load is complete); from
	// then on a cancel is refused. A new run clears it.
	Committing bool           `json:"committing,omitempty"`
	Error      *OperationErr  `json:"error,omitempty"`
	Progress   Progress       `json:"progress"`
	Endpoints  []EndpointInfo `json:"privateEndpointConnections,omitempty"`

	QueuedAt   time.Time  `json:"queuedTime"`
	StartedAt  *time.Time `json:"startedTime,omitempty"`
	FinishedAt *time.Time `json:"finishedTime,omitempty"`
	ModifiedAt time.Time  `json:"lastModifiedTime"`

	PrincipalID   string `json:"principalId"`
	PrincipalName string `json:"principalName"`
	APIVersion    string `json:"apiVersion"`
	JobID         int64  `json:"jobId"`
	Runs          int    `json:"runs"`

	Seq int64 `json:"-"`
}

// OperationRequest is the non-secret part of what the client asked.
type OperationRequest struct {
	StorageURI              string            `json:"storageUri"`
	StorageKeyType          string            `json:"storageKeyType"`
	AdministratorLogin      string            `json:"administratorLogin,omitempty"`
	AuthenticationType      string            `json:"authenticationType,omitempty"`
	Edition                 string            `json:"edition,omitempty"`
	ServiceObjectiveName    string            `json:"serviceObjectiveName,omitempty"`
	MaxSizeBytes            string            `json:"maxSizeBytes,omitempty"`
	BackupStorageRedundancy string            `json:"requestedBackupStorageRedundancy,omitempty"`
	Overwrite               bool              `json:"overwrite,omitempty"`
	NetworkIsolation        *NetworkIsolation `json:"networkIsolation,omitempty"`
}

// NetworkIsolation names the resources a private-link job reaches.
type NetworkIsolation struct {
	SQLServerResourceID      string `json:"sqlServerResourceId,omitempty"`
	StorageAccountResourceID string `json:"storageAccountResourceId,omitempty"`
}

// OperationSecret holds an operation's write-only inputs. It is kept, sealed,
// only while the operation is active.
type OperationSecret struct {
	StorageKey                 string `json:"storageKey,omitempty"`
	AdministratorLoginPassword string `json:"administratorLoginPassword,omitempty"`
}

// OperationErr is why an operation failed or was cancelled.
type OperationErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Progress is the rich status of a running job.
type Progress struct {
	Percent        float64         `json:"percent"`
	Rows           int64           `json:"rows"`
	Bytes          int64           `json:"bytes"`
	BytesPerSecond float64         `json:"bytesPerSecond"`
	Tables         []TableProgress `json:"tables,omitempty"`
	// LastProgressAt is when the run last moved: a phase entered, rows or
	// bytes moved, a table finished. Nil until the run first reports; the
	// API marks a Running job stalled when it is too long ago.
	LastProgressAt *time.Time `json:"lastProgressTime,omitempty"`
}

// TableProgress is the progress of one table.
type TableProgress struct {
	Name      string `json:"name"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	TotalRows int64  `json:"totalRows,omitempty"`
	Done      bool   `json:"done"`
}

// EndpointInfo is a private endpoint connection a job owns, as the
// operation result lists it.
type EndpointInfo struct {
	Name                 string `json:"privateEndpointConnectionName"`
	PrivateLinkServiceID string `json:"privateLinkServiceId"`
	Status               string `json:"status"`
}

// DatabaseID is the ARM id of the operation's database.
func (op *Operation) DatabaseID() string {
	return op.ServerID + "/databases/" + op.DatabaseName
}

// RunningError reports the active operation that blocks a new one.
type RunningError struct{ Running *Operation }

func (e *RunningError) Error() string {
	return "operation " + e.Running.ID + " is in progress on the database"
}

func (e *RunningError) Unwrap() error { return ErrConflict }

// InsertOperation records a new operation and its secret inside tx. It fails
// with a *RunningError when the database has an active operation.
func (s *Store) InsertOperation(ctx context.Context, tx *sql.Tx, op *Operation, secret OperationSecret) error {
	running, err := s.activeOn(ctx, tx, op.DatabaseID())
	if err != nil {
		return err
	}
	if running != nil {
		return &RunningError{Running: running}
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM operations`).
		Scan(&op.Seq); err != nil {
		return fmt.Errorf("insert operation: %w", err)
	}
	doc, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("encode operation: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO operations
		(id, server_key, db_key, doc, status, active, queued_at, seq) VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
		op.ID, Key(op.ServerID), Key(op.DatabaseID()), string(doc), op.Status,
		op.QueuedAt.UTC().Format(time.RFC3339Nano), op.Seq); err != nil {
		return fmt.Errorf("insert operation: %w", err)
	}
	pt, err := json.Marshal(secret)
	if err != nil {
		return fmt.Errorf("encode operation secret: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO operation_secrets (id, secret) VALUES (?, ?)`,
		op.ID, s.sealer.Seal(pt, "operation/"+op.ID)); err != nil {
		return fmt.Errorf("insert operation secret: %w", err)
	}
	return nil
}

// SetJobID records the River job of an operation.
func (s *Store) SetJobID(ctx context.Context, tx *sql.Tx, op *Operation, jobID int64) error {
	op.JobID = jobID
	return s.UpdateOperation(ctx, tx, op)
}

// UpdateOperation writes an operation's state. Reaching a terminal status
// deletes its secret in the same statement batch.
func (s *Store) UpdateOperation(ctx context.Context, q Querier, op *Operation) error {
	op.ModifiedAt = time.Now().UTC()
	doc, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("encode operation: %w", err)
	}
	active := 1
	if Terminal(op.Status) {
		active = 0
	}
	res, err := q.ExecContext(ctx, `UPDATE operations SET doc = ?, status = ?, active = ? WHERE id = ?`,
		string(doc), op.Status, active, op.ID)
	if err != nil {
		return fmt.Errorf("update operation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if active == 0 {
		if _, err := q.ExecContext(ctx, `DELETE FROM operation_secrets WHERE id = ?`, op.ID); err != nil {
			return fmt.Errorf("delete operation secret: %w", err)
		}
	}
	return nil
}

// Update runs fn on the current state of an operation inside a write
// transaction and stores the result, so concurrent writers (the worker's
// progress, the API's cancel) do not lose each other's fields.
func (s *Store) Update(ctx context.Context, id string, fn func(tx *sql.Tx, op *Operation) error) (*Operation, error) {
	var out *Operation
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		op, err := s.getOperation(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, op); err != nil {
			return err
		}
		out = op
		return s.UpdateOperation(ctx, tx, op)
	})
	return out, err
}

// GetOperation reads one operation.
func (s *Store) GetOperation(ctx context.Context, id string) (*Operation, error) {
	return s.getOperation(ctx, s.r, id)
}

// GetOperationTx reads one operation inside a transaction.
func (s *Store) GetOperationTx(ctx context.Context, tx *sql.Tx, id string) (*Operation, error) {
	return s.getOperation(ctx, tx, id)
}

func (s *Store) getOperation(ctx context.Context, q Querier, id string) (*Operation, error) {
	list, err := s.queryOperations(ctx, q, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return list[0], nil
}

// ActiveOn returns the active operation on a database, or nil.
func (s *Store) ActiveOn(ctx context.Context, databaseID string) (*Operation, error) {
	return s.activeOn(ctx, s.r, databaseID)
}

func (s *Store) activeOn(ctx context.Context, q Querier, databaseID string) (*Operation, error) {
	list, err := s.queryOperations(ctx, q, `WHERE db_key = ? AND active = 1`, Key(databaseID))
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

// ActiveOperations lists every active operation, oldest first.
func (s *Store) ActiveOperations(ctx context.Context) ([]*Operation, error) {
	return s.queryOperations(ctx, s.r, `WHERE active = 1 ORDER BY seq`)
}

// OperationFilter selects operations for a history listing.
type OperationFilter struct {
	ServerID   string
	Database   string // exact name, case-insensitive
	Status     string // one status, case-insensitive
	Kind       string
	ActiveOnly bool
	Before     int64 // paging: only seq < Before when > 0
	Limit      int
}

// ListOperations lists a server's operations, newest first.
func (s *Store) ListOperations(ctx context.Context, f OperationFilter) ([]*Operation, error) {
	where := []string{"server_key = ?"}
	args := []any{Key(f.ServerID)}
	if f.Database != "" {
		where = append(where, "db_key = ?")
		args = append(args, Key(f.ServerID+"/databases/"+f.Database))
	}
	if f.Status != "" {
		where = append(where, "lower(status) = lower(?)")
		args = append(args, f.Status)
	}
	if f.Kind != "" {
		where = append(where, "lower(json_extract(doc, '$.kind')) = lower(?)")
		args = append(args, f.Kind)
	}
	if f.ActiveOnly {
		where = append(where, "active = 1")
	}
	if f.Before > 0 {
		where = append(where, "seq < ?")
		args = append(args, f.Before)
	}
	clause := "WHERE " + strings.Join(where, " AND ") + " ORDER BY seq DESC"
	if f.Limit > 0 {
		clause += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return s.queryOperations(ctx, s.r, clause, args...)
}

func (s *Store) queryOperations(ctx context.Context, q Querier, clause string, args ...any) ([]*Operation, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc, seq FROM operations `+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("read operations: %w", err)
	}
	defer rows.Close()
	var list []*Operation
	for rows.Next() {
		var doc string
		var op Operation
		var seq int64
		if err := rows.Scan(&doc, &seq); err != nil {
			return nil, fmt.Errorf("read operation: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &op); err != nil {
			return nil, fmt.Errorf("decode operation: %w", err)
		}
		op.Seq = seq
		list = append(list, &op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read operations: %w", err)
	}
	return list, nil
}

// Secret returns the sealed inputs of an active operation.
func (s *Store) Secret(ctx context.Context, id string) (OperationSecret, error) {
	var sealed []byte
	var sec OperationSecret
	err := s.r.QueryRowContext(ctx, `SELECT secret FROM operation_secrets WHERE id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return sec, ErrNotFound
	}
	if err != nil {
		return sec, fmt.Errorf("read operation secret: %w", err)
	}
	pt, err := s.sealer.Open(sealed, "operation/"+id)
	if err != nil {
		return sec, err
	}
	if err := json.Unmarshal(pt, &sec); err != nil {
		return sec, fmt.Errorf("decode operation secret: %w", err)
	}
	return sec, nil
}

// HistoryEntry is one event in an operation's life.
type HistoryEntry struct {
	Seq         int64     `json:"seq"`
	OperationID string    `json:"operationId"`
	At          time.Time `json:"time"`
	Event       string    `json:"event"`
	Status      string    `json:"status"`
	Phase       string    `json:"phase,omitempty"`
	Message     string    `json:"message,omitempty"`
	Principal   string    `json:"principal,omitempty"`
}

// AddHistory appends an event to the operation's history.
func (s *Store) AddHistory(ctx context.Context, q Querier, op *Operation, event, message string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO history
		(operation_id, server_key, at, event, status, phase, message, principal)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		op.ID, Key(op.ServerID), now(), event, op.Status, op.Phase, message, op.PrincipalName)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// History lists the events of an operation, oldest first.
func (s *Store) History(ctx context.Context, operationID string) ([]HistoryEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, operation_id, at, event, status, phase, message, principal
		FROM history WHERE operation_id = ? ORDER BY seq`, operationID)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var list []HistoryEntry
	for rows.Next() {
		var e HistoryEntry
		var at string
		if err := rows.Scan(&e.Seq, &e.OperationID, &at, &e.Event, &e.Status, &e.Phase,
			&e.Message, &e.Principal); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		e.At, _ = time.Parse(time.RFC3339Nano, at)
		list = append(list, e)
	}
	return list, rows.Err()
}
