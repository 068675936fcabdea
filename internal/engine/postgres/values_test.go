package postgres

import (
	"errors"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// TestLoad_ValueErrors loads one bad value per case into a SQL Server
// typed column and wants a ValueError naming table, column and row.
func TestLoad_ValueErrors(t *testing.T) {
	server(t)
	plus2 := time.FixedZone("", 2*3600)
	cases := []struct {
		name  string
		typ   bacpac.Type
		good  any
		bad   any
		lossy bool // the bad value loads with Driver.Lossy
	}{
		{"long_string", bacpac.Type{Name: "nvarchar", Length: 3}, "abc", "abcd", false},
		{"long_char", bacpac.Type{Name: "nchar", Length: 2}, "a ", "abc", false},
		{"nul", bacpac.Type{Name: "nvarchar", Max: true}, "a", "a\x00b", false},
		{"decimal_digits", bacpac.Type{Name: "decimal", Precision: 4, Scale: 2},
			bacpac.NewDecimal(9999, 2), bacpac.NewDecimal(10000, 2), false},
		{"decimal_scale", bacpac.Type{Name: "decimal", Precision: 6, Scale: 2},
			bacpac.NewDecimal(12340, 3), bacpac.NewDecimal(12341, 4), false},
		{"tinyint_range", bacpac.Type{Name: "smallint"}, int64(32767), int64(32768), false},
		{"offset", bacpac.Type{Name: "datetimeoffset", Scale: 7},
			time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			time.Date(2024, 1, 2, 3, 4, 5, 0, plus2), true},
		{"hundred_ns", bacpac.Type{Name: "datetime2", Scale: 7},
			time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
			time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC), true},
		{"time_ns", bacpac.Type{Name: "time", Scale: 7},
			bacpac.TimeOfDay(time.Second), bacpac.TimeOfDay(time.Second + 100), true},
	}
	// One empty database per setting, emptied again by Abort after each
	// case: creating a database per case costs most of the test's time.
	dbs := map[bool]engine.Config{false: newDatabase(t), true: newDatabase(t)}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := &bacpac.Table{Schema: "dbo", Name: "v_" + c.name, Columns: []*bacpac.Column{
				{Name: "id", Type: bacpac.Type{Name: "int"}},
				{Name: "val", Type: c.typ, Nullable: true},
			}}
			m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tb}}
			// Load from Go values and, as an import does, LoadRaw from
			// the package's stored values, where a package can hold the
			// bad value at all (the writer refuses some).
			pkg, perr := enginetest.WritePackage(tb, [][]any{{int64(1), c.good}, {int64(2), nil}, {int64(3), c.bad}})
			for _, mode := range []int{0, 1, 2, 3} {
				lossy, raw := mode%2 == 1, mode >= 2
				if raw && perr != nil {
					continue
				}
				d := &Driver{Lossy: lossy}
				tgt, err := d.OpenTarget(t.Context(), dbs[lossy], false)
				if err != nil {
					t.Fatal(err)
				}
				if err := tgt.CreateTables(t.Context(), m); err != nil {
					t.Fatal(err)
				}
				rows := [][]any{{int64(1), c.good}, {int64(2), nil}, {int64(3), c.bad}}
				i := 0
				if raw {
					rs := pkg.Rows(pkg.Model().Tables[0])
					_, err = tgt.(engine.RawLoader).LoadRaw(t.Context(), tb, enginetest.RawRows(rs))
					rs.Close()
				} else {
					_, err = tgt.Load(t.Context(), tb, func() ([]any, error) {
						if i == len(rows) {
							return nil, io.EOF
						}
						i++
						return rows[i-1], nil
					})
				}
				var ve *engine.ValueError
				switch {
				case lossy && c.lossy:
					if err != nil {
						t.Errorf("lossy load of %v (raw %v): %v", c.bad, raw, err)
					}
				case !errors.As(err, &ve):
					t.Errorf("load of %v (lossy %v, raw %v): got %v, want a ValueError", c.bad, lossy, raw, err)
				case ve.Table != "dbo.v_"+c.name || ve.Column != "val" || ve.Row != 3:
					t.Errorf("ValueError names %s/%s/%d, want dbo.v_%s/val/3", ve.Table, ve.Column,
						ve.Row, c.name)
				case errors.Is(err, engine.ErrLossy) != c.lossy:
					t.Errorf("errors.Is(%q, ErrLossy) = %v, want %v", err, !c.lossy, c.lossy)
				}
				if err := tgt.Abort(t.Context()); err != nil {
					t.Errorf("Abort: %v", err)
				}
				tgt.Close()
			}
		})
	}
}

// TestLoad_ServerValueError checks that a value the server rejects inside
// COPY (invalid JSON for a jsonb column) is reported with its row.
func TestLoad_ServerValueError(t *testing.T) {
	server(t)
	cfg := newName(t)
	tb := &bacpac.Table{Schema: "dbo", Name: "j", Columns: []*bacpac.Column{
		{Name: "id", Type: bacpac.Type{Name: "int"}},
		{Name: "doc", Type: bacpac.Type{Name: "nvarchar", Max: true}, Nullable: true,
			Properties: []bacpac.Property{{Name: bacpac.SourceTypeProperty, Value: "postgres:jsonb"}}},
	}}
	tb.Columns[0].Properties = []bacpac.Property{{Name: bacpac.SourceTypeProperty, Value: "postgres:integer"}}
	m := &bacpac.Model{Tables: []*bacpac.Table{tb}}
	tgt, err := New().OpenTarget(t.Context(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	if err := tgt.CreateTables(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{{int64(1), `{"a":1}`}, {int64(2), `{not json`}}
	i := 0
	_, err = tgt.Load(t.Context(), tb, func() ([]any, error) {
		if i == len(rows) {
			return nil, io.EOF
		}
		i++
		return rows[i-1], nil
	})
	var ve *engine.ValueError
	if !errors.As(err, &ve) || ve.Row != 2 || ve.Column != "doc" {
		t.Fatalf("load of invalid JSON: got %v, want a ValueError for row 2 column doc", err)
	}
}

// TestNumericCodec round-trips decimals through the binary numeric form.
func TestNumericCodec(t *testing.T) {
	values := []string{"0", "1", "-1", "0.0001", "12345678.9", "-0.00000000001",
		"99999999999999999999999999999999999999", "10000", "1.5", "123456789012345678901234.56789"}
	for _, v := range values {
		d, err := bacpac.ParseDecimal(v)
		if err != nil {
			t.Fatal(err)
		}
		b := appendNumeric(nil, d)
		got, err := decodeNumeric(b[4:], bacpac.Type{Precision: 38, Scale: d.Scale})
		if err != nil {
			t.Fatalf("decode %s: %v", v, err)
		}
		if got.Cmp(d) != 0 || got.Scale != d.Scale {
			t.Errorf("numeric %s came back as %s", v, got)
		}
	}
	if _, err := decodeNumeric([]byte{0, 0, 0, 0, 0xC0, 0, 0, 0}, bacpac.Type{Precision: 10}); err == nil {
		t.Errorf("NaN numeric decoded without an error")
	}
	big38 := bacpac.Decimal{Unscaled: new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)}
	if _, err := decodeNumeric(appendNumeric(nil, big38)[4:], bacpac.Type{Precision: 38}); err == nil {
		t.Errorf("a 39-digit numeric decoded into decimal(38,0)")
	}
}
