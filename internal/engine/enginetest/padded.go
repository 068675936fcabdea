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

	src, m := openSource(t, h, cfg)
	defer src.Close()
	got, _ := rowsByID(t, src, m.Tables[0])
	for i, want := range values {
		var v any = "(no row)"
		if row := got[canonical(int64(i))]; row != nil {
			v = row[1]
		}
		if v != want {
			t.Errorf("row %d: read back %q, imported %q", i, v, want)
		}
	}
}
