package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// Table properties that let a same-engine import restore what SQL Server
// terms cannot say.
const (
	propAutoincrement = "bacport_sqlite_autoincrement"
	propWithoutRowid  = "bacport_sqlite_without_rowid"
	propStrict        = "bacport_sqlite_strict"
)

// querier is what schema reading needs from a connection.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tableName is the SQLite name of a model table: tables of schema dbo keep
// their name, others are called "schema.name".
func tableName(t *bacpac.Table) string {
	if t.Schema == "" || t.Schema == "dbo" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// splitName is the reverse of tableName.
func splitName(name string) (schema, table string) {
	if s, t, ok := strings.Cut(name, "."); ok && s != "" && t != "" {
		return s, t
	}
	return "dbo", name
}

// readModel reads the schema of the database q is connected to.
func readModel(ctx context.Context, q querier) (*bacpac.Model, error) {
	m := &bacpac.Model{
		DSPName:       "Microsoft.Data.Tools.Schema.Sql.Sql150DatabaseSchemaProvider",
		Collation:     "Latin1_General_100_BIN2",
		CollationLCID: 1033,
		CaseSensitive: true,
		Schemas:       []string{"dbo"},
	}
	type entry struct{ typ, name, table, sql string }
	var entries []entry
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '')
		FROM sqlite_master ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.typ, &e.name, &e.table, &e.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read schema: %w", err)
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}

	for _, e := range entries {
		if strings.HasPrefix(e.name, "sqlite_") {
			continue
		}
		schema, name := splitName(e.name)
		switch e.typ {
		case "table":
			if strings.HasPrefix(strings.ToUpper(e.sql), "CREATE VIRTUAL") {
				m.Objects = append(m.Objects, bacpac.Object{
					Kind: "SqlTable", Name: bracket(schema, name), Script: e.sql})
				continue
			}
			t, err := readTable(ctx, q, e.name, e.sql)
			if err != nil {
				return nil, fmt.Errorf("read table %s: %w", e.name, err)
			}
			m.Tables = append(m.Tables, t)
			if !slices.Contains(m.Schemas, t.Schema) {
				m.Schemas = append(m.Schemas, t.Schema)
			}
		case "view":
			m.Objects = append(m.Objects, bacpac.Object{
				Kind: "SqlView", Name: bracket(schema, name), Script: e.sql})
		case "trigger":
			m.Objects = append(m.Objects, bacpac.Object{
				Kind: "SqlDmlTrigger", Name: bracket(schema, name), Script: e.sql})
		}
	}
	for _, e := range entries {
		// Expression indexes have no SQL Server form over columns.
		if e.typ == "index" && e.sql != "" && isExpressionIndex(ctx, q, e.name) {
			schema, table := splitName(e.table)
			m.Objects = append(m.Objects, bacpac.Object{
				Kind:   "SqlIndex",
				Name:   bracket(schema, table) + ".[" + e.name + "]",
				Script: e.sql,
			})
		}
	}
	return m, nil
}

func bracket(schema, name string) string {
	return "[" + schema + "].[" + name + "]"
}

type xcol struct {
	cid     int
	name    string
	typ     string
	notnull bool
	dflt    sql.NullString
	pk      int
	hidden  int
}

func readTable(ctx context.Context, q querier, name, create string) (*bacpac.Table, error) {
	info := parseCreate(create)
	schema, tname := splitName(name)
	t := &bacpac.Table{Schema: schema, Name: tname}

	cols, err := tableColumns(ctx, q, name)
	if err != nil {
		return nil, err
	}
	var pk []xcol
	for _, c := range cols {
		if c.hidden == 1 {
			continue // a hidden column of a virtual table
		}
		if c.pk > 0 {
			pk = append(pk, c)
		}
	}
	slices.SortFunc(pk, func(a, b xcol) int { return a.pk - b.pk })
	rowidAlias := len(pk) == 1 && strings.EqualFold(strings.TrimSpace(pk[0].typ), "INTEGER") &&
		!info.without

	for _, c := range cols {
		if c.hidden == 1 {
			continue
		}
		col := &bacpac.Column{
			Name:     c.name,
			Type:     sqlServerType(c.typ),
			Nullable: !c.notnull && c.pk == 0,
		}
		engine.SetSourceType(col, Name, c.typ)
		if c.dflt.Valid {
			col.Default = &bacpac.Default{Expression: "(" + c.dflt.String + ")"}
		}
		if rowidAlias && c.pk == 1 {
			col.Identity = &bacpac.Identity{Seed: 1, Increment: 1}
		}
		ci := info.columns[strings.ToLower(c.name)]
		if c.hidden >= 2 && ci != nil {
			col.Computed = ci.generated
			col.Persisted = c.hidden == 3
		}
		if ci != nil {
			for _, ch := range ci.checks {
				t.Checks = append(t.Checks, &bacpac.Check{Name: ch.name, Expression: "(" + ch.expr + ")"})
			}
		}
		t.Columns = append(t.Columns, col)
	}
	for _, ch := range info.checks {
		t.Checks = append(t.Checks, &bacpac.Check{Name: ch.name, Expression: "(" + ch.expr + ")"})
	}

	if len(pk) > 0 {
		key := &bacpac.Key{Name: info.pkName, Clustered: true}
		for _, c := range pk {
			key.Columns = append(key.Columns, bacpac.IndexColumn{Name: c.name})
			if ci := info.columns[strings.ToLower(c.name)]; ci != nil && ci.pkName != "" {
				key.Name = ci.pkName
			}
		}
		t.PrimaryKey = key
	}
	if info.autoinc {
		t.Properties = append(t.Properties, bacpac.Property{Name: propAutoincrement, Value: "true"})
	}
	if info.without {
		t.Properties = append(t.Properties, bacpac.Property{Name: propWithoutRowid, Value: "true"})
	}
	if info.strict {
		t.Properties = append(t.Properties, bacpac.Property{Name: propStrict, Value: "true"})
	}

	if err := readIndexes(ctx, q, name, t, info); err != nil {
		return nil, err
	}
	if err := readForeignKeys(ctx, q, name, t, info); err != nil {
		return nil, err
	}
	return t, nil
}

func tableColumns(ctx context.Context, q querier, name string) ([]xcol, error) {
	rows, err := q.QueryContext(ctx, `SELECT cid, name, type, "notnull", dflt_value, pk, hidden
		FROM pragma_table_xinfo(?)`, name)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	var cols []xcol
	for rows.Next() {
		var c xcol
		if err := rows.Scan(&c.cid, &c.name, &c.typ, &c.notnull, &c.dflt, &c.pk, &c.hidden); err != nil {
			return nil, fmt.Errorf("read columns: %w", err)
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

type indexEntry struct {
	name    string
	unique  bool
	origin  string
	partial bool
}

func readIndexes(ctx context.Context, q querier, table string, t *bacpac.Table, info *createInfo) error {
	rows, err := q.QueryContext(ctx, `SELECT name, "unique", origin, partial
		FROM pragma_index_list(?) ORDER BY seq DESC`, table)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	var list []indexEntry
	for rows.Next() {
		var e indexEntry
		if err := rows.Scan(&e.name, &e.unique, &e.origin, &e.partial); err != nil {
			rows.Close()
			return fmt.Errorf("read indexes: %w", err)
		}
		list = append(list, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}

	usedNames := map[int]bool{}
	for _, e := range list {
		if e.origin == "pk" {
			continue
		}
		cols, expr, err := indexColumns(ctx, q, e.name)
		if err != nil {
			return err
		}
		if expr {
			continue // reported as an object by readModel
		}
		switch e.origin {
		case "u":
			key := &bacpac.Key{Columns: cols, Name: uniqueName(info, cols, usedNames)}
			t.Uniques = append(t.Uniques, key)
		default:
			idx := &bacpac.Index{Name: e.name, Unique: e.unique, Columns: cols}
			if e.partial {
				idx.Filter = indexWhere(indexSQL(ctx, q, e.name))
			}
			t.Indexes = append(t.Indexes, idx)
		}
	}
	return nil
}

// uniqueName finds the declared name of a UNIQUE constraint by its
// columns; unnamed constraints get "".
func uniqueName(info *createInfo, cols []bacpac.IndexColumn, used map[int]bool) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = strings.ToLower(c.Name)
	}
	for i, u := range info.uniques {
		if !used[i] && slices.Equal(u.cols, names) {
			used[i] = true
			return u.name
		}
	}
	if len(cols) == 1 {
		if ci := info.columns[names[0]]; ci != nil && ci.hasUnique {
			return ci.unique
		}
	}
	return ""
}

func indexColumns(ctx context.Context, q querier, index string) ([]bacpac.IndexColumn, bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT cid, coalesce(name, ''), "desc"
		FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, index)
	if err != nil {
		return nil, false, fmt.Errorf("read index %s: %w", index, err)
	}
	defer rows.Close()
	var cols []bacpac.IndexColumn
	expr := false
	for rows.Next() {
		var cid int
		var c bacpac.IndexColumn
		if err := rows.Scan(&cid, &c.Name, &c.Descending); err != nil {
			return nil, false, fmt.Errorf("read index %s: %w", index, err)
		}
		if cid < 0 {
			expr = true
		}
		cols = append(cols, c)
	}
	return cols, expr, rows.Err()
}

func isExpressionIndex(ctx context.Context, q querier, index string) bool {
	_, expr, err := indexColumns(ctx, q, index)
	return err == nil && expr
}

func indexSQL(ctx context.Context, q querier, index string) string {
	rows, err := q.QueryContext(ctx, `SELECT coalesce(sql, '') FROM sqlite_master
		WHERE type = 'index' AND name = ?`, index)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var s string
	if rows.Next() {
		_ = rows.Scan(&s)
	}
	return s
}

func readForeignKeys(ctx context.Context, q querier, table string, t *bacpac.Table, info *createInfo) error {
	rows, err := q.QueryContext(ctx, `SELECT id, "table", "from", coalesce("to", ''), on_update, on_delete
		FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	byID := map[int]*bacpac.ForeignKey{}
	var order []int
	for rows.Next() {
		var id int
		var ref, from, to, onUpdate, onDelete string
		if err := rows.Scan(&id, &ref, &from, &to, &onUpdate, &onDelete); err != nil {
			rows.Close()
			return fmt.Errorf("read foreign keys: %w", err)
		}
		fk := byID[id]
		if fk == nil {
			rs, rt := splitName(ref)
			fk = &bacpac.ForeignKey{RefSchema: rs, RefTable: rt,
				OnDelete: action(onDelete), OnUpdate: action(onUpdate)}
			byID[id] = fk
			order = append(order, id)
		}
		fk.Columns = append(fk.Columns, from)
		fk.RefColumns = append(fk.RefColumns, to)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}

	// pragma_foreign_key_list numbers keys from the last declared.
	slices.Reverse(order)
	used := map[int]bool{}
	for _, id := range order {
		fk := byID[id]
		if slices.Contains(fk.RefColumns, "") {
			refCols, err := primaryKeyColumns(ctx, q, tableName(&bacpac.Table{Schema: fk.RefSchema, Name: fk.RefTable}))
			if err != nil {
				return err
			}
			if len(refCols) != len(fk.Columns) {
				return fmt.Errorf("read foreign key to %s: the referenced primary key has %d columns, the key %d",
					fk.RefTable, len(refCols), len(fk.Columns))
			}
			fk.RefColumns = refCols
		}
		fk.Name = foreignKeyName(info, fk, used)
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return nil
}

func foreignKeyName(info *createInfo, fk *bacpac.ForeignKey, used map[int]bool) string {
	cols := make([]string, len(fk.Columns))
	for i, c := range fk.Columns {
		cols[i] = strings.ToLower(c)
	}
	for i, f := range info.fks {
		if !used[i] && slices.Equal(f.cols, cols) {
			used[i] = true
			return f.name
		}
	}
	if len(cols) == 1 {
		if ci := info.columns[cols[0]]; ci != nil {
			return ci.fkName
		}
	}
	return ""
}

func primaryKeyColumns(ctx context.Context, q querier, table string) ([]string, error) {
	cols, err := tableColumns(ctx, q, table)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cols, func(a, b xcol) int { return a.pk - b.pk })
	var names []string
	for _, c := range cols {
		if c.pk > 0 {
			names = append(names, c.name)
		}
	}
	return names, nil
}

func action(s string) bacpac.Action {
	switch strings.ToUpper(s) {
	case "CASCADE":
		return bacpac.Cascade
	case "SET NULL":
		return bacpac.SetNull
	case "SET DEFAULT":
		return bacpac.SetDefault
	}
	return bacpac.NoAction
}
