package mysql

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// Values MySQL cannot hold exactly fail the load naming table, column and
// row (the second row here), and the lossy option lets the documented
// mappings through.
func TestLoad_ValueErrors(t *testing.T) {
	needServer(t)
	offset := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 5*3600))
	cases := []struct {
		name  string
		typ   bacpac.Type
		good  any
		bad   any
		say   string
		lossy bool // the lossy option accepts bad
	}{
		{"long_text", bacpac.Type{Name: "nvarchar", Length: 3}, "abc", "abcd", "", false},
		{"long_binary", bacpac.Type{Name: "varbinary", Length: 2}, []byte{1}, []byte{1, 2, 3}, "", false},
		{"decimal_digits", bacpac.Type{Name: "decimal", Precision: 4, Scale: 2},
			bacpac.NewDecimal(1234, 2), bacpac.NewDecimal(123456, 2), "", false},
		{"offset", bacpac.Type{Name: "datetimeoffset", Scale: 0}, offset.UTC(), offset,
			"datetimeoffset=utc", true},
		{"hundred_ns", bacpac.Type{Name: "datetime2", Scale: 7},
			time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
			time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC), "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Load from Go values and, as an import does, LoadRaw from
			// the package's stored values, where a package can hold the
			// bad value at all (the writer refuses some).
			for _, mode := range []int{0, 1, 2, 3} {
				lossy, raw := mode%2 == 1, mode >= 2
				if lossy && !c.lossy {
					continue
				}
				cfg := newName(t)
				if lossy {
					cfg.DSN += "?lossy=true" // the same as cfg.Lossy
				}
				err := loadTwo(t, cfg, c.typ, c.good, c.bad, raw)
				if errors.Is(err, errPackageRefuses) {
					continue
				}
				if lossy {
					if err != nil {
						t.Errorf("with the lossy option: %v", err)
					}
					continue
				}
				var ve *engine.ValueError
				if !errors.As(err, &ve) || ve.Column != "v" || ve.Row != 2 || !strings.Contains(ve.Table, "t") {
					t.Fatalf("load of %v: got %v, want a ValueError for table t column v row 2", c.bad, err)
				}
				if !strings.Contains(err.Error(), c.say) {
					t.Errorf("error %q does not say %q", err, c.say)
				}
				if got := errors.Is(err, engine.ErrLossy); got != c.lossy {
					t.Errorf("errors.Is(%q, ErrLossy) = %v, want %v", err, got, c.lossy)
				}
			}
		})
	}
}

// errPackageRefuses is loadTwo's answer when raw is set but a package
// cannot hold the values.
var errPackageRefuses = errors.New("the package writer refuses the values")

func loadTwo(t *testing.T, cfg engine.Config, typ bacpac.Type, good, bad any, raw bool) error {
	t.Helper()
	tbl := &bacpac.Table{Schema: "dbo", Name: "t", Columns: []*bacpac.Column{
		{Name: "id", Type: bacpac.Type{Name: "int"}},
		{Name: "v", Type: typ, Nullable: true},
	}}
	m := &bacpac.Model{Schemas: []string{"dbo"}, Tables: []*bacpac.Table{tbl}}
	tgt, err := New().OpenTarget(t.Context(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	if err := tgt.CreateTables(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{{int64(1), good}, {int64(2), bad}}
	if raw {
		pkg, err := enginetest.WritePackage(tbl, rows)
		if err != nil {
			return errPackageRefuses
		}
		rs := pkg.Rows(pkg.Model().Tables[0])
		defer rs.Close()
		_, err = tgt.(engine.RawLoader).LoadRaw(t.Context(), tbl, enginetest.RawRows(rs))
		return err
	}
	_, err = tgt.Load(t.Context(), tbl, func() ([]any, error) {
		if len(rows) == 0 {
			return nil, io.EOF
		}
		r := rows[0]
		rows = rows[1:]
		return r, nil
	})
	return err
}
