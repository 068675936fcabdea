package enginetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// dump is everything the suite compares about a database: its schema
// rendered as text and every table's rows as sorted canonical lines.
type dump struct {
	model  *bacpac.Model
	schema []string
	rows   map[string][]string // by "schema.table"
}

// dumpDatabase reads a database through a fresh Source.
func dumpDatabase(t *testing.T, h Harness, cfg engine.Config) *dump {
	t.Helper()
	return dumpWith(t, h, cfg, true)
}

// dumpWith reads a database; without exact, in the form cross-engine
// comparisons use (see renderModel and crossCanonical).
func dumpWith(t *testing.T, h Harness, cfg engine.Config, exact bool) *dump {
	t.Helper()
	ctx := ctxFor(t)
	src, m := openSource(t, h, cfg)
	defer src.Close()
	d := &dump{model: m, schema: renderModel(m, exact), rows: map[string][]string{}}
	render := canonical
	if !exact {
		render = crossCanonical
	}
	for _, tbl := range m.Tables {
		lines, err := tableLines(ctx, src, tbl, render)
		if err != nil {
			t.Fatalf("Rows of %s.%s: %v", tbl.Schema, tbl.Name, err)
		}
		d.rows[rowKey(tbl.Schema, tbl.Name, exact)] = lines
	}
	return d
}

func tableLines(ctx context.Context, src engine.Source, tbl *bacpac.Table, render func(any) string) ([]string, error) {
	var lines []string
	err := src.Rows(ctx, tbl, func(row []any) error {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = render(v)
		}
		lines = append(lines, strings.Join(parts, " | "))
		return nil
	})
	slices.Sort(lines)
	return lines, err
}

// renderModel renders the schema one fact per line, in a stable order.
// With exact unset, engine-specific details (source types, constraint
// names, defaults, checks, SQL Server types) are left out, for comparing
// across engines.
func renderModel(m *bacpac.Model, exact bool) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, t := range m.Tables {
		tn := t.Schema + "." + t.Name
		if !exact {
			tn = strings.ToLower(tn)
		}
		add("table %s", tn)
		for _, p := range t.Properties {
			if exact {
				add("table %s property %s=%s", tn, p.Name, p.Value)
			}
		}
		for i, c := range t.Columns {
			line := fmt.Sprintf("table %s column %d %s nullable=%v identity=%v computed=%v",
				tn, i+1, strings.ToLower(c.Name), c.Nullable, c.Identity != nil, c.Computed != "")
			if exact {
				src, _ := c.Property(bacpac.SourceTypeProperty)
				def := ""
				if c.Default != nil {
					def = c.Default.Expression
				}
				line = fmt.Sprintf("table %s column %d %s type=%s source=%q nullable=%v identity=%v default=%q computed=%q persisted=%v",
					tn, i+1, c.Name, typeString(c.Type), src, c.Nullable, identityString(c.Identity),
					def, c.Computed, c.Persisted)
			}
			add("%s", line)
		}
		if pk := t.PrimaryKey; pk != nil {
			add("table %s primary key %s (%s)", tn, nameIf(exact, pk.Name), keyColumns(pk.Columns, exact))
		}
		var more []string
		for _, u := range t.Uniques {
			more = append(more, fmt.Sprintf("table %s unique %s (%s)", tn, nameIf(exact, u.Name), keyColumns(u.Columns, exact)))
		}
		for _, fk := range t.ForeignKeys {
			ref := fk.RefSchema + "." + fk.RefTable
			if !exact {
				ref = strings.ToLower(ref)
			}
			more = append(more, fmt.Sprintf("table %s foreign key %s (%s) references %s (%s) on delete %d on update %d",
				tn, nameIf(exact, fk.Name), lowerJoin(fk.Columns, exact), ref, lowerJoin(fk.RefColumns, exact),
				fk.OnDelete, fk.OnUpdate))
		}
		if exact {
			for _, ch := range t.Checks {
				more = append(more, fmt.Sprintf("table %s check %s %s", tn, ch.Name, ch.Expression))
			}
		}
		for _, ix := range t.Indexes {
			if !exact {
				// Across engines, a plain unique index and a unique
				// constraint are the same thing (MySQL has only unique
				// keys), and an index over exactly a foreign key's columns
				// may be one the target makes for the key (MySQL does).
				plain := len(ix.Included) == 0 && ix.Filter == ""
				if plain && ix.Unique {
					more = append(more, fmt.Sprintf("table %s unique  (%s)", tn, keyColumns(ix.Columns, exact)))
					continue
				}
				if plain && foreignKeyIndex(t, ix) {
					continue
				}
			}
			more = append(more, fmt.Sprintf("table %s index %s unique=%v (%s) include (%s) where %q",
				tn, nameIf(exact, ix.Name), ix.Unique, keyColumns(ix.Columns, exact),
				lowerJoin(ix.Included, exact), filterIf(exact, ix.Filter)))
		}
		slices.Sort(more)
		out = append(out, more...)
	}
	return out
}

// foreignKeyIndex reports whether ix covers exactly the columns of one of
// the table's foreign keys, in order.
func foreignKeyIndex(t *bacpac.Table, ix *bacpac.Index) bool {
	for _, fk := range t.ForeignKeys {
		if len(fk.Columns) != len(ix.Columns) {
			continue
		}
		same := true
		for i, c := range fk.Columns {
			same = same && strings.EqualFold(c, ix.Columns[i].Name)
		}
		if same {
			return true
		}
	}
	return false
}

func typeString(t bacpac.Type) string {
	s := t.Name
	switch {
	case t.Max:
		s += "(max)"
	case t.Length > 0:
		s += fmt.Sprintf("(%d)", t.Length)
	}
	if t.Precision > 0 || t.Scale > 0 {
		s += fmt.Sprintf("(%d,%d)", t.Precision, t.Scale)
	}
	return s
}

func identityString(id *bacpac.Identity) string {
	if id == nil {
		return "no"
	}
	return fmt.Sprintf("(%d,%d)", id.Seed, id.Increment)
}

func nameIf(exact bool, name string) string {
	if exact {
		return name
	}
	return ""
}

func filterIf(exact bool, f string) string {
	if exact || f == "" {
		return f
	}
	return "filtered"
}

func keyColumns(cols []bacpac.IndexColumn, exact bool) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name
		if !exact {
			parts[i] = strings.ToLower(c.Name)
		}
		if c.Descending {
			parts[i] += " desc"
		}
	}
	return strings.Join(parts, ", ")
}

func lowerJoin(names []string, exact bool) string {
	if exact {
		return strings.Join(names, ", ")
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return strings.Join(out, ", ")
}

// compareLines reports the lines only one side has.
func compareLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	wantSet := map[string]int{}
	for _, l := range want {
		wantSet[l]++
	}
	var extra []string
	for _, l := range got {
		if wantSet[l] > 0 {
			wantSet[l]--
			continue
		}
		extra = append(extra, l)
	}
	var missing []string
	for _, l := range want {
		if wantSet[l] > 0 {
			wantSet[l]--
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return // only the order of tables differs, which carries no meaning
	}
	t.Errorf("%s differ:\n  missing after the trip:\n    %s\n  new after the trip:\n    %s",
		what, strings.Join(limit(missing), "\n    "), strings.Join(limit(extra), "\n    "))
}

func limit(lines []string) []string {
	if len(lines) > 20 {
		return append(lines[:20:20], fmt.Sprintf("… and %d more", len(lines)-20))
	}
	return lines
}

// compareDumps checks that b (after the trip) equals a (before it).
func compareDumps(t *testing.T, a, b *dump) {
	t.Helper()
	compareLines(t, "schemas", a.schema, b.schema)
	for _, tbl := range a.model.Tables {
		key := tbl.Schema + "." + tbl.Name
		compareLines(t, "rows of "+key, a.rows[key], b.rows[key])
	}
}
