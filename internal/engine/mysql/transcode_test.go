package mysql

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// transcodeCase is a package column, the MySQL type it was exported from
// ("" for a package from elsewhere), and its values.
type transcodeCase struct {
	typ    bacpac.Type
	source string
	value  func(r *rand.Rand) any
}

func transcodeCases() []transcodeCase {
	ints := func(bits int) func(r *rand.Rand) any {
		return func(r *rand.Rand) any { return int64(r.Uint64()) >> (64 - bits + r.IntN(bits)) }
	}
	tinyint := func(r *rand.Rand) any { return int64(r.IntN(256)) }
	dec := func(p, s int) func(r *rand.Rand) any {
		return func(r *rand.Rand) any { return enginetest.RandDecimal(r, p, s) }
	}
	text := func(max int) func(r *rand.Rand) any {
		return func(r *rand.Rand) any { return enginetest.RandText(r, max) }
	}
	return []transcodeCase{
		{bacpac.Type{Name: "int"}, "", ints(32)},
		{bacpac.Type{Name: "int"}, "int(11)", ints(32)},
		{bacpac.Type{Name: "int"}, "mediumint(9)", ints(32)},
		{bacpac.Type{Name: "bigint"}, "int(10) unsigned", ints(64)},
		{bacpac.Type{Name: "bigint"}, "bigint(20)", ints(64)},
		{bacpac.Type{Name: "smallint"}, "tinyint(4)", ints(16)},
		{bacpac.Type{Name: "tinyint"}, "", tinyint},
		{bacpac.Type{Name: "decimal", Precision: 12, Scale: 2}, "decimal(12,2)", dec(12, 2)},
		{bacpac.Type{Name: "decimal", Precision: 12, Scale: 2}, "decimal(10,2) unsigned", dec(12, 2)},
		{bacpac.Type{Name: "decimal", Precision: 12, Scale: 2}, "", dec(12, 2)},
		{bacpac.Type{Name: "decimal", Precision: 38, Scale: 9}, "", dec(38, 9)},
		{bacpac.Type{Name: "float", Precision: 53}, "double", func(r *rand.Rand) any {
			return r.NormFloat64() * math.Pow(10, float64(r.IntN(600)-300))
		}},
		{bacpac.Type{Name: "real"}, "float", func(r *rand.Rand) any {
			return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30)))
		}},
		{bacpac.Type{Name: "real"}, "", func(r *rand.Rand) any { return float32(r.NormFloat64()) }},
		{bacpac.Type{Name: "date"}, "", func(r *rand.Rand) any { return bacpac.DateOf(enginetest.RandTime(r, false)) }},
		{bacpac.Type{Name: "datetime2", Scale: 6}, "datetime(6)", func(r *rand.Rand) any { return enginetest.RandTime(r, false) }},
		{bacpac.Type{Name: "datetime2", Scale: 0}, "datetime", func(r *rand.Rand) any { return enginetest.RandTime(r, false) }},
		{bacpac.Type{Name: "datetime2", Scale: 7}, "", func(r *rand.Rand) any { return enginetest.RandTime(r, false) }},
		{bacpac.Type{Name: "datetimeoffset", Scale: 7}, "", func(r *rand.Rand) any { return enginetest.RandTime(r, true) }},
		{bacpac.Type{Name: "uniqueidentifier"}, "uuid", func(r *rand.Rand) any {
			var u bacpac.UUID
			for i := range u {
				u[i] = byte(r.Uint32())
			}
			return u
		}},
		{bacpac.Type{Name: "uniqueidentifier"}, "", func(r *rand.Rand) any { return bacpac.UUID{1, 2, 3} }},
		{bacpac.Type{Name: "nvarchar", Max: true}, "text", text(40)},
		{bacpac.Type{Name: "nvarchar", Max: true}, "longtext", text(40)},
		{bacpac.Type{Name: "nvarchar", Max: true}, "tinytext", text(300)},
		{bacpac.Type{Name: "nchar", Length: 84}, "char(84)", text(84)},
		{bacpac.Type{Name: "nvarchar", Length: 10}, "", text(10)},
		{bacpac.Type{Name: "nvarchar", Length: 10}, "varchar(5)", text(10)},
		{bacpac.Type{Name: "varbinary", Length: 64}, "varbinary(64)", func(r *rand.Rand) any {
			return []byte(enginetest.RandText(r, 32))
		}},
		{bacpac.Type{Name: "varbinary", Max: true}, "", func(r *rand.Rand) any { return []byte(enginetest.RandText(r, 80)) }},
	}
}

// TestTranscode_MatchesWriteValue writes random values of each case into
// a package, reads them back undecoded, and wants every value a
// transcoder takes written byte for byte as writeValue writes its decoded
// value; values it declines go that way in a load.
func TestTranscode_MatchesWriteValue(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range transcodeCases() {
		name := tc.typ.Name + "/" + tc.source
		t.Run(name, func(t *testing.T) {
			col := &bacpac.Column{Name: "v", Type: tc.typ, Nullable: true}
			if tc.source != "" {
				col.Properties = []bacpac.Property{{Name: bacpac.SourceTypeProperty, Value: sourcePrefix + tc.source}}
			}
			tb := &bacpac.Table{Schema: "dbo", Name: "t", Columns: []*bacpac.Column{col}}
			rows := make([][]any, 2000)
			for i := range rows {
				rows[i] = []any{tc.value(r)}
			}
			p := enginetest.MemPackage(t, tb, rows)
			for _, truncate := range []bool{false, true} {
				tg := &target{s: &settings{truncate: truncate, offsetToUTC: truncate},
					names: map[[2]string]string{}, plans: map[*bacpac.Table]*tablePlan{}}
				plan, err := tg.plan(tb)
				if err != nil {
					t.Fatal(err)
				}
				l := &loader{tg: tg, t: tb, p: plan}
				rs := p.Rows(tb)
				tr := transcoderFor(rs.StoredKinds()[0], plan.cols[0])
				if tr == nil {
					t.Fatalf("no transcoder into %s", plan.cols[0].t.ddl)
				}
				took, n := 0, int64(0)
				for rs.NextRaw() {
					n++
					b := rs.RawValues()[0]
					if b == nil {
						continue
					}
					var fast bytes.Buffer
					var scratch []byte
					if !tr(&fast, b, &scratch) {
						if fast.Len() != 0 {
							t.Fatalf("a declined value left %q", fast.String())
						}
						continue
					}
					took++
					v, err := rs.Decode(0, b)
					if err != nil {
						t.Fatal(err)
					}
					var want bytes.Buffer
					if err := l.writeValue(&want, 0, v, n); err != nil {
						t.Fatalf("into %s: transcoded %#v to %q, writeValue refuses it: %v",
							plan.cols[0].t.ddl, v, fast.String(), err)
					}
					if !bytes.Equal(fast.Bytes(), want.Bytes()) {
						t.Fatalf("into %s: %#v transcoded to %q, writeValue writes %q",
							plan.cols[0].t.ddl, v, fast.String(), want.String())
					}
				}
				if err := rs.Err(); err != nil {
					t.Fatal(err)
				}
				rs.Close()
				if took == 0 {
					t.Errorf("into %s: no value transcoded", plan.cols[0].t.ddl)
				}
				t.Logf("into %s: %d of %d transcoded", plan.cols[0].t.ddl, took, len(rows))
			}
		})
	}
}
