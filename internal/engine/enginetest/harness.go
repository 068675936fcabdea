// Package enginetest is the conformance suite every engine driver passes.
// A driver's own test file builds a Harness (how to make databases, run SQL
// and seed one table per type family on that engine) and calls Run; the
// cross-engine tests call RunCross with two harnesses.
//
// The suite is written against engine.Driver and the export/import
// pipelines only, so every engine is held to the same checks:
//
//   - a lossless same-engine round trip of every type family: export,
//     import into a fresh database, export again, then compare the two
//     schemas (types, source types, nullability, identity, defaults, keys,
//     indexes, checks) and every cell by canonical value;
//   - import into an existing empty database, refusal of a non-empty one
//     (engine.ErrNotEmpty) and of creating one that exists
//     (engine.ErrDatabaseExists);
//   - Abort leaves nothing behind, also after a cancel in the middle of a
//     load: a database the import created is gone, an existing one is empty;
//   - wrong password, unreachable server and missing database fail with the
//     matching sentinel error and never with the password in the text;
//   - writes to the source while an export runs do not tear its snapshot;
//   - every shared fixture package imports with the row counts of §1 of
//     docs/bacpac-format.md, and the cells of BACPACToD-Test equal its
//     expected CSVs wherever the harness does not declare them inexact.
package enginetest

import (
	"testing"

	"github.com/bacport/bacport/internal/engine"
)

// Harness tells the suite how to drive one engine in tests.
type Harness struct {
	// Driver is the engine under test.
	Driver engine.Driver

	// NewDatabase returns the Config of a database that exists and is
	// empty, unique to the test, and removed at the test's cleanup.
	NewDatabase func(t *testing.T) engine.Config
	// NewName returns the Config of a database that does not exist yet,
	// unique to the test; whatever the test creates under that name is
	// removed at cleanup.
	NewName func(t *testing.T) engine.Config
	// Exec runs SQL on a database in its own connection (not the one a
	// Source or Target uses), failing the test on error. One statement
	// per call.
	Exec func(t *testing.T, cfg engine.Config, sql string)

	// Families seeds one table (or a few) per type family of the engine,
	// with NULL in every nullable column in at least one row. Each family
	// is round-tripped in a database of its own.
	Families []Family
	// Realistic, for RunCross, creates and fills a realistic schema in
	// this engine's dialect (tables with keys, foreign keys, indexes,
	// defaults and the common types), using only types every engine maps
	// exactly, so every cell survives the trip to another engine.
	Realistic []string

	// WrongPassword returns cfg with a wrong password; nil when the
	// engine itself checks no passwords (SQLite: bacport checks them).
	WrongPassword func(t *testing.T, cfg engine.Config) engine.Config
	// Unreachable returns the Config of a server that does not answer.
	Unreachable func(t *testing.T) engine.Config

	// SkipFixtures names shared fixture packages (file names such as
	// "AdventureWorksLT.bacpac") the engine is not expected to import,
	// with the reason; the suite logs them. Keep it empty if you can.
	SkipFixtures map[string]string
	// Inexact reports BACPACToD-Test columns ("dbo.DateTimeFields2",
	// "Field_datetimeoffset_7") whose cells the engine holds in a
	// documented lossy mapping, so they are not compared with the CSVs.
	Inexact func(table, column string) bool
}

// Family is the seed of one type family.
type Family struct {
	// Name names the subtest, e.g. "integers".
	Name string
	// Setup creates the family's tables and rows, one statement each.
	Setup []string
}

// Run runs the conformance suite against one engine.
func Run(t *testing.T, h Harness) {
	t.Helper()
	t.Run("Errors", func(t *testing.T) { testErrors(t, h) })
	t.Run("CreateRefusesExisting", func(t *testing.T) { testCreateRefusesExisting(t, h) })
	t.Run("RefuseNotEmpty", func(t *testing.T) { testRefuseNotEmpty(t, h) })
	t.Run("AbortDropsCreated", func(t *testing.T) { testAbortDropsCreated(t, h) })
	t.Run("AbortEmptiesExisting", func(t *testing.T) { testAbortEmptiesExisting(t, h) })
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, h) })
	t.Run("DirectRoundTrip", func(t *testing.T) { testDirectRoundTrip(t, h) })
	runPipelineTests(t, h)
}

// RunCross exports from's realistic schema, imports it into a new database
// of to, and checks that every table, key and index arrived and that every
// cell is equal by canonical value.
func RunCross(t *testing.T, from, to Harness) {
	t.Helper()
	runCross(t, from, to)
}
