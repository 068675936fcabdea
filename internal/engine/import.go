package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
)

// Import loads a package into dst: the tables are created, loaded
// (opts.Parallel at a time, capped by a LoadParallelism target) and
// finished with their keys, indexes and constraints. A RawLoader target
// is fed the package's stored values instead of decoded rows, and a
// TableFinisher target finishes each table right after its load. On any error,
// including a cancelled ctx, dst.Abort undoes the import before Import
// returns. dst is not closed.
//
// The report lists every model object the target did not receive: views,
// procedures, functions, triggers, principals and the like from the
// package, and whatever the driver's Finish could not express.
func Import(ctx context.Context, pkg *bacpac.Package, dst Target, opts ImportOptions) (rep ImportReport, err error) {
	start := time.Now()
	emit := progressFunc(opts.Progress)
	m := pkg.Model()
	defer func() {
		if err == nil {
			return
		}
		if aerr := dst.Abort(context.WithoutCancel(ctx)); aerr != nil {
			err = errors.Join(err, fmt.Errorf("undo import: %w", aerr))
		}
	}()

	rep.Skipped = SkippedObjects(m)
	emit(Progress{Phase: PhaseSchema})
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if err := dst.CreateTables(ctx, m); err != nil {
		return rep, fmt.Errorf("create tables: %w", err)
	}

	parallel := Parallelism(opts.Parallel)
	if lp, ok := dst.(LoadParallelism); ok && lp.MaxLoadParallel() > 0 {
		parallel = min(parallel, lp.MaxLoadParallel())
	}
	rep.Tables = make([]TableReport, len(m.Tables))
	var total totals
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i, t := range m.Tables {
		rep.Tables[i] = TableReport{Schema: t.Schema, Name: t.Name}
		g.Go(func() error {
			return importTable(gctx, pkg, dst, t, &rep.Tables[i], &total, emit, opts)
		})
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	rep.Rows, rep.Bytes = total.rows.Load(), total.bytes.Load()

	emit(Progress{Phase: PhaseFinish, Rows: rep.Rows, Bytes: rep.Bytes})
	skipped, err := dst.Finish(ctx, m)
	rep.Skipped = append(rep.Skipped, skipped...)
	if err != nil {
		return rep, fmt.Errorf("add keys, indexes and constraints: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	emit(Progress{Phase: PhaseDone, Rows: rep.Rows, Bytes: rep.Bytes})
	return rep, nil
}

func importTable(ctx context.Context, pkg *bacpac.Package, dst Target, t *bacpac.Table,
	tr *TableReport, total *totals, emit func(Progress), opts ImportOptions) error {
	name := t.Schema + "." + t.Name
	started := time.Now()
	rows := pkg.Rows(t)
	defer rows.Close()
	var seen atomic.Int64
	counted := func(bytes int64) {
		tr.Bytes += bytes
		if k := seen.Add(1); k%progressEvery == 0 {
			emit(Progress{Phase: PhaseData, Table: name, Rows: k, Bytes: tr.Bytes})
		}
	}
	var n int64
	var err error
	if raw, ok := dst.(RawLoader); ok {
		n, err = raw.LoadRaw(ctx, t, &rawRows{rows: rows, kinds: rows.StoredKinds(), counted: counted})
	} else {
		n, err = dst.Load(ctx, t, func() ([]any, error) {
			if !rows.Next() {
				if err := rows.Err(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			}
			row := rows.Values()
			counted(rowBytes(row))
			return row, nil
		})
	}
	tr.Rows = n
	if err != nil {
		return fmt.Errorf("import table %s: %w", name, err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("import table %s: %w", name, err)
	}
	if got := seen.Load(); got != n {
		return fmt.Errorf("import table %s: the package holds %d rows, the target loaded %d", name, got, n)
	}
	if f, ok := dst.(TableFinisher); ok {
		if err := f.FinishTable(ctx, t); err != nil {
			return fmt.Errorf("add keys, indexes and constraints of %s: %w", name, err)
		}
	}
	total.rows.Add(n)
	total.bytes.Add(tr.Bytes)
	emit(Progress{Phase: PhaseTable, Table: name, Rows: n, Bytes: tr.Bytes})
	if opts.Logger != nil {
		opts.Logger.Debug("table imported", "table", name, "rows", n, "elapsed", time.Since(started))
	}
	return nil
}

// SkippedObjects lists the model's objects that no engine import carries
// (views, code, principals, …) and the element types the package reader
// did not understand, each with the reason.
func SkippedObjects(m *bacpac.Model) []Skipped {
	var out []Skipped
	for _, o := range m.Objects {
		out = append(out, Skipped{Kind: o.Kind, Name: o.Name, Reason: objectReason(o.Kind)})
	}
	for _, u := range m.Unknown {
		out = append(out, Skipped{Kind: u, Reason: "bacport does not read this element type"})
	}
	return out
}

func objectReason(kind string) string {
	switch kind {
	case "SqlView":
		return "views are T-SQL queries, which bacport does not translate to another engine"
	case "SqlProcedure", "SqlScalarFunction", "SqlTableValuedFunction",
		"SqlInlineTableValuedFunction", "SqlMultiStatementTableValuedFunction",
		"SqlAggregate", "SqlAssembly":
		return "stored code is T-SQL (or CLR), which bacport does not translate to another engine"
	case "SqlDmlTrigger", "SqlDdlTrigger", "SqlServerDdlTrigger":
		return "triggers are T-SQL, which bacport does not translate to another engine"
	case "SqlUser", "SqlLogin", "SqlRole", "SqlRoleMembership", "SqlPermissionStatement",
		"SqlApplicationRole", "SqlServerRoleMembership", "SqlCredential":
		return "principals and permissions are not carried; the target's administrator owns the imported tables"
	case "SqlSequence":
		return "sequences are not carried; identity columns are, where the target numbers rows"
	case "SqlIndex":
		return "the index is over an expression or options the target cannot express"
	case "SqlExtendedProperty":
		return "extended properties other than bacport's own are not carried"
	case "SqlFilegroup", "SqlPartitionFunction", "SqlPartitionScheme", "SqlFullTextCatalog",
		"SqlFullTextIndex", "SqlDatabaseOptions":
		return "physical storage and server options have no meaning in the target engine"
	}
	return "the target engine has no equivalent of this SQL Server object"
}

// rawRows feeds a RawLoader and counts rows and bytes as the import's
// progress.
type rawRows struct {
	rows    *bacpac.Rows
	kinds   []bacpac.StoredKind
	counted func(bytes int64)
}

func (r *rawRows) Next() ([][]byte, error) {
	if !r.rows.NextRaw() {
		if err := r.rows.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	row := r.rows.RawValues()
	r.counted(rawRowBytes(r.kinds, row))
	return row, nil
}

func (r *rawRows) Kinds() []bacpac.StoredKind { return r.kinds }

func (r *rawRows) Decode(i int, b []byte) (any, error) { return r.rows.Decode(i, b) }

// rawRowBytes approximates rowBytes from stored values: text counts one
// byte per UTF-16 unit, as it does for ASCII, and fixed-width values their
// stored width.
func rawRowBytes(kinds []bacpac.StoredKind, row [][]byte) int64 {
	var n int64
	for i, b := range row {
		if kinds[i] == bacpac.StoredText {
			n += int64(len(b) / 2)
		} else {
			n += int64(len(b))
		}
	}
	return n
}
