package enginetest

import (
	"io"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
)

// testIdentityPastMax imports a table whose identity column was loaded
// with explicit values, some far past the seed, then inserts a row
// without one: the engine must number it past the loaded maximum rather
// than collide with a loaded key.
func testIdentityPastMax(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	tbl := &bacpac.Table{
		Schema: "dbo", Name: "counter",
		Columns: []*bacpac.Column{
			{Name: "id", Type: bacpac.Type{Name: "int"}, Identity: &bacpac.Identity{Seed: 1, Increment: 1}},
			{Name: "label", Type: bacpac.Type{Name: "nvarchar", Length: 20}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_counter", Columns: []bacpac.IndexColumn{{Name: "id"}}},
	}
	m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}
	cfg := h.NewName(t)
	tgt, err := h.Driver.OpenTarget(ctx, cfg, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer tgt.Close()
	if err := tgt.CreateTables(ctx, m); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	ids := []int64{1, 2, 3, 10, 20}
	i := 0
	_, err = tgt.Load(ctx, tbl, func() ([]any, error) {
		if i == len(ids) {
			return nil, io.EOF
		}
		i++
		return []any{ids[i-1], "loaded"}, nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := tgt.Finish(ctx, m); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	tgt.Close()

	// Exec fails the test on a duplicate key, which is what a counter
	// left at the seed would give.
	h.Exec(t, cfg, "INSERT INTO counter (label) VALUES ('new')")
	src, got := openSource(t, h, cfg)
	defer src.Close()
	var newID int64 = -1
	err = src.Rows(ctx, got.Tables[0], func(row []any) error {
		if s, _ := row[1].(string); s == "new" {
			newID, _ = row[0].(int64)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if newID <= 20 {
		t.Errorf("a row inserted after the import got id %d; want one past the loaded maximum 20", newID)
	}
}
