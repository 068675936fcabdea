package enginetest

import (
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
)

func runCross(t *testing.T, from, to Harness) {
	t.Helper()
	if len(from.Realistic) == 0 {
		t.Fatalf("the %s harness has no Realistic schema", from.Driver.Name())
	}
	cfg := from.NewDatabase(t)
	for _, stmt := range from.Realistic {
		from.Exec(t, cfg, stmt)
	}
	before := dumpWith(t, from, cfg, false)
	path := ExportFile(t, from, cfg)

	dst := to.NewName(t)
	rep, err := ImportFile(t, to, path, dst, true)
	if err != nil {
		t.Fatalf("Import into %s: %v", to.Driver.Name(), err)
	}
	for _, s := range rep.Skipped {
		t.Logf("skipped %s %s: %s", s.Kind, s.Name, s.Reason)
	}
	after := dumpWith(t, to, dst, false)
	compareLines(t, from.Driver.Name()+" → "+to.Driver.Name()+" schemas", before.schema, after.schema)
	for key, rows := range before.rows {
		compareLines(t, "rows of "+key, rows, after.rows[key])
	}
}

// crossCanonical renders a value independently of the type that holds it:
// a sql_variant as the value inside, so engines with and without dynamic
// columns agree.
func crossCanonical(v any) string {
	if x, ok := v.(bacpac.Variant); ok {
		if inner, err := x.Value(); err == nil {
			return canonical(inner)
		}
	}
	return canonical(v)
}

func rowKey(schema, name string, exact bool) string {
	if exact {
		return schema + "." + name
	}
	return strings.ToLower(schema + "." + name)
}
