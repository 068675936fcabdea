package sqlite

import (
	"errors"
	"io"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// A string or binary longer than its column fails the load naming table,
// column and row, although SQLite itself would store it.
func TestLoad_LengthErrors(t *testing.T) {
	cases := []struct {
		typ bacpac.Type
		bad any
	}{
		{bacpac.Type{Name: "nvarchar", Length: 3}, "abcd"},
		{bacpac.Type{Name: "nchar", Length: 2}, "😀x"}, // three UTF-16 code units
		{bacpac.Type{Name: "varbinary", Length: 2}, []byte{1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.typ.Name, func(t *testing.T) {
			tbl := &bacpac.Table{Schema: "dbo", Name: "t", Columns: []*bacpac.Column{
				{Name: "id", Type: bacpac.Type{Name: "int"}},
				{Name: "v", Type: c.typ, Nullable: true},
			}}
			m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}
			cfg := engine.Config{DSN: "sqlite://" + t.TempDir(), Database: "db"}
			tgt, err := New().OpenTarget(t.Context(), cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Close()
			if err := tgt.CreateTables(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			rows := [][]any{{int64(1), nil}, {int64(2), c.bad}}
			_, err = tgt.Load(t.Context(), tbl, func() ([]any, error) {
				if len(rows) == 0 {
					return nil, io.EOF
				}
				r := rows[0]
				rows = rows[1:]
				return r, nil
			})
			var ve *engine.ValueError
			if !errors.As(err, &ve) || ve.Column != "v" || ve.Row != 2 {
				t.Fatalf("Load of %v into %s(%d): got %v, want a ValueError for column v row 2",
					c.bad, c.typ.Name, c.typ.Length, err)
			}
		})
	}
}
