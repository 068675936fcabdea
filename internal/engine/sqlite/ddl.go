package sqlite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// columnType is the declared type a column gets: its exact SQLite type
// when it came from SQLite, the mapped one otherwise.
func columnType(c *bacpac.Column, same bool) (string, error) {
	if same {
		if typ, ok := engine.SourceType(c, Name); ok {
			return typ, nil
		}
	}
	typ, err := declaredType(c.Type)
	if err != nil {
		return "", fmt.Errorf("column %s: %w", c.Name, err)
	}
	return typ, nil
}

func qualified(t *bacpac.Table, name string) string {
	return t.Schema + "." + t.Name + "." + name
}

// createTableSQL builds the CREATE TABLE statement of one table, with its
// keys and constraints inline, and lists what it had to leave out.
func createTableSQL(t *bacpac.Table) (string, []engine.Skipped, error) {
	same := engine.FromEngine(t, Name)
	var skipped []engine.Skipped
	skip := func(kind, name, reason string) {
		skipped = append(skipped, engine.Skipped{Kind: kind, Name: name, Reason: reason})
	}
	prop := func(name string) bool {
		for _, p := range t.Properties {
			if p.Name == name {
				return p.Value == "true"
			}
		}
		return false
	}

	rowidKey := ""
	if pk := t.PrimaryKey; pk != nil && len(pk.Columns) == 1 {
		for _, c := range t.Columns {
			if c.Name == pk.Columns[0].Name && c.Identity != nil && !pk.Columns[0].Descending {
				rowidKey = c.Name
			}
		}
	}

	var items []string
	missing := map[string]bool{} // columns left out, by lower-case name
	for _, c := range t.Columns {
		if c.Computed != "" {
			if !same {
				skip("computed column", qualified(t, c.Name),
					"its expression is T-SQL, which SQLite cannot evaluate: "+c.Computed)
				missing[strings.ToLower(c.Name)] = true
				continue
			}
		}
		typ, err := columnType(c, same)
		if err != nil {
			return "", nil, err
		}
		def := quote(c.Name) + " " + typ
		switch {
		case c.Name == rowidKey:
			def = quote(c.Name) + " INTEGER" + constraintName(t.PrimaryKey.Name) + " PRIMARY KEY"
			if !same || prop(propAutoincrement) {
				def += " AUTOINCREMENT"
			}
		case c.Identity != nil:
			skip("identity", qualified(t, c.Name),
				"SQLite numbers rows only for a single-column INTEGER PRIMARY KEY; the column keeps its values but numbers no new rows")
		}
		if c.Computed != "" {
			def += " GENERATED ALWAYS AS (" + c.Computed + ")"
			if c.Persisted {
				def += " STORED"
			}
		} else if !c.Nullable && c.Name != rowidKey {
			def += " NOT NULL"
		}
		if c.Default != nil && c.Computed == "" {
			expr, reason := defaultSQL(c.Default.Expression, same)
			if reason != "" {
				skip("default", qualified(t, c.Name), reason)
			} else {
				def += " DEFAULT (" + expr + ")"
			}
		}
		items = append(items, def)
	}

	// Keys over a column that was left out are left out too.
	lacks := func(kind, name string, cols []string) bool {
		for _, c := range cols {
			if missing[strings.ToLower(c)] {
				if name == "" {
					name = t.Schema + "." + t.Name
				}
				skip(kind, name, "it covers the computed column "+c+", which is not carried")
				return true
			}
		}
		return false
	}
	if pk := t.PrimaryKey; pk != nil && rowidKey == "" && !lacks("primary key", pk.Name, indexNames(pk.Columns)) {
		items = append(items, constraintName(pk.Name)+" PRIMARY KEY ("+keyList(pk.Columns)+")")
	}
	for _, u := range t.Uniques {
		if !lacks("unique constraint", u.Name, indexNames(u.Columns)) {
			items = append(items, constraintName(u.Name)+" UNIQUE ("+keyList(u.Columns)+")")
		}
	}
	for _, fk := range t.ForeignKeys {
		if lacks("foreign key", fk.Name, fk.Columns) {
			continue
		}
		ref := tableName(&bacpac.Table{Schema: fk.RefSchema, Name: fk.RefTable})
		s := constraintName(fk.Name) + " FOREIGN KEY (" + nameList(fk.Columns) + ") REFERENCES " +
			quote(ref) + " (" + nameList(fk.RefColumns) + ")"
		if a := actionSQL(fk.OnDelete); a != "" {
			s += " ON DELETE " + a
		}
		if a := actionSQL(fk.OnUpdate); a != "" {
			s += " ON UPDATE " + a
		}
		items = append(items, s)
	}
	for _, ch := range t.Checks {
		if !same {
			name := ch.Name
			if name == "" {
				name = t.Schema + "." + t.Name
			}
			skip("check constraint", name,
				"its expression is T-SQL, which SQLite would evaluate differently: "+ch.Expression)
			continue
		}
		items = append(items, constraintName(ch.Name)+" CHECK ("+stripParens(ch.Expression, 1)+")")
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}

	stmt := "CREATE TABLE " + quote(tableName(t)) + " (\n\t" + strings.Join(items, ",\n\t") + "\n)"
	var opts []string
	if prop(propWithoutRowid) {
		opts = append(opts, "WITHOUT ROWID")
	}
	if prop(propStrict) {
		opts = append(opts, "STRICT")
	}
	if len(opts) > 0 {
		stmt += " " + strings.Join(opts, ", ")
	}
	return stmt, skipped, nil
}

func indexNames(cols []bacpac.IndexColumn) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// carried reports whether every column an index covers exists in the
// created table, so Finish can leave out indexes over computed columns.
func carried(t *bacpac.Table, idx *bacpac.Index) (string, bool) {
	same := engine.FromEngine(t, Name)
	cols := append(indexNames(idx.Columns), idx.Included...)
	for _, name := range cols {
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, name) && c.Computed != "" && !same {
				return c.Name, false
			}
		}
	}
	return "", true
}

func constraintName(name string) string {
	if name == "" {
		return ""
	}
	return " CONSTRAINT " + quote(name)
}

func keyList(cols []bacpac.IndexColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quote(c.Name)
		if c.Descending {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

func nameList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = quote(n)
	}
	return strings.Join(parts, ", ")
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
	return ""
}

// stripParens removes up to n layers of parentheses that enclose the
// whole expression; n < 0 removes all.
func stripParens(expr string, n int) string {
	s := strings.TrimSpace(expr)
	for n != 0 && len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		toks := tokenize(s)
		if len(toks) == 0 || group(toks, 0) != len(toks) {
			break
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
		n--
	}
	return s
}

var (
	numberLiteral = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	stringLiteral = regexp.MustCompile(`^[Nn]?'(?:[^']|'')*'$`)
)

// defaultSQL translates a default expression. A SQLite one is taken as it
// is; a T-SQL one only when it is a literal or the current time, and
// otherwise reason says why it was left out.
func defaultSQL(expr string, same bool) (sql, reason string) {
	if same {
		return stripParens(expr, 1), ""
	}
	s := stripParens(expr, -1)
	switch {
	case numberLiteral.MatchString(s):
		return s, ""
	case stringLiteral.MatchString(s):
		return strings.TrimLeft(s, "Nn"), ""
	case strings.EqualFold(s, "NULL"):
		return "NULL", ""
	}
	switch strings.ToLower(strings.ReplaceAll(s, " ", "")) {
	case "getdate()", "sysdatetime()", "getutcdate()", "sysutcdatetime()", "current_timestamp":
		// SQLite's CURRENT_TIMESTAMP is UTC; documented in the package.
		return "CURRENT_TIMESTAMP", ""
	}
	return "", "its expression is T-SQL that has no SQLite equivalent: " + expr
}

func indexName(t *bacpac.Table, name string) string { return qualified(t, name) }

// createIndexSQL builds CREATE INDEX for a model index. SQLite index names
// are per database, not per table, so a name already used gets the table
// name in front. note says what of the index could not be carried.
func createIndexSQL(t *bacpac.Table, idx *bacpac.Index, used map[string]bool) (stmt, note string) {
	name := idx.Name
	if name == "" || used[strings.ToLower(name)] {
		name = tableName(t) + "_" + idx.Name
	}
	used[strings.ToLower(name)] = true
	stmt = "CREATE "
	if idx.Unique {
		stmt += "UNIQUE "
	}
	stmt += "INDEX " + quote(name) + " ON " + quote(tableName(t)) + " (" + keyList(idx.Columns) + ")"
	if idx.Filter != "" {
		stmt += " WHERE " + stripParens(idx.Filter, 1)
	}
	if len(idx.Included) > 0 {
		note = "SQLite indexes have no included columns; left out: " + strings.Join(idx.Included, ", ")
	}
	return stmt, note
}
