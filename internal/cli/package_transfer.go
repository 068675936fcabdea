package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	_ "github.com/bacport/bacport/internal/engine/mysql"    // mysql:// and mariadb://
	_ "github.com/bacport/bacport/internal/engine/postgres" // postgres:// and postgresql://
	_ "github.com/bacport/bacport/internal/engine/sqlite"   // sqlite://
)

// passwordEnv is where "package export/import" read the database password
// from when the DSN has none, so it never appears in a command line or
// shell history.
const passwordEnv = "BACPORT_DB_PASSWORD"

// dbFlags are the connection flags both transfer commands share.
type dbFlags struct {
	dsn      string
	database string
	login    string
	parallel int
}

func (f *dbFlags) config() engine.Config {
	return engine.Config{DSN: f.dsn, Database: f.database, Login: f.login,
		Password: os.Getenv(passwordEnv)}
}

func (f *dbFlags) add(cmd *cobra.Command, dsnFlag, dsnHelp string) {
	cmd.Flags().StringVar(&f.dsn, dsnFlag, "", dsnHelp)
	cmd.Flags().StringVar(&f.database, "database", "", "database name, when the DSN names none (or to override it)")
	cmd.Flags().StringVar(&f.login, "login", "", "administrator login, when the DSN names none (password: $"+passwordEnv+")")
	cmd.Flags().IntVar(&f.parallel, "parallel", 0, "tables moved at once (default: the number of cores)")
	_ = cmd.MarkFlagRequired(dsnFlag)
}

// addPackageTransferCmds adds "package export" and "package import".
func addPackageTransferCmds(parent *cobra.Command) {
	var exp dbFlags
	var out string
	var force, expLossy bool
	export := &cobra.Command{
		Use:   "export --source DSN --out FILE",
		Short: "Export a SQLite, PostgreSQL or MySQL/MariaDB database to a .bacpac file",
		Long: `Export reads the schema and every row of a live database from one consistent
snapshot and writes it as a BACPAC package, as SqlPackage's Export action does,
without the service. Each column is described in SQL Server terms (see README,
"Type mapping") and keeps its exact source type, so an import into the same engine
restores it exactly. The file appears only when the export succeeds; a failure
or Ctrl-C leaves nothing behind. A value no SQL Server type holds (a NaN or
infinite float) fails the export naming table, column and row, unless --lossy
writes it as NULL (nullable columns only; each such column is listed).

The DSN names the engine: sqlite:///path/db.sqlite, postgres://user@host:5432/db,
mysql://user@host:3306/db. Give the password in $` + passwordEnv + ` rather than in
the DSN, so it stays out of your shell history.`,
		Example: "  bacport package export --source sqlite:///srv/shop.sqlite --out shop.bacpac\n" +
			"  BACPORT_DB_PASSWORD=… bacport package export --source postgres://admin@db:5432/shop --out shop.bacpac",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPackageExport(ctxOf(cmd), cmd.ErrOrStderr(), exp, out, force, expLossy)
		},
	}
	exp.add(export, "source", "database to export: sqlite://…, postgres://… or mysql://…")
	export.Flags().StringVar(&out, "out", "", "package file to write")
	export.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	export.Flags().BoolVar(&expLossy, "lossy", false, "write NaN and infinite floats as NULL instead of failing")
	_ = export.MarkFlagRequired("out")

	var imp dbFlags
	var in string
	var existing, lossy, asJSON bool
	imp2 := &cobra.Command{
		Use:   "import --in FILE --target DSN",
		Short: "Import a .bacpac file into a new (or empty) SQLite, PostgreSQL or MySQL/MariaDB database",
		Long: `Import creates the database, creates the tables, bulk-loads every row, then adds
keys, indexes and constraints and moves identity values past the loaded maximum,
as SqlPackage's Import action does, without the service. With --existing the
database must exist and hold no tables instead.

Objects the target cannot hold (T-SQL views, procedures, functions, triggers,
users, logins, …) are listed in the report with the reason. A value the target
cannot hold exactly fails the import naming table, column and row, unless
--lossy allows the engine's documented lossy mappings (README, "Type mapping").
On failure or Ctrl-C the database the import created is dropped, and an existing
one is left empty.`,
		Example: "  bacport package import --in AdventureWorksLT.bacpac --target sqlite:///srv/awlt.sqlite\n" +
			"  bacport package import --in shop.bacpac --target postgres://admin@db:5432/shop --lossy\n" +
			"  bacport package import --in shop.bacpac --target mysql://root@127.0.0.1:3306/shop --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPackageImport(ctxOf(cmd), cmd.OutOrStdout(), cmd.ErrOrStderr(), imp, in,
				!existing, lossy, asJSON || outputJSON(cmd))
		},
	}
	imp.add(imp2, "target", "database to import into: sqlite://…, postgres://… or mysql://…")
	imp2.Flags().StringVar(&in, "in", "", "package file to read")
	imp2.Flags().BoolVar(&existing, "existing", false, "import into an existing, empty database instead of creating it")
	imp2.Flags().BoolVar(&lossy, "lossy", false, "allow the target engine's documented lossy mappings instead of failing")
	imp2.Flags().BoolVar(&asJSON, "json", false, "print the import report as JSON (as -o json does)")
	_ = imp2.MarkFlagRequired("in")

	parent.AddCommand(export, imp2)
}

func runPackageExport(ctx context.Context, errw io.Writer, f dbFlags, out string, force, lossy bool) error {
	d, err := engine.Lookup(f.dsn)
	if err != nil {
		return usageError{err}
	}
	if !force {
		if _, err := os.Stat(out); err == nil {
			return usageError{fmt.Errorf("%s exists; pass --force to replace it", out)}
		}
	}
	cfg := f.config()
	src, err := d.OpenSource(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open source database: %w%s", err, connectHint(err))
	}
	defer src.Close()

	// Write beside the target and rename at the end, so no half-written
	// package is ever visible under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return fmt.Errorf("create package file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	p := newTransferProgress(errw, "exported")
	rep, err := engine.Export(ctx, src, tmp, engine.ExportOptions{
		Parallel: f.parallel,
		TempDir:  filepath.Dir(out),
		Server:   "bacport",
		Database: cmp.Or(cfg.Database, databaseOf(f.dsn)),
		Engine:   d.Name(),
		Progress: p.event,
		Lossy:    lossy,
	})
	if errors.Is(err, bacpac.ErrInvalidValue) && !lossy {
		return fmt.Errorf("export: %w (nothing was written; --lossy writes NaN and infinite floats "+
			"in nullable columns as NULL)", err)
	}
	if err != nil {
		return fmt.Errorf("export: %w (nothing was written)", err)
	}
	for _, c := range rep.Changed {
		fmt.Fprintf(errw, "  changed %s.%s: %d values: %s\n", c.Table, c.Column, c.Values, c.Reason)
	}
	if len(rep.Omitted) > 0 {
		fmt.Fprintf(errw, "Described for the same engine only (%d):\n", len(rep.Omitted))
		for _, o := range rep.Omitted {
			fmt.Fprintf(errw, "  %s %s: %s\n", o.Kind, o.Name, o.Reason)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write package file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write package file: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("move package into place: %w", err)
	}
	done = true
	fmt.Fprintf(errw, "Exported %d tables, %d rows (%s of values) to %s in %s\n",
		len(rep.Tables), rep.Rows, formatBytes(rep.Bytes), out, rep.Elapsed.Round(time.Millisecond))
	return nil
}

func runPackageImport(ctx context.Context, outw, errw io.Writer, f dbFlags, in string,
	create, lossy, asJSON bool) error {
	d, err := engine.Lookup(f.dsn)
	if err != nil {
		return usageError{err}
	}
	pkg, err := bacpac.OpenFile(in)
	if err != nil {
		return fmt.Errorf("open package: %w", err)
	}
	defer pkg.Close()
	cfg := f.config()
	cfg.Lossy = lossy
	dst, err := d.OpenTarget(ctx, cfg, create)
	switch {
	case errors.Is(err, engine.ErrDatabaseExists):
		return fmt.Errorf("open target database: %w (drop it, or pass --existing to import into it when it is empty)", err)
	case errors.Is(err, engine.ErrNoDatabase) && !create:
		return fmt.Errorf("open target database: %w (leave out --existing to create it)", err)
	case err != nil:
		return fmt.Errorf("open target database: %w%s", err, connectHint(err))
	}
	defer dst.Close()

	p := newTransferProgress(errw, "imported")
	rep, err := engine.Import(ctx, pkg.Package, dst, engine.ImportOptions{
		Parallel: f.parallel,
		Progress: p.event,
	})
	if err != nil {
		if errors.Is(err, engine.ErrLossy) && !lossy {
			return fmt.Errorf("import: %w (nothing was kept; --lossy allows the documented lossy mappings)", err)
		}
		return fmt.Errorf("import: %w (nothing was kept)", err)
	}
	if asJSON {
		enc := json.NewEncoder(outw)
		enc.SetIndent("", "  ")
		return enc.Encode(importReportJSON(rep))
	}
	printImportReport(outw, rep)
	return nil
}

// connectHint says what to check after a connection error.
func connectHint(err error) string {
	switch {
	case errors.Is(err, engine.ErrAuth):
		return " (check the login in the DSN or --login, and the password in $" + passwordEnv + ")"
	case errors.Is(err, engine.ErrUnreachable):
		return " (check the host and port in the DSN, and that the server runs and accepts connections from here)"
	case errors.Is(err, engine.ErrNoDatabase):
		return " (check the database name in the DSN or --database)"
	}
	return ""
}

// transferProgress prints one line per finished table and, for long
// tables, a line at most every two seconds while rows move.
type transferProgress struct {
	mu   sync.Mutex
	w    io.Writer
	verb string
	last time.Time
}

func newTransferProgress(w io.Writer, verb string) *transferProgress {
	return &transferProgress{w: w, verb: verb, last: time.Now()}
}

func (p *transferProgress) event(e engine.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Phase {
	case engine.PhaseSchema:
		if p.verb == "exported" {
			fmt.Fprintln(p.w, "reading the schema")
		} else {
			fmt.Fprintln(p.w, "creating the tables")
		}
	case engine.PhaseData:
		if time.Since(p.last) >= 2*time.Second {
			fmt.Fprintf(p.w, "  %s: %d rows so far\n", e.Table, e.Rows)
			p.last = time.Now()
		}
	case engine.PhaseTable:
		fmt.Fprintf(p.w, "  %s %s: %d rows, %s\n", p.verb, e.Table, e.Rows, formatBytes(e.Bytes))
	case engine.PhaseFinish:
		fmt.Fprintln(p.w, "adding keys, indexes and constraints; moving identity values past the loaded maximum")
	}
}

type importJSON struct {
	Tables  []engine.TableReport `json:"tables"`
	Rows    int64                `json:"rows"`
	Bytes   int64                `json:"bytes"`
	Skipped []skippedJSON        `json:"skipped"`
	Seconds float64              `json:"seconds"`
}

type skippedJSON struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func importReportJSON(rep engine.ImportReport) importJSON {
	out := importJSON{Tables: rep.Tables, Rows: rep.Rows, Bytes: rep.Bytes,
		Skipped: []skippedJSON{}, Seconds: rep.Elapsed.Seconds()}
	for _, s := range rep.Skipped {
		out.Skipped = append(out.Skipped, skippedJSON(s))
	}
	return out
}

// printImportReport prints the tables loaded and everything not carried,
// with the reason, so nothing is dropped silently.
func printImportReport(w io.Writer, rep engine.ImportReport) {
	fmt.Fprintf(w, "Imported %d tables, %d rows in %s\n", len(rep.Tables), rep.Rows,
		rep.Elapsed.Round(time.Millisecond))
	if len(rep.Skipped) == 0 {
		fmt.Fprintln(w, "Nothing was skipped.")
		return
	}
	fmt.Fprintf(w, "Not carried (%d):\n", len(rep.Skipped))
	for _, s := range rep.Skipped {
		name := s.Name
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", s.Kind, name, s.Reason)
	}
}

// databaseOf is the database a DSN names, for Origin.xml: the last path
// element without its extension.
func databaseOf(dsn string) string {
	_, rest, _ := strings.Cut(dsn, "://")
	rest, _, _ = strings.Cut(rest, "?")
	base := rest[strings.LastIndex(rest, "/")+1:]
	return strings.TrimSuffix(base, filepath.Ext(base))
}
