package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// Finish adds the deferred primary keys, unique keys and indexes (one
// ALTER TABLE per table, tables in parallel), then the foreign keys with
// checks off (the data came from a consistent source), then moves each
// AUTO_INCREMENT past the loaded maximum. What MySQL cannot express is
// returned as Skipped.
func (tg *target) Finish(ctx context.Context, m *bacpac.Model) ([]engine.Skipped, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(tg.s.parallel)
	for _, t := range m.Tables {
		tg.mu.Lock()
		p := tg.plans[t]
		tg.mu.Unlock()
		if p == nil {
			continue
		}
		g.Go(func() error { return tg.addIndexes(gctx, t, p) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("add foreign keys: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET foreign_key_checks = 0"); err != nil {
		return nil, fmt.Errorf("add foreign keys: %w", err)
	}
	for _, t := range m.Tables {
		p := tg.plans[t]
		if p == nil {
			continue
		}
		for _, fk := range t.ForeignKeys {
			tg.addForeignKey(ctx, c, m, t, p, fk)
		}
		if err := tg.moveAutoIncrement(ctx, c, t, p); err != nil {
			return nil, err
		}
	}
	for _, o := range m.Objects {
		tg.skip(o.Kind, o.Name, "bacport does not translate this object to MySQL")
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]engine.Skipped{}, tg.skipped...), nil
}

// keyDef is one ADD clause and the name reports use for it.
type keyDef struct {
	kind, name, clause string
}

func (tg *target) addIndexes(ctx context.Context, t *bacpac.Table, p *tablePlan) error {
	var defs []keyDef
	if p.pkDeferred && t.PrimaryKey != nil {
		defs = append(defs, keyDef{"primary key", t.PrimaryKey.Name,
			"ADD PRIMARY KEY (" + keyColumns(t.PrimaryKey.Columns) + ")"})
	}
	for _, k := range t.Uniques {
		defs = append(defs, keyDef{"unique constraint", k.Name, "ADD UNIQUE KEY " +
			quoteIdent(shortName(k.Name)) + " (" + keyColumns(k.Columns) + ")"})
	}
	for _, x := range t.Indexes {
		if exact, ok := tableProperty(t, propIndex+x.Name); ok {
			defs = append(defs, keyDef{"index", x.Name, "ADD " + exact})
			continue
		}
		name := modelName(t) + ".[" + x.Name + "]"
		if x.Filter != "" && !(x.Unique && notNullFilter(x.Filter, x.Columns)) {
			tg.skip("filtered index", name, "MySQL has no filtered indexes (WHERE "+x.Filter+")")
			continue
		}
		if len(x.Included) > 0 {
			tg.skip("index included columns", name, "MySQL indexes have no INCLUDE columns; "+
				"the index is created on its key columns ("+strings.Join(x.Included, ", ")+
				") only")
		}
		kw := "ADD KEY "
		if x.Unique {
			kw = "ADD UNIQUE KEY "
		}
		defs = append(defs, keyDef{"index", x.Name,
			kw + quoteIdent(shortName(x.Name)) + " (" + keyColumns(x.Columns) + ")"})
	}
	if len(defs) == 0 {
		return nil
	}
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("add indexes to %s: %w", modelName(t), err)
	}
	defer c.Close()
	clauses := make([]string, len(defs))
	for i, d := range defs {
		clauses[i] = d.clause
	}
	alter := "ALTER TABLE " + quoteIdent(p.name) + " "
	if _, err := c.ExecContext(ctx, alter+strings.Join(clauses, ", ")); err == nil {
		return nil
	} else if ctx.Err() != nil {
		return err
	}
	// One of them was refused: add them one by one and report the ones
	// MySQL cannot build (keys too long, keys on TEXT/BLOB columns, …).
	for _, d := range defs {
		if _, err := c.ExecContext(ctx, alter+d.clause); err != nil {
			if ctx.Err() != nil {
				return err
			}
			tg.skip(d.kind, modelName(t)+".["+d.name+"]", "MySQL refused it: "+err.Error())
		}
	}
	return nil
}

func (tg *target) addForeignKey(ctx context.Context, c *sql.Conn, m *bacpac.Model,
	t *bacpac.Table, p *tablePlan, fk *bacpac.ForeignKey) {
	name := modelName(t) + ".[" + fk.Name + "]"
	ref := m.Table(fk.RefSchema, fk.RefTable)
	if ref == nil || tg.plans[ref] == nil {
		tg.skip("foreign key", name, "the referenced table ["+fk.RefSchema+"].["+fk.RefTable+
			"] is not in the package")
		return
	}
	if fk.OnDelete == bacpac.SetDefault || fk.OnUpdate == bacpac.SetDefault {
		tg.skip("foreign key", name, "InnoDB does not support ON DELETE/UPDATE SET DEFAULT")
		return
	}
	cols := make([]string, len(fk.Columns))
	for i, col := range fk.Columns {
		cols[i] = quoteIdent(col)
	}
	refCols := make([]string, len(fk.RefColumns))
	for i, col := range fk.RefColumns {
		refCols[i] = quoteIdent(col)
	}
	q := "ALTER TABLE " + quoteIdent(p.name) + " ADD CONSTRAINT " +
		quoteIdent(shortName(fk.Name)) + " FOREIGN KEY (" + strings.Join(cols, ", ") +
		") REFERENCES " + quoteIdent(tg.plans[ref].name) + " (" + strings.Join(refCols, ", ") +
		") ON DELETE " + actionSQL(fk.OnDelete) + " ON UPDATE " + actionSQL(fk.OnUpdate)
	if _, err := c.ExecContext(ctx, q); err != nil {
		tg.skip("foreign key", name, "MySQL refused it: "+err.Error())
	}
}

func actionSQL(a bacpac.Action) string {
	switch a {
	case bacpac.Cascade:
		return "CASCADE"
	case bacpac.SetNull:
		return "SET NULL"
	case bacpac.SetDefault:
		return "SET DEFAULT"
	}
	return "NO ACTION"
}

// moveAutoIncrement sets the next AUTO_INCREMENT value past the loaded
// maximum (InnoDB does this itself on load; this makes it explicit and
// covers a seed above the data).
func (tg *target) moveAutoIncrement(ctx context.Context, c *sql.Conn, t *bacpac.Table,
	p *tablePlan) error {
	if p.identity == "" {
		return nil
	}
	var maxVal sql.NullString
	q := "SELECT MAX(" + quoteIdent(p.identity) + ") FROM " + quoteIdent(p.name)
	if err := c.QueryRowContext(ctx, q).Scan(&maxVal); err != nil {
		return fmt.Errorf("read identity maximum of %s: %w", modelName(t), err)
	}
	next := "1"
	for _, col := range t.Columns {
		if col.Name == p.identity && col.Identity != nil && col.Identity.Seed > 1 {
			next = fmt.Sprint(col.Identity.Seed)
		}
	}
	if maxVal.Valid {
		next = "(" + maxVal.String + ") + 1"
		var n string
		if err := c.QueryRowContext(ctx, "SELECT "+next).Scan(&n); err != nil {
			return fmt.Errorf("compute next identity of %s: %w", modelName(t), err)
		}
		next = n
	}
	if _, err := c.ExecContext(ctx, "ALTER TABLE "+quoteIdent(p.name)+" AUTO_INCREMENT = "+
		next); err != nil {
		return fmt.Errorf("move identity of %s: %w", modelName(t), err)
	}
	return nil
}
