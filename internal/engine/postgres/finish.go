package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// finishParallel is how many tables get their keys and indexes at once.
const finishParallel = 4

// FinishTable adds a loaded table's keys, indexes, checks and defaults,
// while the import still loads other tables.
func (t *target) FinishTable(ctx context.Context, tb *bacpac.Table) error {
	if err := t.finishTable(ctx, tb); err != nil {
		return err
	}
	lt, err := t.lookup(tb)
	if err != nil {
		return err
	}
	t.mu.Lock()
	lt.finished = true
	t.mu.Unlock()
	return nil
}

// Finish adds keys, indexes, checks and defaults to the tables FinishTable
// has not finished (several tables at once), then foreign keys, then moves
// identity sequences past the loaded values. What the target cannot
// express is returned as Skipped.
func (t *target) Finish(ctx context.Context, m *bacpac.Model) ([]engine.Skipped, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(finishParallel)
	for _, tb := range m.Tables {
		lt, err := t.lookup(tb)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		done := lt.finished
		t.mu.Unlock()
		if !done {
			g.Go(func() error { return t.finishTable(gctx, tb) })
		}
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
	_, err := pool.Exec(ctx, build(shortName(name)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "42710") {
		_, err = pool.Exec(ctx, build(shortName(table+"_"+name)))
	}
	return err
}

// maxIdent is PostgreSQL's identifier length in bytes (NAMEDATALEN-1).
const maxIdent = 63

// shortName fits a name into PostgreSQL's 63 bytes. Longer names (SQL
// Server allows 128 characters) keep their start and get a hash of the
// whole name, so two long names that share a prefix stay distinct.
func shortName(name string) string {
	if len(name) <= maxIdent {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	cut := maxIdent - 9
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "_" + hex.EncodeToString(sum[:4])
}

// missingColumns names the columns of cols that the table does not have
// (computed columns that could not be translated).
func missingColumns(lt *loadTable, tb *bacpac.Table, cols []string) []string {
	have := map[string]bool{}
	for _, c := range lt.cols {
		have[c.name] = true
	}
	for _, c := range tb.Columns {
		if c.Computed != "" && !lt.skippedComputed[c.Name] {
			have[c.Name] = true
		}
	}
	var out []string
	for _, c := range cols {
		if !have[c] {
			out = append(out, c)
		}
	}
	return out
}

func keyNames(cols []bacpac.IndexColumn) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
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
	isBool := boolColumns(tb)
	for _, col := range tb.Columns {
		if col.Computed != "" {
			t.addComputed(ctx, tb, lt, qname, col, isBool)
		}
	}
	if pk := tb.PrimaryKey; pk != nil && t.columnsExist(lt, tb, "primary key", pk.Name, keyNames(pk.Columns)) {
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
		if !t.columnsExist(lt, tb, "unique constraint", name, keyNames(u.Columns)) {
			continue
		}
		err := exec(ctx, t.pool, func(n string) string {
			return "ALTER TABLE " + qname + " ADD CONSTRAINT " + quoteIdent(n) +
				" UNIQUE (" + columnList(u.Columns, false) + ")"
		}, name, tb.Name)
		if err != nil {
			return fmt.Errorf("add unique constraint %s of %s: %w", name, where, err)
		}
	}
	for _, ix := range tb.Indexes {
		cols := append(keyNames(ix.Columns), ix.Included...)
		if t.columnsExist(lt, tb, "index", ix.Name, cols) {
			t.addIndex(ctx, tb, qname, ix, isBool)
		}
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
		t.addDefault(ctx, tb, qname, col)
	}
	return nil
}

// columnsExist reports whether the table has every column an object
// needs, and records the object as skipped when it does not.
func (t *target) columnsExist(lt *loadTable, tb *bacpac.Table, kind, name string, cols []string) bool {
	missing := missingColumns(lt, tb, cols)
	if len(missing) == 0 {
		return true
	}
	t.skip(kind, tb.Schema+"."+tb.Name+"."+name, "it uses column "+
		strings.Join(missing, ", ")+", a computed column that was not created")
	return false
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

// addComputed adds a T-SQL computed column as a stored generated column
// when its expression translates, and reports it skipped otherwise.
func (t *target) addComputed(ctx context.Context, tb *bacpac.Table, lt *loadTable, qname string,
	col *bacpac.Column, isBool func(string) bool) {
	where := tb.Schema + "." + tb.Name + "." + col.Name
	fail := func(reason string) {
		t.mu.Lock()
		if lt.skippedComputed == nil {
			lt.skippedComputed = map[string]bool{}
		}
		lt.skippedComputed[col.Name] = true
		t.mu.Unlock()
		t.skip("computed column", where, reason)
	}
	expr, ok := tsqlToPG(col.Computed, isBool)
	if !ok {
		fail("the T-SQL expression " + col.Computed + " has no PostgreSQL translation")
		return
	}
	typ, err := t.expressionType(ctx, qname, expr)
	if err != nil {
		fail("PostgreSQL rejected " + expr + ": " + err.Error())
		return
	}
	_, err = t.pool.Exec(ctx, "ALTER TABLE "+qname+" ADD COLUMN "+quoteIdent(col.Name)+
		" "+typ+" GENERATED ALWAYS AS ("+expr+") STORED")
	if err != nil {
		fail("PostgreSQL rejected " + expr + ": " + err.Error())
	}
}

func (t *target) addDefault(ctx context.Context, tb *bacpac.Table, qname string, col *bacpac.Column) {
	where := tb.Schema + "." + tb.Name + "." + col.Name
	if col.Default == nil || col.Identity != nil || col.Computed != "" {
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
		if !t.columnsExist(lt, tb, "foreign key", name, fk.Columns) {
			continue
		}
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
		// Values before the seed (Umbraco keeps a user -1 below seed 1)
		// leave the sequence where it starts.
		agg, cmp := "max", ">="
		if col.Identity.Increment < 0 {
			agg, cmp = "min", "<="
		}
		sql := "SELECT setval(seq::regclass, v) FROM (SELECT pg_catalog.pg_get_serial_sequence($1, $2) AS seq, " +
			agg + "(" + quoteIdent(col.Name) + ") AS v FROM " + qname +
			") s WHERE seq IS NOT NULL AND v " + cmp + " $3"
		if _, err := t.pool.Exec(ctx, sql, qname, col.Name, col.Identity.Seed); err != nil {
			return fmt.Errorf("move identity of %s.%s.%s: %w", tb.Schema, tb.Name, col.Name, err)
		}
	}
	return nil
}

// expressionType asks the server which type an expression over the table
// has: the model gives computed columns no type of their own.
func (t *target) expressionType(ctx context.Context, qname, expr string) (string, error) {
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	sd, err := conn.Conn().Prepare(ctx, "", "SELECT ("+expr+") FROM "+qname)
	if err != nil {
		return "", err
	}
	f := sd.Fields[0]
	var typ string
	err = conn.QueryRow(ctx, "SELECT pg_catalog.format_type($1, $2)", f.DataTypeOID,
		f.TypeModifier).Scan(&typ)
	return typ, err
}
