package postgres

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// dump reads every table of a database through the driver: the model and
// each table's rows rendered canonically, sorted.
func dump(t *testing.T, cfg engine.Config) (*bacpac.Model, map[string][]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	src, err := New().OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	m, err := src.Model(ctx)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	out := map[string][]string{}
	for _, tb := range m.Tables {
		var rows []string
		err := src.Rows(ctx, tb, func(row []any) error {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = enginetest.Canonical(v)
			}
			rows = append(rows, strings.Join(cells, " | "))
			return nil
		})
		if err != nil {
			t.Fatalf("Rows of %s.%s: %v", tb.Schema, tb.Name, err)
		}
		slices.Sort(rows)
		out[tb.Schema+"."+tb.Name] = rows
	}
	return m, out
}

// copyInto imports the tables of src into a new database through the
// driver's Target, without a package in between.
func copyInto(t *testing.T, src, dst engine.Config) []engine.Skipped {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	s, err := New().OpenSource(ctx, src)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer s.Close()
	m, err := s.Model(ctx)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	tgt, err := New().OpenTarget(ctx, dst, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer tgt.Close()
	if err := tgt.CreateTables(ctx, m); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	for _, tb := range m.Tables {
		var rows [][]any
		err := s.Rows(ctx, tb, func(row []any) error {
			rows = append(rows, slices.Clone(row))
			return nil
		})
		if err != nil {
			t.Fatalf("Rows of %s: %v", tb.Name, err)
		}
		i := 0
		n, err := tgt.Load(ctx, tb, func() ([]any, error) {
			if i == len(rows) {
				return nil, io.EOF
			}
			i++
			return rows[i-1], nil
		})
		if err != nil {
			t.Fatalf("Load %s: %v", tb.Name, err)
		}
		if n != int64(len(rows)) {
			t.Fatalf("Load %s: loaded %d rows, want %d", tb.Name, n, len(rows))
		}
	}
	skipped, err := tgt.Finish(ctx, m)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return skipped
}

// schemaQuery describes a database's user tables in PostgreSQL's own
// words: columns with exact types, nullability, defaults and identity,
// constraints and indexes.
const schemaQuery = `
SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' ' ||
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
       ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text ||
       coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'constraint ' || con.conrelid::regclass || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND con.conrelid <> 0
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'sequence ' || s.seqrelid::regclass || ' start ' || s.seqstart || ' inc ' || s.seqincrement
FROM pg_sequence s
ORDER BY 1`

func schemaOf(t *testing.T, cfg engine.Config) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, cfg, schemaQuery) {
		out = append(out, r[0])
	}
	return out
}

func TestRoundTrip_Families(t *testing.T) {
	server(t)
	for _, f := range families {
		t.Run(f.Name, func(t *testing.T) {
			src := newDatabase(t)
			for _, sql := range f.Setup {
				execSQL(t, src, sql)
			}
			dst := newName(t)
			if skipped := copyInto(t, src, dst); len(skipped) > 0 {
				t.Errorf("same-engine import skipped %v", skipped)
			}
			_, want := dump(t, src)
			_, got := dump(t, dst)
			compareCells(t, got, want)
			compareLines(t, "schema", schemaOf(t, dst), schemaOf(t, src))
		})
	}
}

func compareCells(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for table, rows := range want {
		compareLines(t, "rows of "+table, got[table], rows)
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			t.Errorf("unexpected table %s after the round trip", table)
		}
	}
}

func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: missing %s", what, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: unexpected %s", what, g)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %d lines, want %d", what, len(got), len(want))
	}
}

// TestRoundTrip_Sequences checks that identity and serial columns continue
// after the loaded values.
func TestRoundTrip_Sequences(t *testing.T) {
	server(t)
	src := newDatabase(t)
	for _, sql := range families[0].Setup {
		execSQL(t, src, sql)
	}
	dst := newName(t)
	copyInto(t, src, dst)
	execSQL(t, dst, "INSERT INTO ident (v) VALUES (99)")
	execSQL(t, dst, "INSERT INTO ints (big) VALUES (99)")
	got := query(t, dst, `SELECT (SELECT max(id) FROM ident), (SELECT max(s) FROM ident),
		(SELECT max(id) FROM ints)`)
	want := []string{"115", "4", "4"}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("next identity values = %v, want %v", got[0], want)
	}
}
