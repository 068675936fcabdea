package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/bacport/bacport/internal/bacpac"
)

// maxRowBytes is kept under MySQL's 65,535-byte row size limit.
const maxRowBytes = 65000

// maxKeyBytes is InnoDB's index key limit (DYNAMIC rows, 16 KiB pages).
const maxKeyBytes = 3072

// CreateTables creates every table with its columns, defaults, primary
// key, unique keys, indexes and check constraints in one CREATE TABLE.
//
// The primary key is inline because InnoDB stores rows in primary-key
// order: adding it after the load would rebuild the table. Secondary
// indexes are inline too, as myloader does by default: each DDL statement
// costs tens of milliseconds of dictionary and log flushes here, which
// dominates on packages of many small tables, and checks declared before
// the load are enforced row by row. Foreign keys wait for Finish. When the
// server refuses the whole statement, the table is created with columns
// and primary key only and every other item is added on its own, so the
// ones MySQL cannot express are reported instead of failing the import.
func (tg *target) CreateTables(ctx context.Context, m *bacpac.Model) error {
	tg.assignNames(m)
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	defer c.Close()
	for _, t := range m.Tables {
		p, err := tg.plan(t)
		if err != nil {
			return err
		}
		tg.mu.Lock()
		tg.plans[t] = p
		tg.mu.Unlock()
		if err := tg.createTable(ctx, c, t, p); err != nil {
			return err
		}
	}
	return nil
}

// execConn is the part of *sql.Conn DDL runs through.
type execConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// plan decides each column's MySQL type.
func (tg *target) plan(t *bacpac.Table) (*tablePlan, error) {
	p := &tablePlan{name: tg.tableName(t.Schema, t.Name), byName: map[string]*colPlan{}}
	var cps []*colPlan
	for _, c := range t.Columns {
		if c.Computed != "" && !isMySQLType(c) {
			tg.skip("computed column", modelName(t)+".["+c.Name+"]",
				"T-SQL expression "+c.Computed+" is not translated to MySQL")
			continue
		}
		cp, err := tg.planColumn(c)
		if err != nil {
			return nil, fmt.Errorf("plan table %s: %w", modelName(t), err)
		}
		if c.Computed == "" {
			p.cols = append(p.cols, cp)
		}
		p.created = append(p.created, c)
		p.byName[strings.ToLower(c.Name)] = cp
		cps = append(cps, cp)
	}
	fitRowSize(cps)
	return p, nil
}

func isMySQLType(c *bacpac.Column) bool {
	v, ok := c.Property(bacpac.SourceTypeProperty)
	return ok && strings.HasPrefix(v, sourcePrefix)
}

// planColumn picks the MySQL type: the recorded one when the column came
// from MySQL, the documented mapping otherwise.
func (tg *target) planColumn(c *bacpac.Column) (*colPlan, error) {
	cp := &colPlan{name: c.Name, src: c.Type}
	if isMySQLType(c) {
		v, _ := c.Property(bacpac.SourceTypeProperty)
		cp.t = parseType(strings.TrimPrefix(v, sourcePrefix))
		cp.isExact = true
	} else {
		ddl, err := tg.mapType(c)
		if err != nil {
			return nil, err
		}
		cp.t = parseType(ddl)
		switch c.Type.Name {
		case "char", "nchar", "varchar", "nvarchar", "binary", "varbinary":
			if !c.Type.Max {
				cp.maxLen = c.Type.Length
			}
		}
	}
	switch cp.t.base {
	case "char", "varchar", "binary", "varbinary":
		if cp.maxLen == 0 {
			cp.maxLen = cp.t.arg(0, 1)
		}
	}
	cp.viaVar = cp.t.base == "bit"
	switch cp.t.base {
	case "bit", "decimal", "uuid", "tinyint", "smallint", "mediumint", "int", "bigint",
		"year", "float", "double", "date", "datetime", "timestamp", "time":
		cp.formatAll = true
	}
	return cp, nil
}

// fitRowSize turns the widest mapped varchar/varbinary columns into
// TEXT/BLOB until the row fits MySQL's row size limit. The declared
// length is still enforced on load.
func fitRowSize(plans []*colPlan) {
	total := 0
	for _, cp := range plans {
		total += cp.t.rowBytes()
	}
	for total > maxRowBytes {
		var widest *colPlan
		for _, cp := range plans {
			if cp.isExact || (cp.t.base != "varchar" && cp.t.base != "varbinary") {
				continue
			}
			if widest == nil || cp.t.rowBytes() > widest.t.rowBytes() {
				widest = cp
			}
		}
		if widest == nil || widest.t.rowBytes() <= 256 {
			return
		}
		total -= widest.t.rowBytes() - 12
		if widest.t.base == "varchar" {
			widest.t = parseType("mediumtext")
		} else {
			widest.t = parseType("mediumblob")
		}
	}
}

func (tg *target) columnDef(t *bacpac.Table, c *bacpac.Column, cp *colPlan, p *tablePlan,
	translated bool) string {
	def := quoteIdent(c.Name) + " " + cp.t.ddl
	if c.Computed != "" {
		def += " AS (" + c.Computed + ")"
		if c.Persisted {
			def += " STORED"
		} else {
			def += " VIRTUAL"
		}
		return def
	}
	if !c.Nullable {
		def += " NOT NULL"
	} else if cp.t.base == "timestamp" {
		def += " NULL"
	}
	if c.Identity != nil {
		switch cp.t.base {
		case "tinyint", "smallint", "mediumint", "int", "bigint":
			def += " AUTO_INCREMENT"
			p.identity = c.Name
		default:
			if !translated {
				break
			}
			tg.skip("identity", modelName(t)+".["+c.Name+"]",
				"MySQL has AUTO_INCREMENT only on integer columns, not "+cp.t.ddl)
		}
	}
	if cp.isExact || translated {
		if expr, ok := tg.defaultExpr(t, c, cp, translated); ok {
			def += " DEFAULT " + expr
		}
	}
	if v, ok := c.Property(propOnUpdate); ok && cp.isExact {
		def += " ON UPDATE " + v
	}
	if v, ok := tableProperty(t, propColumnCheck+c.Name); ok && cp.isExact {
		def += " CHECK (" + v + ")"
	}
	return def
}

// defaultExpr returns the column default in MySQL syntax.
func (tg *target) defaultExpr(t *bacpac.Table, c *bacpac.Column, cp *colPlan,
	report bool) (string, bool) {
	if v, ok := c.Property(propDefault); ok && cp.isExact {
		if numberLit.MatchString(v) || strings.HasPrefix(v, "'") ||
			strings.HasPrefix(strings.ToLower(v), "b'") ||
			strings.HasPrefix(strings.ToLower(v), "current_timestamp") {
			return v, true
		}
		return "(" + v + ")", true
	}
	if c.Default == nil {
		return "", false
	}
	expr, err := tsqlDefault(c.Default.Expression, cp.t)
	if err != nil {
		if report {
			tg.skip("default constraint", modelName(t)+".["+c.Name+"]", err.Error())
		}
		return "", false
	}
	return expr, true
}

// item is one key, index or check of a table: its clause inside CREATE
// TABLE (ALTER TABLE … ADD takes the same text) and its name for reports.
type item struct {
	kind, name, clause string
	// prefixable marks a plain index, which may fall back to column
	// prefixes when its key is too long.
	prefixable bool
	cols       []bacpac.IndexColumn
}

// items lists the unique keys, indexes and checks of a table, reporting
// the ones that cannot be expressed at all.
func (tg *target) items(t *bacpac.Table, p *tablePlan) []item {
	var out []item
	for _, k := range t.Uniques {
		out = append(out, item{kind: "unique constraint", name: k.Name, cols: k.Columns,
			clause: "UNIQUE KEY " + quoteIdent(shortName(k.Name)) + " (" + keyColumns(k.Columns) + ")"})
	}
	for _, x := range t.Indexes {
		if exact, ok := tableProperty(t, propIndex+x.Name); ok {
			out = append(out, item{kind: "index", name: x.Name, clause: exact})
			continue
		}
		name := modelName(t) + ".[" + x.Name + "]"
		if x.Filter != "" && !(x.Unique && notNullFilter(x.Filter, x.Columns)) {
			tg.skip("filtered index", name, "MySQL has no filtered indexes (WHERE "+x.Filter+")")
			continue
		}
		if len(x.Included) > 0 {
			tg.skip("index included columns", name, "MySQL indexes have no INCLUDE columns; "+
				"the index is created without "+strings.Join(x.Included, ", "))
		}
		kw := "KEY "
		if x.Unique {
			kw = "UNIQUE KEY "
		}
		out = append(out, item{kind: "index", name: x.Name, cols: x.Columns, prefixable: !x.Unique,
			clause: kw + quoteIdent(shortName(x.Name)) + " (" + keyColumns(x.Columns) + ")"})
	}
	for _, ck := range t.Checks {
		if _, inline := tableProperty(t, propColumnCheck+ck.Name); inline {
			continue
		}
		expr, exact := tableProperty(t, propCheck+ck.Name)
		if !exact {
			var err error
			if expr, err = tsqlCheck(stripParens(ck.Expression)); err != nil {
				tg.skip("check constraint", modelName(t)+".["+ck.Name+"]", err.Error())
				continue
			}
		}
		out = append(out, item{kind: "check constraint", name: ck.Name,
			clause: "CONSTRAINT " + quoteIdent(shortName(ck.Name)) + " CHECK (" + expr + ")"})
	}
	// Checks exported from MySQL without a T-SQL form are only in the
	// properties; a MySQL import restores them from there.
	for _, p := range t.Properties {
		name, ok := strings.CutPrefix(p.Name, propCheck)
		if !ok || hasCheck(t, name) {
			continue
		}
		out = append(out, item{kind: "check constraint", name: name,
			clause: "CONSTRAINT " + quoteIdent(shortName(name)) + " CHECK (" + p.Value + ")"})
	}
	return out
}

func hasCheck(t *bacpac.Table, name string) bool {
	for _, ck := range t.Checks {
		if ck.Name == name {
			return true
		}
	}
	return false
}

func (tg *target) columnDefs(t *bacpac.Table, p *tablePlan, translated bool) []string {
	p.identity = ""
	defs := make([]string, len(p.created))
	for i, c := range p.created {
		defs[i] = tg.columnDef(t, c, p.byName[strings.ToLower(c.Name)], p, translated)
	}
	return defs
}

func (tg *target) createTable(ctx context.Context, c execConn, t *bacpac.Table, p *tablePlan) error {
	var pk string
	if t.PrimaryKey != nil {
		pk = "PRIMARY KEY (" + keyColumns(t.PrimaryKey.Columns) + ")"
	}
	build := func(cols []string, withPK bool, items []item) string {
		defs := append([]string{}, cols...)
		if withPK && pk != "" {
			defs = append(defs, pk)
		}
		if p.identity != "" && !(withPK && pkLeads(t.PrimaryKey, p.identity)) {
			// AUTO_INCREMENT needs an index that starts with the column.
			defs = append(defs, "KEY "+quoteIdent(shortName("ix_"+p.identity))+" ("+
				quoteIdent(p.identity)+")")
		}
		for _, it := range items {
			defs = append(defs, it.clause)
		}
		return "CREATE TABLE " + quoteIdent(p.name) + " (\n  " + strings.Join(defs, ",\n  ") +
			"\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	}
	items := tg.items(t, p)
	cols := tg.columnDefs(t, p, true)
	_, err := c.ExecContext(ctx, build(cols, true, items))
	if err == nil {
		tg.madeTable(p)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("create table %s: %w", modelName(t), err)
	}

	// Something was refused: columns and primary key first, then each item.
	_, err = c.ExecContext(ctx, build(cols, true, nil))
	if tooLong(err) && pk != "" {
		p.pkDeferred = true
		_, err = c.ExecContext(ctx, build(cols, false, nil))
	}
	if err != nil && ctx.Err() == nil {
		// A translated default may be what MySQL refuses: leave them out
		// and add them one by one.
		plain := tg.columnDefs(t, p, false)
		if _, err2 := c.ExecContext(ctx, build(plain, !p.pkDeferred, nil)); err2 == nil {
			err = nil
			tg.addDefaults(ctx, c, t, p)
		}
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", modelName(t), err)
	}
	tg.madeTable(p)
	if p.pkDeferred {
		tg.addItem(ctx, c, t, p, item{kind: "primary key", name: t.PrimaryKey.Name,
			clause: "PRIMARY KEY (" + keyColumns(t.PrimaryKey.Columns) + ")"})
	}
	for _, it := range items {
		tg.addItem(ctx, c, t, p, it)
	}
	return nil
}

func (tg *target) madeTable(p *tablePlan) {
	tg.mu.Lock()
	tg.made = append(tg.made, p.name)
	tg.mu.Unlock()
}

func tooLong(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && (me.Number == errTooLongKey || me.Number == errBlobKeyNoLength)
}

// addItem adds one key, index or check to the (empty) table, retrying a
// plain index with column prefixes when its key is too long, and reports
// what MySQL refuses.
func (tg *target) addItem(ctx context.Context, c execConn, t *bacpac.Table, p *tablePlan, it item) {
	alter := "ALTER TABLE " + quoteIdent(p.name) + " ADD "
	_, err := c.ExecContext(ctx, alter+it.clause)
	if tooLong(err) && it.prefixable {
		_, err = c.ExecContext(ctx, alter+"KEY "+quoteIdent(shortName(it.name))+" ("+
			prefixColumns(it.cols, p)+")")
	}
	if err != nil {
		tg.skip(it.kind, modelName(t)+".["+it.name+"]", "MySQL refused it: "+err.Error())
	}
}

// prefixColumns lists index columns with prefix lengths on the string and
// binary ones, sized so the key fits InnoDB's limit. For a non-unique
// index that only changes how selective the index is, not what it allows.
func prefixColumns(cols []bacpac.IndexColumn, p *tablePlan) string {
	long := 0
	for _, c := range cols {
		if cp := p.byName[strings.ToLower(c.Name)]; cp != nil && cp.t.rowBytes() > 64 {
			long++
		}
	}
	n := (maxKeyBytes - 64*len(cols)) / 4 / max(long, 1)
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteIdent(c.Name)
		cp := p.byName[strings.ToLower(c.Name)]
		switch {
		case cp == nil || cp.t.rowBytes() <= 64:
		case (cp.t.base == "varchar" || cp.t.base == "varbinary") && cp.t.arg(0, 1) <= n:
		default:
			parts[i] += fmt.Sprintf("(%d)", n)
		}
		if c.Descending {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// addDefaults adds translated defaults one column at a time after a
// CREATE TABLE without them, reporting the ones MySQL refuses.
func (tg *target) addDefaults(ctx context.Context, c execConn, t *bacpac.Table, p *tablePlan) {
	for _, col := range p.created {
		cp := p.byName[strings.ToLower(col.Name)]
		if cp.isExact || col.Default == nil || col.Computed != "" {
			continue
		}
		expr, ok := tg.defaultExpr(t, col, cp, false)
		if !ok {
			continue
		}
		q := "ALTER TABLE " + quoteIdent(p.name) + " ALTER COLUMN " + quoteIdent(col.Name) +
			" SET DEFAULT " + expr
		if _, err := c.ExecContext(ctx, q); err != nil {
			tg.skip("default constraint", modelName(t)+".["+col.Name+"]",
				"MySQL refused "+col.Default.Expression+": "+err.Error())
		}
	}
}

func pkLeads(k *bacpac.Key, col string) bool {
	return k != nil && len(k.Columns) > 0 && k.Columns[0].Name == col
}

func keyColumns(cols []bacpac.IndexColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteIdent(c.Name)
		if c.Descending {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

func tableProperty(t *bacpac.Table, name string) (string, bool) {
	for _, p := range t.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
