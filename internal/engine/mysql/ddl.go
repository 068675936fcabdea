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

// CreateTables creates every table with its columns, defaults and check
// constraints, and with its primary key inline: InnoDB stores rows in
// primary-key order, so adding the key after the load would rebuild the
// whole table. Secondary indexes, unique and foreign keys come in Finish.
func (tg *target) CreateTables(ctx context.Context, m *bacpac.Model) error {
	tg.assignNames(m)
	c, err := tg.pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	defer c.Close()
	for _, t := range m.Tables {
		p, cols, err := tg.plan(t)
		if err != nil {
			return err
		}
		tg.mu.Lock()
		tg.plans[t] = p
		tg.mu.Unlock()
		if err := tg.createTable(ctx, c, t, p, cols); err != nil {
			return err
		}
		tg.mu.Lock()
		tg.made = append(tg.made, p.name)
		tg.mu.Unlock()
		for _, ck := range t.Checks {
			tg.addCheck(ctx, c, t, p, ck)
		}
	}
	return nil
}

// execConn is the part of *sql.Conn DDL runs through.
type execConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// plan decides each column's MySQL type and definition.
func (tg *target) plan(t *bacpac.Table) (*tablePlan, []string, error) {
	p := &tablePlan{name: tg.tableName(t.Schema, t.Name)}
	type planned struct {
		c  *bacpac.Column
		cp *colPlan
	}
	var kept []planned
	var cps []*colPlan
	for _, c := range t.Columns {
		if c.Computed != "" && !isMySQLType(c) {
			tg.skip("computed column", modelName(t)+".["+c.Name+"]",
				"T-SQL expression "+c.Computed+" is not translated to MySQL")
			continue
		}
		cp, err := tg.planColumn(c)
		if err != nil {
			return nil, nil, fmt.Errorf("plan table %s: %w", modelName(t), err)
		}
		if c.Computed == "" {
			p.cols = append(p.cols, cp)
		}
		kept = append(kept, planned{c, cp})
		cps = append(cps, cp)
	}
	fitRowSize(cps)
	defs := make([]string, len(kept))
	for i, k := range kept {
		defs[i] = tg.columnDef(t, k.c, k.cp, p)
	}
	return p, defs, nil
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

func (tg *target) columnDef(t *bacpac.Table, c *bacpac.Column, cp *colPlan, p *tablePlan) string {
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
			tg.skip("identity", modelName(t)+".["+c.Name+"]",
				"MySQL has AUTO_INCREMENT only on integer columns, not "+cp.t.ddl)
		}
	}
	if expr, ok := tg.defaultExpr(t, c, cp); ok {
		def += " DEFAULT " + expr
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
func (tg *target) defaultExpr(t *bacpac.Table, c *bacpac.Column, cp *colPlan) (string, bool) {
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
		tg.skip("default constraint", modelName(t)+".["+c.Name+"]", err.Error())
		return "", false
	}
	return expr, true
}

func (tg *target) createTable(ctx context.Context, c execConn, t *bacpac.Table, p *tablePlan,
	cols []string) error {
	var pk string
	if t.PrimaryKey != nil {
		pk = "PRIMARY KEY (" + keyColumns(t.PrimaryKey.Columns) + ")"
	}
	build := func(withPK bool) string {
		defs := append([]string{}, cols...)
		if withPK && pk != "" {
			defs = append(defs, pk)
		}
		if p.identity != "" && !(withPK && pkLeads(t.PrimaryKey, p.identity)) {
			// AUTO_INCREMENT needs an index that starts with the column.
			defs = append(defs, "KEY "+quoteIdent(shortName("ix_"+p.identity))+" ("+
				quoteIdent(p.identity)+")")
		}
		return "CREATE TABLE " + quoteIdent(p.name) + " (\n  " + strings.Join(defs, ",\n  ") +
			"\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	}
	_, err := c.ExecContext(ctx, build(true))
	var me *gomysql.MySQLError
	if errors.As(err, &me) && pk != "" &&
		(me.Number == errTooLongKey || me.Number == errBlobKeyNoLength) {
		p.pkDeferred = true
		_, err = c.ExecContext(ctx, build(false))
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", modelName(t), err)
	}
	return nil
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

// addCheck adds a check constraint to the still empty table, so the load
// enforces it row by row. One MySQL refuses is reported, not fatal.
func (tg *target) addCheck(ctx context.Context, c execConn, t *bacpac.Table, p *tablePlan,
	ck *bacpac.Check) {
	name := modelName(t) + ".[" + ck.Name + "]"
	if _, inline := tableProperty(t, propColumnCheck+ck.Name); inline {
		return
	}
	expr, exact := tableProperty(t, propCheck+ck.Name)
	if !exact {
		var err error
		if expr, err = tsqlCheck(stripParens(ck.Expression)); err != nil {
			tg.skip("check constraint", name, err.Error())
			return
		}
	}
	q := "ALTER TABLE " + quoteIdent(p.name) + " ADD CONSTRAINT " +
		quoteIdent(shortName(ck.Name)) + " CHECK (" + expr + ")"
	if _, err := c.ExecContext(ctx, q); err != nil {
		tg.skip("check constraint", name, "MySQL refused "+ck.Expression+": "+err.Error())
	}
}

func tableProperty(t *bacpac.Table, name string) (string, bool) {
	for _, p := range t.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
