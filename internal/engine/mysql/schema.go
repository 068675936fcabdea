package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// querier is the part of *sql.Conn and *sql.DB the schema reader uses.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// schemaName is the model schema every table of a MySQL database goes in:
// a MySQL database is a single namespace, the way SQL Server's dbo is.
const schemaName = "dbo"

// readModel reads the schema of database db. It also returns what the
// model cannot describe in SQL Server terms (engine.Omitter): checks kept
// in table properties for imports into MySQL only.
func readModel(ctx context.Context, q querier, db string) (*bacpac.Model, []engine.Skipped, error) {
	m := &bacpac.Model{
		DSPName:       "Microsoft.Data.Tools.Schema.Sql.Sql150DatabaseSchemaProvider",
		Collation:     "SQL_Latin1_General_CP1_CI_AS",
		CollationLCID: 1033,
		Schemas:       []string{schemaName},
	}
	tables := map[string]*bacpac.Table{}
	err := each(ctx, q, `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, []any{db}, func(r *sql.Rows) error {
		var name, typ string
		if err := r.Scan(&name, &typ); err != nil {
			return err
		}
		if typ == "BASE TABLE" {
			t := &bacpac.Table{Schema: schemaName, Name: name}
			tables[name] = t
			m.Tables = append(m.Tables, t)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read tables: %w", err)
	}
	jsonCols, omitted, err := readChecks(ctx, q, db, tables)
	if err != nil {
		return nil, nil, err
	}
	if err := readColumns(ctx, q, db, tables, jsonCols); err != nil {
		return nil, nil, err
	}
	if err := readIndexes(ctx, q, db, tables); err != nil {
		return nil, nil, err
	}
	if err := readForeignKeys(ctx, q, db, tables); err != nil {
		return nil, nil, err
	}
	if err := readObjects(ctx, q, db, m); err != nil {
		return nil, nil, err
	}
	return m, omitted, nil
}

// each runs a query and calls fn for every row.
func each(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readChecks reads CHECK constraints. A column-level json_valid(`c`) check
// is MariaDB's JSON type and is returned as a JSON column instead.
func readChecks(ctx context.Context, q querier, db string,
	tables map[string]*bacpac.Table) (map[string]bool, []engine.Skipped, error) {
	jsonCols := map[string]bool{}
	var omitted []engine.Skipped
	err := each(ctx, q, `SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE
		FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?
		ORDER BY TABLE_NAME, CONSTRAINT_NAME`, []any{db}, func(r *sql.Rows) error {
		var table, name, level, clause string
		if err := r.Scan(&table, &name, &level, &clause); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			return nil
		}
		if level == "Column" && clause == "json_valid("+quoteIdent(name)+")" {
			jsonCols[table+"\x00"+name] = true
			return nil
		}
		prop := propCheck
		if level == "Column" {
			prop = propColumnCheck
		}
		if expr, ok := checkToTSQL(clause); ok {
			t.Checks = append(t.Checks, &bacpac.Check{Name: name, Expression: expr})
		} else {
			omitted = append(omitted, engine.Skipped{Kind: "check constraint",
				Name: table + "." + name, Reason: "its expression " + clause +
					" has no T-SQL translation; it is kept for imports into MySQL only"})
		}
		t.Properties = append(t.Properties, bacpac.Property{Name: prop + name, Value: clause})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read check constraints: %w", err)
	}
	return jsonCols, omitted, nil
}

func readColumns(ctx context.Context, q querier, db string, tables map[string]*bacpac.Table,
	jsonCols map[string]bool) error {
	err := each(ctx, q, `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
		COLUMN_DEFAULT, EXTRA, COALESCE(CHARACTER_MAXIMUM_LENGTH, 0),
		COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0),
		COALESCE(DATETIME_PRECISION, 0), COALESCE(CHARACTER_SET_NAME, ''),
		COALESCE(COLLATION_NAME, ''), COALESCE(GENERATION_EXPRESSION, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?
		ORDER BY TABLE_NAME, ORDINAL_POSITION`, []any{db}, func(r *sql.Rows) error {
		var table, nullable string
		var def sql.NullString
		c := &colInfo{}
		if err := r.Scan(&table, &c.name, &c.dataType, &c.columnType, &nullable, &def,
			&c.extra, &c.charLen, &c.precision, &c.scale, &c.dtPrec, &c.charset,
			&c.collation, &c.generated); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			return nil
		}
		c.dataType = strings.ToLower(c.dataType)
		c.nullable = nullable == "YES"
		if def.Valid {
			c.def = &def.String
		}
		c.json = jsonCols[table+"\x00"+c.name]
		if c.dataType == "bit" {
			// NUMERIC_PRECISION holds the bit width.
			c.precision = int64(parseType(c.columnType).arg(0, 1))
		}
		typ, _, err := describe(c)
		if err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		col := &bacpac.Column{Name: c.name, Type: typ, Nullable: c.nullable}
		col.Properties = append(col.Properties,
			bacpac.Property{Name: bacpac.SourceTypeProperty, Value: c.sourceType()})
		extra := strings.ToLower(c.extra)
		if strings.Contains(extra, "auto_increment") {
			col.Identity = &bacpac.Identity{Seed: 1, Increment: 1}
		}
		if c.generated != "" {
			col.Computed = c.generated
			col.Persisted = strings.Contains(extra, "stored")
		} else if c.def != nil && *c.def != "NULL" {
			col.Properties = append(col.Properties, bacpac.Property{Name: propDefault, Value: *c.def})
			if expr, ok := defaultToTSQL(*c.def, typ); ok {
				col.Default = &bacpac.Default{Expression: expr}
			}
		}
		if i := strings.Index(extra, "on update "); i >= 0 {
			col.Properties = append(col.Properties,
				bacpac.Property{Name: propOnUpdate, Value: c.extra[i+len("on update "):]})
		}
		t.Columns = append(t.Columns, col)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	return nil
}

// readIndexes reads the primary key, unique keys and other indexes. An
// index the model cannot describe exactly (prefix lengths, FULLTEXT,
// SPATIAL) also gets its MySQL definition as a table property.
func readIndexes(ctx context.Context, q querier, db string, tables map[string]*bacpac.Table) error {
	type idx struct {
		table, name, typ string
		unique           bool
		cols             []bacpac.IndexColumn
		parts            []string
		exotic           bool
	}
	var order []*idx
	byName := map[string]*idx{}
	err := each(ctx, q, `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME,
		COALESCE(SUB_PART, 0), COALESCE(COLLATION, 'A'), INDEX_TYPE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?
		ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, []any{db}, func(r *sql.Rows) error {
		var table, name, col, coll, typ string
		var nonUnique, sub int
		if err := r.Scan(&table, &name, &nonUnique, &col, &sub, &coll, &typ); err != nil {
			return err
		}
		key := table + "\x00" + name
		x := byName[key]
		if x == nil {
			x = &idx{table: table, name: name, typ: typ, unique: nonUnique == 0}
			byName[key] = x
			order = append(order, x)
		}
		part := quoteIdent(col)
		if sub > 0 {
			part += fmt.Sprintf("(%d)", sub)
			x.exotic = true
		}
		if coll == "D" {
			part += " DESC"
		}
		if typ != "BTREE" {
			x.exotic = true
		}
		x.parts = append(x.parts, part)
		x.cols = append(x.cols, bacpac.IndexColumn{Name: col, Descending: coll == "D"})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	for _, x := range order {
		t := tables[x.table]
		if t == nil {
			continue
		}
		switch {
		case x.name == "PRIMARY":
			t.PrimaryKey = &bacpac.Key{Name: "PK_" + x.table, Columns: x.cols, Clustered: true}
		case x.unique && !x.exotic:
			t.Uniques = append(t.Uniques, &bacpac.Key{Name: x.name, Columns: x.cols})
		default:
			t.Indexes = append(t.Indexes, &bacpac.Index{Name: x.name, Unique: x.unique,
				Columns: x.cols})
		}
		if x.exotic {
			def := "KEY"
			switch {
			case x.typ == "FULLTEXT" || x.typ == "SPATIAL":
				def = x.typ + " KEY"
			case x.unique:
				def = "UNIQUE KEY"
			}
			def += " " + quoteIdent(x.name) + " (" + strings.Join(x.parts, ", ") + ")"
			t.Properties = append(t.Properties, bacpac.Property{Name: propIndex + x.name, Value: def})
		}
	}
	return nil
}

func readForeignKeys(ctx context.Context, q querier, db string,
	tables map[string]*bacpac.Table) error {
	fks := map[string]*bacpac.ForeignKey{}
	var order []string
	err := each(ctx, q, `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME,
		k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME,
		r.UPDATE_RULE, r.DELETE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k
		JOIN information_schema.REFERENTIAL_CONSTRAINTS r
		  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
		 AND r.TABLE_NAME = k.TABLE_NAME
		WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
		ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, []any{db},
		func(r *sql.Rows) error {
			var table, name, col, refSchema, refTable, refCol, upd, del string
			if err := r.Scan(&table, &name, &col, &refSchema, &refTable, &refCol, &upd,
				&del); err != nil {
				return err
			}
			key := table + "\x00" + name
			fk := fks[key]
			if fk == nil {
				fk = &bacpac.ForeignKey{Name: name, RefSchema: schemaName, RefTable: refTable,
					OnDelete: action(del), OnUpdate: action(upd)}
				if refSchema != db {
					fk.RefSchema = refSchema
				}
				fks[key] = fk
				order = append(order, key)
			}
			fk.Columns = append(fk.Columns, col)
			fk.RefColumns = append(fk.RefColumns, refCol)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	sort.Strings(order)
	for _, key := range order {
		table, _, _ := strings.Cut(key, "\x00")
		if t := tables[table]; t != nil {
			t.ForeignKeys = append(t.ForeignKeys, fks[key])
		}
	}
	return nil
}

func action(rule string) bacpac.Action {
	switch rule {
	case "CASCADE":
		return bacpac.Cascade
	case "SET NULL":
		return bacpac.SetNull
	case "SET DEFAULT":
		return bacpac.SetDefault
	}
	return bacpac.NoAction
}

// readObjects lists views, routines and triggers, which an export carries
// as named objects so an import can report them.
func readObjects(ctx context.Context, q querier, db string, m *bacpac.Model) error {
	queries := []struct{ kind, query string }{
		{"SqlView", `SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS
			WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`},
		{"routine", `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES
			WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME`},
		{"SqlDmlTrigger", `SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS
			WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`},
	}
	for _, x := range queries {
		err := each(ctx, q, x.query, []any{db}, func(r *sql.Rows) error {
			var name string
			var script sql.NullString
			if err := r.Scan(&name, &script); err != nil {
				return err
			}
			o := bacpac.Object{Kind: x.kind, Name: "[" + schemaName + "].[" + name + "]",
				Script: script.String}
			if x.kind == "routine" {
				o.Kind, o.Script = "SqlProcedure", ""
				if script.String == "FUNCTION" {
					o.Kind = "SqlScalarFunction"
				}
			}
			m.Objects = append(m.Objects, o)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read %s objects: %w", x.kind, err)
		}
	}
	return nil
}
