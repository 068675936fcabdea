package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// finishParallel is how many tables get their keys and indexes at once.
const finishParallel = 4

// Finish adds keys, indexes, checks and defaults table by table (several
// tables at once), then foreign keys, then moves identity sequences past
// the loaded values. What the target cannot express is returned as
// Skipped.
func (t *target) Finish(ctx context.Context, m *bacpac.Model) ([]engine.Skipped, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(finishParallel)
	for _, tb := range m.Tables {
		g.Go(func() error { return t.finishTable(gctx, tb) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, tb := range m.Tables {
		if err := t.foreignKeys(ctx, tb); err != nil {
			return nil, err
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(finishParallel)
	for _, tb := range m.Tables {
		g.Go(func() error { return t.moveSequences(gctx, tb) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]engine.Skipped(nil), t.skipped...), nil
}

func (t *target) lookup(tb *bacpac.Table) (*loadTable, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lt := t.tables[[2]string{tb.Schema, tb.Name}]
	if lt == nil {
		return nil, fmt.Errorf("finish %s.%s: table was not created", tb.Schema, tb.Name)
	}
	return lt, nil
}

// objectName is a constraint's or index's name: its own, the server's
// generated one, or fallback.
func objectName(name, system, fallback string) string {
	for _, n := range []string{name, system} {
		if n == "" {
			continue
		}
		if i := strings.LastIndex(n, "].["); i >= 0 {
			n = n[i+3:]
		}
		return strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")
	}
	return fallback
}

func columnList(cols []bacpac.IndexColumn, withOrder bool) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteIdent(c.Name)
		if withOrder && c.Descending {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

func quoteAll(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = quoteIdent(n)
	}
	return strings.Join(parts, ", ")
}

// exec runs a DDL statement. A name already taken in the schema (index
// and constraint names are per schema in PostgreSQL, per table in SQL
// Server for indexes) is retried once with the table name in front.
func exec(ctx context.Context, pool *pgxpool.Pool, build func(name string) string,
	name, table string) error {
	_, err := pool.Exec(ctx, build(name))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "42710") {
		alt := table + "_" + name
		if len(alt) > 63 {
			alt = alt[:63]
		}
		_, err = pool.Exec(ctx, build(alt))
	}
	return err
}

func (t *target) finishTable(ctx context.Context, tb *bacpac.Table) error {
	lt, err := t.lookup(tb)
	if err != nil {
		return err
	}
	if lt.fromPG {
		return t.finishFromPG(ctx, tb, lt)
	}
	qname := qualified(lt.schema, lt.name)
	where := tb.Schema + "." + tb.Name
	if pk := tb.PrimaryKey; pk != nil {
		name := objectName(pk.Name, pk.SystemName, tb.Name+"_pkey")
		err := exec(ctx, t.pool, func(n string) string {
			return "ALTER TABLE " + qname + " ADD CONSTRAINT " + quoteIdent(n) +
				" PRIMARY KEY (" + columnList(pk.Columns, false) + ")"
		}, name, tb.Name)
		if err != nil {
			return fmt.Errorf("add primary key of %s: %w", where, err)
		}
	}
	for i, u := range tb.Uniques {
		name := objectName(u.Name, u.SystemName, fmt.Sprintf("%s_key%d", tb.Name, i+1))
		err := exec(ctx, t.pool, func(n string) string {
			return "ALTER TABLE " + qname + " ADD CONSTRAINT " + quoteIdent(n) +
				" UNIQUE (" + columnList(u.Columns, false) + ")"
		}, name, tb.Name)
		if err != nil {
			return fmt.Errorf("add unique constraint %s of %s: %w", name, where, err)
		}
	}
	isBool := boolColumns(tb)
	for _, ix := range tb.Indexes {
		t.addIndex(ctx, tb, qname, ix, isBool)
	}
	for i, ck := range tb.Checks {
		name := objectName(ck.Name, ck.SystemName, fmt.Sprintf("%s_check%d", tb.Name, i+1))
		expr, ok := tsqlToPG(ck.Expression, isBool)
		if !ok {
			t.skip("check constraint", where+"."+name,
				"the T-SQL expression "+ck.Expression+" has no PostgreSQL translation")
			continue
		}
		err := exec(ctx, t.pool, func(n string) string {
			return "ALTER TABLE " + qname + " ADD CONSTRAINT " + quoteIdent(n) + " CHECK (" + expr + ")"
		}, name, tb.Name)
		if err != nil {
			t.skip("check constraint", where+"."+name, "PostgreSQL rejected CHECK ("+
				expr+"), translated from "+ck.Expression+": "+err.Error())
		}
	}
	for _, col := range tb.Columns {
		t.addDefaultOrComputed(ctx, tb, qname, col, isBool)
	}
	return nil
}

func boolColumns(tb *bacpac.Table) func(string) bool {
	set := map[string]bool{}
	for _, c := range tb.Columns {
		if c.Type.Name == "bit" {
			set[strings.ToLower(c.Name)] = true
		}
	}
	return func(name string) bool { return set[strings.ToLower(name)] }
}

func (t *target) addIndex(ctx context.Context, tb *bacpac.Table, qname string,
	ix *bacpac.Index, isBool func(string) bool) {
	where := tb.Schema + "." + tb.Name + "." + ix.Name
	name := objectName(ix.Name, "", tb.Name+"_idx")
	sql := " ON " + qname + " (" + columnList(ix.Columns, true) + ")"
	if len(ix.Included) > 0 {
		sql += " INCLUDE (" + quoteAll(ix.Included) + ")"
	}
	if ix.Filter != "" {
		pred, ok := tsqlToPG(ix.Filter, isBool)
		if !ok {
			t.skip("index", where, "the filter "+ix.Filter+" has no PostgreSQL translation")
			return
		}
		sql += " WHERE " + pred
	}
	unique := ""
	if ix.Unique {
		unique = "UNIQUE "
	}
	err := exec(ctx, t.pool, func(n string) string {
		return "CREATE " + unique + "INDEX " + quoteIdent(n) + sql
	}, name, tb.Name)
	if err != nil {
		t.skip("index", where, "PostgreSQL rejected it: "+err.Error())
	}
}

func (t *target) addDefaultOrComputed(ctx context.Context, tb *bacpac.Table, qname string,
	col *bacpac.Column, isBool func(string) bool) {
	where := tb.Schema + "." + tb.Name + "." + col.Name
	if col.Computed != "" {
		typ, typOK := pgTypeFor(col.Type)
		expr, ok := tsqlToPG(col.Computed, isBool)
		if !ok || !typOK {
			t.skip("computed column", where,
				"the T-SQL expression "+col.Computed+" has no PostgreSQL translation")
			return
		}
		_, err := t.pool.Exec(ctx, "ALTER TABLE "+qname+" ADD COLUMN "+quoteIdent(col.Name)+
			" "+typ+" GENERATED ALWAYS AS ("+expr+") STORED")
		if err != nil {
			t.skip("computed column", where, "PostgreSQL rejected "+expr+": "+err.Error())
		}
		return
	}
	if col.Default == nil || col.Identity != nil {
		return
	}
	typ, _ := pgTypeFor(col.Type)
	expr, ok := defaultToPG(col.Default.Expression, typ)
	if !ok {
		if strings.EqualFold(stripParens(col.Default.Expression), "null") {
			return
		}
		t.skip("default", where, "the T-SQL expression "+col.Default.Expression+
			" has no PostgreSQL translation")
		return
	}
	_, err := t.pool.Exec(ctx, "ALTER TABLE "+qname+" ALTER COLUMN "+quoteIdent(col.Name)+
		" SET DEFAULT "+expr)
	if err != nil {
		t.skip("default", where, "PostgreSQL rejected "+expr+", translated from "+
			col.Default.Expression+": "+err.Error())
	}
}

// finishFromPG restores a table exported from PostgreSQL from the exact
// definitions its properties carry.
func (t *target) finishFromPG(ctx context.Context, tb *bacpac.Table, lt *loadTable) error {
	qname := qualified(lt.schema, lt.name)
	where := tb.Schema + "." + tb.Name
	// Primary key and unique constraints first: other constraints and
	// foreign keys may depend on them.
	for _, pass := range []string{"PRIMARY KEY", "UNIQUE", "CHECK", "EXCLUDE"} {
		for _, p := range tb.Properties {
			name, ok := strings.CutPrefix(p.Name, PropConstraintPrefix)
			if !ok || !strings.HasPrefix(p.Value, pass) {
				continue
			}
			_, err := t.pool.Exec(ctx, "ALTER TABLE "+qname+" ADD CONSTRAINT "+
				quoteIdent(name)+" "+p.Value)
			if err != nil {
				return fmt.Errorf("add constraint %s to %s: %w", name, where, err)
			}
		}
	}
	for _, p := range tb.Properties {
		name, ok := strings.CutPrefix(p.Name, PropIndexPrefix)
		if !ok {
			continue
		}
		if _, err := t.pool.Exec(ctx, p.Value); err != nil {
			t.skip("index", where+"."+name, "PostgreSQL rejected "+p.Value+": "+err.Error())
		}
	}
	for _, col := range tb.Columns {
		def, ok := col.Property(PropDefault)
		_, ident := col.Property(PropIdentity)
		if !ok || ident || col.Computed != "" ||
			(col.Identity != nil && strings.HasPrefix(def, "nextval(")) {
			continue
		}
		_, err := t.pool.Exec(ctx, "ALTER TABLE "+qname+" ALTER COLUMN "+quoteIdent(col.Name)+
			" SET DEFAULT "+def)
		if err != nil {
			t.skip("default", where+"."+col.Name, "PostgreSQL rejected "+def+": "+err.Error())
		}
	}
	return nil
}

func (t *target) foreignKeys(ctx context.Context, tb *bacpac.Table) error {
	lt, err := t.lookup(tb)
	if err != nil {
		return err
	}
	qname := qualified(lt.schema, lt.name)
	where := tb.Schema + "." + tb.Name
	if lt.fromPG {
		for _, p := range tb.Properties {
			name, ok := strings.CutPrefix(p.Name, PropConstraintPrefix)
			if !ok || !strings.HasPrefix(p.Value, "FOREIGN KEY") {
				continue
			}
			_, err := t.pool.Exec(ctx, "ALTER TABLE "+qname+" ADD CONSTRAINT "+
				quoteIdent(name)+" "+p.Value)
			if err != nil {
				t.skip("foreign key", where+"."+name, "PostgreSQL rejected it: "+err.Error())
			}
		}
		return nil
	}
	for i, fk := range tb.ForeignKeys {
		name := objectName(fk.Name, fk.SystemName, fmt.Sprintf("%s_fkey%d", tb.Name, i+1))
		ref := qualified(t.schemaOf(fk.RefSchema), fk.RefTable)
		sql := " FOREIGN KEY (" + quoteAll(fk.Columns) + ") REFERENCES " + ref +
			" (" + quoteAll(fk.RefColumns) + ") ON DELETE " + actionSQL(fk.OnDelete) +
			" ON UPDATE " + actionSQL(fk.OnUpdate)
		err := exec(ctx, t.pool, func(n string) string {
			return "ALTER TABLE " + qname + " ADD CONSTRAINT " + quoteIdent(n) + sql
		}, name, tb.Name)
		if err != nil {
			t.skip("foreign key", where+"."+name, "PostgreSQL rejected it: "+err.Error())
		}
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

// moveSequences sets each identity or serial sequence so the next value
// follows the loaded ones.
func (t *target) moveSequences(ctx context.Context, tb *bacpac.Table) error {
	lt, err := t.lookup(tb)
	if err != nil {
		return err
	}
	qname := qualified(lt.schema, lt.name)
	for _, col := range tb.Columns {
		if col.Identity == nil {
			continue
		}
		agg := "max"
		if col.Identity.Increment < 0 {
			agg = "min"
		}
		sql := "SELECT setval(seq::regclass, v) FROM (SELECT pg_catalog.pg_get_serial_sequence($1, $2) AS seq, " +
			agg + "(" + quoteIdent(col.Name) + ") AS v FROM " + qname +
			") s WHERE seq IS NOT NULL AND v IS NOT NULL"
		if _, err := t.pool.Exec(ctx, sql, qname, col.Name); err != nil {
			return fmt.Errorf("move identity of %s.%s.%s: %w", tb.Schema, tb.Name, col.Name, err)
		}
	}
	return nil
}
