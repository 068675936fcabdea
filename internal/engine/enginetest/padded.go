package enginetest

import (
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// testPaddedChar imports fixed-length character values, padded to their
// length as SQL Server stores them, and wants each read back unchanged:
// an engine may send them to its server without the padding (a CHAR pads
// again when it stores) but must not lose a character that is not
// padding, nor add or drop spaces where they are data.
func testPaddedChar(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	tbl := &bacpac.Table{
		Schema: "dbo", Name: "padded",
		Columns: []*bacpac.Column{
			{Name: "id", Type: bacpac.Type{Name: "int"}},
			{Name: "c", Type: bacpac.Type{Name: "nchar", Length: 6}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_padded", Columns: []bacpac.IndexColumn{{Name: "id"}}},
	}
	values := []any{"ab    ", "      ", " a b  ", "abcdef", "é     ", " é\t   ", nil}
	rows := make([][]any, len(values))
	for i, v := range values {
		rows[i] = []any{int64(i), v}
	}
	pkg := MemPackage(t, tbl, rows)
	cfg := h.NewName(t)
	dst, err := h.Driver.OpenTarget(ctx, cfg, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer dst.Close()
	if _, err := engine.Import(ctx, pkg, dst, engine.ImportOptions{Parallel: 1}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	dst.Close()

	src, err := h.Driver.OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	m, err := src.Model(ctx)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	got := map[int64]any{}
	err = src.Rows(ctx, m.Tables[0], func(row []any) error {
		id, _ := row[0].(int64)
		got[id] = row[1]
		return nil
	})
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	for i, want := range values {
		if v := got[int64(i)]; v != want {
			t.Errorf("row %d: read back %q, imported %q", i, v, want)
		}
	}
}
