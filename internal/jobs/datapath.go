package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/store"
)

// Phases of a job, as the rich status reports them.
const (
	PhaseQueued     = "queued"
	PhaseValidating = "validating"
	PhaseWaiting    = "waitingForApproval"
	PhaseSchema     = "schema"
	PhaseData       = "data"
	PhaseIndexes    = "indexes"
	PhaseVerifying  = "verifying"
	PhaseCleaningUp = "cleaningUp"
	PhaseFinished   = "finished"
)

// Task is one run of an operation's job as the data path sees it.
type Task struct {
	Op       *store.Operation // a snapshot; the data path must not write it
	Engine   EngineRef
	Storage  StorageRef
	Progress *Progress
	Log      *slog.Logger
	// Stop ends the run at once by cancelling its context with err as the
	// cause. A Router calls it when a route the run needs is withdrawn (a
	// private endpoint rejected mid-job). Nil for preflight tasks.
	Stop func(err error)

	// commit marks the run's point of no return; nil for preflight tasks.
	commit func(ctx context.Context) error
}

// Commit is called by the data path just before an export makes its
// package visible. It fails when the operation was cancelled, and then
// nothing may be committed; once it has returned nil, a cancel is
// refused, so a cancelled export can never leave a package behind.
func (t *Task) Commit(ctx context.Context) error {
	if t.commit == nil {
		return nil
	}
	return t.commit(ctx)
}

// ErrPackageCommitted is returned by Check for an export whose blob
// already holds this operation's package: an earlier run was interrupted
// after its commit. The job then succeeds without redoing the work.
var ErrPackageCommitted = errors.New("the package of this operation is already committed")

// Metadata bacport writes on every package it commits, so that a resumed
// export recognizes its own package and a test can tell which run wrote it.
const (
	MetaOperation = "bacportoperation"
	MetaRun       = "bacportrun"
)

// EngineRef says how to reach the operation's database.
type EngineRef struct {
	Driver string        // DSN scheme: "sqlite", "postgres", "mysql"
	Config engine.Config // DSN, Database, Login, Password and the dial hooks
}

// StorageRef says how to reach the operation's package.
type StorageRef struct {
	URI     string // the blob's URL
	KeyType string // StorageAccessKey or SharedAccessKey
	Key     string // account key, or SAS token
	// Dial, when set, carries every connection to the storage account (a
	// private endpoint's route); nil dials directly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DataPath moves the data of a task. Implementations stream: nothing is
// ever held whole in memory.
//
// Export writes the package so that the blob appears only when complete
// (uncommitted blocks are invisible, and are never committed after an
// error or a cancel): it calls t.Commit before the commit and tags the blob
// with MetaOperation and MetaRun. Import loads into the task's database and, on any
// error including cancellation, calls the target's Abort before
// returning, so no half-made database remains. Discard removes what an
// interrupted run (a crash) left of an import: the database it created is
// dropped, an existing one is emptied.
type DataPath interface {
	Check(ctx context.Context, t *Task) error
	Export(ctx context.Context, t *Task) error
	Import(ctx context.Context, t *Task) error
	Discard(ctx context.Context, t *Task) error
}

// Error is a failure with a stable code and a message that tells the user
// what to do. Its message never contains secrets.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, for the log; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Stable error codes of failed operations, beside the ones of the ARM
// contract.
const (
	CodeJobError           = "ImportExportJobError"
	CodeStorageCredentials = "InvalidImportExportStorageCredentials"
	CodeStorageURI         = "InvalidImportExportStorageURI"
	CodeBlobExists         = "BlobAlreadyExist"
	CodeBlobNotFound       = "ImportExportPackageNotFound"
	CodeBadPackage         = "InvalidBacpacPackage"
	CodeLoginFailed        = "InvalidSqlCredentials"
	CodeEngineUnreachable  = "DatabaseServerUnreachable"
	CodeDatabaseExists     = "DatabaseAlreadyExists"
	CodeDatabaseNotEmpty   = "DatabaseNotEmpty"
	CodeDatabaseMissing    = "DatabaseDoesNotExist"
	CodeNotSupported       = "FeatureNotSupported"
	CodeInterrupted        = "OperationInterrupted"
	CodeCancelled          = "OperationCancelled"
)

// Classify turns any error into an *Error, mapping the engine's sentinel
// errors to their codes and messages.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, engine.ErrAuth):
		return &Error{CodeLoginFailed, "the database server refused the administrator login " +
			"and password; check administratorLogin and administratorLoginPassword", err}
	case errors.Is(err, engine.ErrUnreachable):
		return &Error{CodeEngineUnreachable, "the database server could not be reached; " +
			"check that it is running and that its address in the server's engine binding is right", err}
	case errors.Is(err, engine.ErrDatabaseExists):
		return &Error{CodeDatabaseExists, "the target database already exists; " +
			"choose a new name, or import into it as an existing empty database", err}
	case errors.Is(err, engine.ErrNotEmpty):
		return &Error{CodeDatabaseNotEmpty, "the target database holds tables; " +
			"import only into an empty database", err}
	case errors.Is(err, engine.ErrNoDatabase):
		return &Error{CodeDatabaseMissing, "the database does not exist on the server", err}
	case errors.Is(err, engine.ErrNotSupported):
		return &Error{CodeNotSupported, "the package uses a feature the engine does not support: " +
			err.Error(), err}
	}
	var ve *engine.ValueError
	if errors.As(err, &ve) {
		return &Error{CodeJobError, "a value cannot be stored exactly in the target: " + ve.Error(), err}
	}
	return &Error{CodeJobError, "the import/export job failed: " + err.Error(), err}
}
