package engine

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
)

// progressEvery is how many rows pass between PhaseData events of a table.
const progressEvery = 10_000

// Export writes the database src is opened on as a package to out: the
// model first, then the tables, opts.Parallel at a time, each streamed
// from the Source into its own TableWriter. On error the package written
// so far is incomplete and must be discarded; src is not closed.
func Export(ctx context.Context, src Source, out io.Writer, opts ExportOptions) (ExportReport, error) {
	start := time.Now()
	var rep ExportReport
	emit := progressFunc(opts.Progress)

	emit(Progress{Phase: PhaseSchema})
	m, err := src.Model(ctx)
	if err != nil {
		return rep, fmt.Errorf("read schema: %w", err)
	}
	if o, ok := src.(Omitter); ok {
		rep.Omitted = o.Omitted()
	}
	w, err := bacpac.NewWriter(out, m, bacpac.WriterOptions{
		PartSize: opts.PartSize,
		Level:    opts.Level,
		TempDir:  opts.TempDir,
		Source: bacpac.ServerInfo{
			Server:   opts.Server,
			Database: opts.Database,
			Engine:   opts.Engine,
		},
	})
	if err != nil {
		return rep, fmt.Errorf("start package: %w", err)
	}

	rep.Tables = make([]TableReport, len(m.Tables))
	changed := make([][]Changed, len(m.Tables))
	var total totals
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(Parallelism(opts.Parallel))
	for i, t := range m.Tables {
		rep.Tables[i] = TableReport{Schema: t.Schema, Name: t.Name}
		g.Go(func() error {
			return exportTable(gctx, src, w, t, &rep.Tables[i], &changed[i], &total, emit, opts)
		})
	}
	if err := g.Wait(); err != nil {
		w.Abort()
		return rep, err
	}
	if err := w.Close(); err != nil {
		w.Abort()
		return rep, fmt.Errorf("finish package: %w", err)
	}
	rep.Rows, rep.Bytes = total.rows.Load(), total.bytes.Load()
	for _, c := range changed {
		rep.Changed = append(rep.Changed, c...)
	}
	rep.Elapsed = time.Since(start)
	emit(Progress{Phase: PhaseDone, Rows: rep.Rows, Bytes: rep.Bytes})
	return rep, nil
}

type totals struct{ rows, bytes atomic.Int64 }

func exportTable(ctx context.Context, src Source, w *bacpac.Writer, t *bacpac.Table,
	tr *TableReport, changed *[]Changed, total *totals, emit func(Progress), opts ExportOptions) error {
	name := t.Schema + "." + t.Name
	tw, err := w.Table(t)
	if err != nil {
		return fmt.Errorf("export table %s: %w", name, err)
	}
	var nulled []int64 // per data column, with opts.Lossy
	cols := t.DataColumns()
	if opts.Lossy {
		nulled = make([]int64, len(cols))
	}
	started := time.Now()
	err = src.Rows(ctx, t, func(row []any) error {
		if nulled != nil {
			nullNonFinite(row, cols, nulled)
		}
		if err := tw.WriteRow(row); err != nil {
			return err
		}
		tr.Rows++
		tr.Bytes += rowBytes(row)
		if tr.Rows%progressEvery == 0 {
			emit(Progress{Phase: PhaseData, Table: name, Rows: tr.Rows, Bytes: tr.Bytes})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export table %s: %w", name, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("export table %s: %w", name, err)
	}
	for i, n := range nulled {
		if n > 0 {
			*changed = append(*changed, Changed{Table: name, Column: cols[i].Name, Values: n,
				Reason: "NaN or infinite float, which SQL Server has not, written as NULL"})
		}
	}
	total.rows.Add(tr.Rows)
	total.bytes.Add(tr.Bytes)
	emit(Progress{Phase: PhaseTable, Table: name, Rows: tr.Rows, Bytes: tr.Bytes})
	if opts.Logger != nil {
		opts.Logger.Debug("table exported", "table", name, "rows", tr.Rows,
			"bytes", tr.Bytes, "elapsed", time.Since(started))
	}
	return nil
}

// nullNonFinite replaces NaN and infinite floats in nullable columns by
// NULL, counting them per column. NOT NULL columns keep them, so the
// package writer refuses them naming the row.
func nullNonFinite(row []any, cols []*bacpac.Column, nulled []int64) {
	for i, v := range row {
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			continue
		}
		if (math.IsNaN(f) || math.IsInf(f, 0)) && i < len(cols) && cols[i].Nullable {
			row[i] = nil
			nulled[i]++
		}
	}
}

func progressFunc(fn func(Progress)) func(Progress) {
	if fn == nil {
		return func(Progress) {}
	}
	return fn
}

// rowBytes sizes a row's values: strings and binaries by length, other
// values by their width in a BCP part.
func rowBytes(row []any) int64 {
	var n int64
	for _, v := range row {
		switch x := v.(type) {
		case nil:
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		case bacpac.Variant:
			n += int64(len(x))
		case bool:
			n++
		case bacpac.Decimal:
			n += 17
		case bacpac.UUID:
			n += 16
		default:
			n += 8
		}
	}
	return n
}
