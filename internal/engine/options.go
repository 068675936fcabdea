package engine

import (
	"log/slog"
	"runtime"
	"time"
)

// Phases reported through Progress.
const (
	PhaseSchema = "schema" // reading (export) or creating (import) the schema
	PhaseData   = "data"   // rows of one table moving
	PhaseTable  = "table"  // one table finished
	PhaseFinish = "finish" // keys, indexes, constraints, identity values
	PhaseDone   = "done"   // the whole operation finished
)

// Progress is one progress event. Callbacks receive events from several
// goroutines at once and must be safe for that.
type Progress struct {
	Phase string
	// Table is "schema.name" for PhaseData and PhaseTable events.
	Table string
	// Rows and Bytes count what moved so far: for the table in PhaseData
	// and PhaseTable events, for the whole operation otherwise. Bytes is
	// the size of the row values (strings and binaries by length, other
	// values by their BCP width), not of the compressed package.
	Rows  int64
	Bytes int64
}

// ExportOptions tune Export.
type ExportOptions struct {
	// Parallel is how many tables are read at once; zero means
	// runtime.NumCPU().
	Parallel int
	// PartSize, Level and TempDir are passed to the package writer
	// (bacpac.WriterOptions); zero values take the writer's defaults.
	PartSize int64
	Level    int
	TempDir  string
	// Server, Database and Engine describe the source in Origin.xml
	// (Engine as e.g. "SQLite 3.50" or "PostgreSQL 16.4").
	Server   string
	Database string
	Engine   string
	// Progress, when set, receives progress events.
	Progress func(Progress)
	// Logger, when set, receives debug events per table.
	Logger *slog.Logger
	// Lossy writes NULL for the values no SQL Server type holds, NaN and
	// infinite floats, in nullable columns, instead of failing; every
	// column where that happened is in ExportReport.Changed. A NOT NULL
	// column still fails.
	Lossy bool
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Parallel is how many tables are loaded at once; zero means
	// runtime.NumCPU(). A target that implements LoadParallelism caps it.
	Parallel int
	// Progress, when set, receives progress events.
	Progress func(Progress)
	// Logger, when set, receives debug events per table.
	Logger *slog.Logger
}

// LoadParallelism is implemented by targets that gain nothing from (or
// cannot take) more than n concurrent Load calls, such as SQLite with its
// single writer.
type LoadParallelism interface {
	MaxLoadParallel() int
}

// TableReport is what happened to one table.
type TableReport struct {
	Schema string
	Name   string
	Rows   int64
	Bytes  int64
}

// ExportReport summarizes an export.
type ExportReport struct {
	Tables  []TableReport // in model order
	Rows    int64
	Bytes   int64
	Elapsed time.Duration
	// Changed lists the columns where ExportOptions.Lossy wrote NULL
	// for values SQL Server cannot hold.
	Changed []Changed
	// Omitted lists what the package describes for the same engine only
	// (see Omitter), with the reason.
	Omitted []Skipped
}

// Changed is one column whose values a lossy export changed.
type Changed struct {
	Table  string // "schema.name"
	Column string
	Values int64  // how many values
	Reason string // e.g. "NaN or infinite float written as NULL"
}

// ImportReport summarizes an import.
type ImportReport struct {
	Tables []TableReport // in model order
	Rows   int64
	Bytes  int64
	// Skipped lists every object of the package that the target did not
	// receive, with the reason: views, procedures, functions, triggers,
	// users, logins, and whatever the driver could not express.
	Skipped []Skipped
	Elapsed time.Duration
}

// Parallelism is how many tables an export or import with Parallel n moves
// at once: n, or the number of cores when n is zero or less.
func Parallelism(n int) int {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	return max(n, 1)
}
