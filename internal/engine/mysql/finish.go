package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// Finish adds the foreign keys, with checks off (the rows came from a
// consistent source), in one ALTER TABLE per table, then moves each
// AUTO_INCREMENT that needs it past the loaded maximum. What MySQL cannot
// express is returned as Skipped, with what CreateTables reported; the
// package's views, code and principals are listed by engine.Import, once.
func (tg *target) Finish(ctx context.Context, m *bacpac.Model) ([]engine.Skipped, error) {
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("add foreign keys: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET foreign_key_checks = 0"); err != nil {
		return nil, fmt.Errorf("add foreign keys: %w", err)
	}
	for _, t := range m.Tables {
		tg.mu.Lock()
		p := tg.plans[t]
		tg.mu.Unlock()
		if p == nil {
			continue
		}
		if err := tg.addForeignKeys(ctx, c, m, t, p); err != nil {
			return nil, err
		}
		if err := tg.moveAutoIncrement(ctx, c, t, p); err != nil {
			return nil, err
		}
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]engine.Skipped{}, tg.skipped...), nil
}

func (tg *target) addForeignKeys(ctx context.Context, c *sql.Conn, m *bacpac.Model,
	t *bacpac.Table, p *tablePlan) error {
	var items []item
	for _, fk := range t.ForeignKeys {
		name := modelName(t) + ".[" + fk.Name + "]"
		ref := m.Table(fk.RefSchema, fk.RefTable)
		if ref == nil || tg.plans[ref] == nil {
			tg.skip("foreign key", name, "the referenced table ["+fk.RefSchema+"].["+fk.RefTable+
				"] is not in the package")
			continue
		}
		if fk.OnDelete == bacpac.SetDefault || fk.OnUpdate == bacpac.SetDefault {
			tg.skip("foreign key", name, "InnoDB does not support ON DELETE/UPDATE SET DEFAULT")
			continue
		}
		cols := make([]string, len(fk.Columns))
		for i, col := range fk.Columns {
			cols[i] = quoteIdent(col)
		}
		refCols := make([]string, len(fk.RefColumns))
		for i, col := range fk.RefColumns {
			refCols[i] = quoteIdent(col)
		}
		items = append(items, item{kind: "foreign key", name: fk.Name,
			clause: "CONSTRAINT " + quoteIdent(shortName(fk.Name)) + " FOREIGN KEY (" +
				strings.Join(cols, ", ") + ") REFERENCES " + quoteIdent(tg.plans[ref].name) +
				" (" + strings.Join(refCols, ", ") + ") ON DELETE " + actionSQL(fk.OnDelete) +
				" ON UPDATE " + actionSQL(fk.OnUpdate)})
	}
	if len(items) == 0 {
		return nil
	}
	clauses := make([]string, len(items))
	for i, it := range items {
		clauses[i] = "ADD " + it.clause
	}
	_, err := c.ExecContext(ctx, "ALTER TABLE "+quoteIdent(p.name)+" "+strings.Join(clauses, ", "))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("add foreign keys to %s: %w", modelName(t), err)
	}
	for _, it := range items {
		tg.addItem(ctx, c, t, p, it)
	}
	return nil
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

// moveAutoIncrement makes the next AUTO_INCREMENT value follow the
// loaded maximum. InnoDB already moves the counter past explicit values it
// stores, so only a seed above the data needs a statement (each one is a
// slow DDL).
func (tg *target) moveAutoIncrement(ctx context.Context, c *sql.Conn, t *bacpac.Table,
	p *tablePlan) error {
	if p.identity == "" {
		return nil
	}
	var seed int64 = 1
	for _, col := range t.Columns {
		if col.Name == p.identity && col.Identity != nil {
			seed = col.Identity.Seed
		}
	}
	if seed <= 1 {
		return nil
	}
	var maxVal sql.NullInt64
	q := "SELECT MAX(" + quoteIdent(p.identity) + ") FROM " + quoteIdent(p.name)
	if err := c.QueryRowContext(ctx, q).Scan(&maxVal); err != nil {
		return fmt.Errorf("read identity maximum of %s: %w", modelName(t), err)
	}
	if maxVal.Valid && maxVal.Int64 >= seed {
		return nil
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d",
		quoteIdent(p.name), seed)); err != nil {
		return fmt.Errorf("move identity of %s: %w", modelName(t), err)
	}
	return nil
}
