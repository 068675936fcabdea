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
//   - with BACPORT_BIG=1, importing and exporting a table of 1 GiB of
//     values each stay under 256 MiB of peak RSS;
//   - after an import, a row inserted without an identity value is
//     numbered past the loaded maximum;
//   - fixed-length text padded with spaces reads back as it was imported;
//   - every shared fixture package imports (with Config.Lossy) with the
//     row counts of §1 of docs/bacpac-format.md, and the cells of
//     BACPACToD-Test equal its expected CSVs, by instant or to the
//     microsecond where the harness declares a lossy mapping, wherever it
//     does not declare them inexact; without Config.Lossy, a fixture the
//     engine cannot hold exactly fails naming table, column and row.
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
	// exactly, so every cell survives the trip to another engine. The
	// cross-engine harnesses live in internal/engine/cross.
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
	// "Field_char_10") whose cells the engine holds in a form the CSV
	// comparison cannot read back (padding dropped, a uuid as text), so
	// they are not compared with the CSVs.
	Inexact func(table, column string) bool
	// Lossy says what the engine's documented lossy mappings do, so cells
	// a fixture import changed under Config.Lossy are compared the way the
	// mapping defines rather than skipped.
	Lossy LossyMappings
	// StrictFixture names a shared fixture package the engine cannot hold
	// exactly. The suite imports it without Config.Lossy and expects a
	// *engine.ValueError naming table, column and row, and no database
	// left behind. Empty when every fixture imports exactly.
	StrictFixture string
}

// LossyMappings are the documented lossy mappings an engine applies when
// Config.Lossy is set. The fixture tests import with it set.
type LossyMappings struct {
	// OffsetToUTC: a datetimeoffset is held as its instant and read back
	// in UTC; cells are compared by instant.
	OffsetToUTC bool
	// Microseconds: the 100-nanosecond digit of time, datetime2 and
	// datetimeoffset values is dropped or rounded; cells with seven
	// fractional digits are compared to within a microsecond.
	Microseconds bool
}

// Family is the seed of one type family.
type Family struct {
	// Name names the subtest, e.g. "integers".
	Name string
	// Setup creates the family's tables and rows, one statement each.
	Setup []string
	// Refused, when set, means the family holds values no SQL Server type
	// holds (a NaN or infinite float, say): the package writer refuses
	// them, so the round trip through a package expects the export to
	// fail with an error containing every one of these strings (say, the
	// table, column and row), and a lossy export (ExportOptions.Lossy) to
	// write them as NULL and report it. The direct round trip still
	// carries them.
	Refused []string
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
	t.Run("IdentityPastMax", func(t *testing.T) { testIdentityPastMax(t, h) })
	t.Run("PaddedChar", func(t *testing.T) { testPaddedChar(t, h) })
	runPipelineTests(t, h)
}

// RunCross exports from's realistic schema, imports it into a new database
// of to, and checks that every table, key and index arrived and that every
// cell is equal by canonical value.
func RunCross(t *testing.T, from, to Harness) {
	t.Helper()
	runCross(t, from, to)
}
