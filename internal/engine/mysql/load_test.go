package mysql

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// TestLoad_ManyChunks: a table of many chunks is loaded by several
// connections at once; every row arrives once, and a bad value in a late
// chunk fails the load naming its row.
func TestLoad_ManyChunks(t *testing.T) {
	needServer(t)
	saved := loadChunkRows
	loadChunkRows = 97 // 10,000 rows: 104 chunks
	t.Cleanup(func() { loadChunkRows = saved })

	tbl := &bacpac.Table{Schema: "dbo", Name: "many", Columns: []*bacpac.Column{
		{Name: "id", Type: bacpac.Type{Name: "int"}},
		{Name: "v", Type: bacpac.Type{Name: "nvarchar", Length: 10}, Nullable: true},
	}, PrimaryKey: &bacpac.Key{Columns: []bacpac.IndexColumn{{Name: "id"}}}}
	m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}
	const rows = 10_000

	load := func(badRow int64) (engine.Config, int64, error) {
		cfg := newName(t)
		tgt, err := New().OpenTarget(t.Context(), cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		defer tgt.Close()
		if err := tgt.CreateTables(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		var i int64
		n, err := tgt.Load(t.Context(), tbl, func() ([]any, error) {
			if i == rows {
				return nil, io.EOF
			}
			i++
			v := fmt.Sprintf("r%d", i)
			if i == badRow {
				v = "far too long for ten"
			}
			return []any{i, v}, nil
		})
		return cfg, n, err
	}

	cfg, n, err := load(0)
	if err != nil || n != rows {
		t.Fatalf("load: %d rows, %v; want %d", n, err, rows)
	}
	db := openDB(t, cfg)
	defer db.Close()
	var count, sum, distinct int64
	if err := db.QueryRow("SELECT COUNT(*), SUM(id), COUNT(DISTINCT v) FROM many").Scan(&count, &sum,
		&distinct); err != nil {
		t.Fatal(err)
	}
	if count != rows || sum != rows*(rows+1)/2 || distinct != rows {
		t.Errorf("loaded %d rows, sum %d, %d distinct values; want %d, %d, %d", count, sum, distinct,
			rows, rows*(rows+1)/2, rows)
	}

	_, _, err = load(9_001)
	var ve *engine.ValueError
	if !errors.As(err, &ve) || ve.Row != 9_001 || ve.Column != "v" || !strings.Contains(ve.Table, "many") {
		t.Fatalf("load with a bad row 9001: %v; want a ValueError naming column v, row 9001", err)
	}
}
