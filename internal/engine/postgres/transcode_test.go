package postgres

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// transcodeCase is a source column and the target columns its values are
// transcoded into.
type transcodeCase struct {
	src     bacpac.Type
	targets []targetCol
	value   func(r *rand.Rand) any
}

func transcodeCases() []transcodeCase {
	ints := func(bits int) func(r *rand.Rand) any {
		return func(r *rand.Rand) any {
			switch bits {
			case 8:
				return int64(r.IntN(256))
			case 16:
				return int64(int16(r.Uint32()))
			case 32:
				return int64(int32(r.Uint32()))
			}
			return int64(r.Uint64()) >> r.IntN(64)
		}
	}
	intTargets := []targetCol{{kind: tInt2}, {kind: tInt4}, {kind: tInt8}}
	return []transcodeCase{
		{bacpac.Type{Name: "tinyint"}, intTargets, ints(8)},
		{bacpac.Type{Name: "smallint"}, intTargets, ints(16)},
		{bacpac.Type{Name: "int"}, intTargets, ints(32)},
		{bacpac.Type{Name: "bigint"}, intTargets, ints(64)},
		{bacpac.Type{Name: "bit"}, []targetCol{{kind: tBool}}, func(r *rand.Rand) any { return r.IntN(2) == 0 }},
		{bacpac.Type{Name: "real"}, []targetCol{{kind: tFloat4}},
			func(r *rand.Rand) any { return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30))) }},
		{bacpac.Type{Name: "float", Precision: 53}, []targetCol{{kind: tFloat8}},
			func(r *rand.Rand) any { return r.NormFloat64() * math.Pow(10, float64(r.IntN(600)-300)) }},
		{bacpac.Type{Name: "decimal", Precision: 12, Scale: 2},
			[]targetCol{{kind: tNumeric, prec: 12, scale: 2}, {kind: tNumeric}, {kind: tNumeric, prec: 8, scale: 2}},
			func(r *rand.Rand) any { return enginetest.RandDecimal(r, 12, 2) }},
		{bacpac.Type{Name: "decimal", Precision: 38, Scale: 9},
			[]targetCol{{kind: tNumeric, prec: 38, scale: 9}, {kind: tNumeric}},
			func(r *rand.Rand) any { return enginetest.RandDecimal(r, 38, 9) }},
		{bacpac.Type{Name: "decimal", Precision: 18, Scale: 0},
			[]targetCol{{kind: tNumeric, prec: 18}, {kind: tNumeric}},
			func(r *rand.Rand) any { return enginetest.RandDecimal(r, 18, 0) }},
		{bacpac.Type{Name: "decimal", Precision: 20, Scale: 15},
			[]targetCol{{kind: tNumeric, prec: 20, scale: 15}, {kind: tNumeric}},
			func(r *rand.Rand) any { return enginetest.RandDecimal(r, 20, 15) }},
		{bacpac.Type{Name: "date"}, []targetCol{{kind: tDate}},
			func(r *rand.Rand) any { return bacpac.DateOf(enginetest.RandTime(r, false)) }},
		{bacpac.Type{Name: "datetime2", Scale: 7}, []targetCol{{kind: tTimestamp}, {kind: tTimestamptz}},
			func(r *rand.Rand) any { return enginetest.RandTime(r, false) }},
		{bacpac.Type{Name: "datetimeoffset", Scale: 7}, []targetCol{{kind: tTimestamptz}, {kind: tTimestamp}},
			func(r *rand.Rand) any { return enginetest.RandTime(r, true) }},
		{bacpac.Type{Name: "uniqueidentifier"}, []targetCol{{kind: tUUID}},
			func(r *rand.Rand) any {
				var u bacpac.UUID
				for i := range u {
					u[i] = byte(r.Uint32())
				}
				return u
			}},
		{bacpac.Type{Name: "nvarchar", Max: true},
			[]targetCol{{kind: tText}, {kind: tText, length: 10}, {kind: tJSONB}},
			func(r *rand.Rand) any { return enginetest.RandText(r, 30) }},
		{bacpac.Type{Name: "nchar", Length: 6},
			[]targetCol{{kind: tText, length: 6, padded: true}, {kind: tText}},
			func(r *rand.Rand) any {
				var sb strings.Builder
				n := r.IntN(7)
				for range n {
					sb.WriteString([]string{"a", "b", "é", "\x00", " "}[r.IntN(5)])
				}
				return sb.String() + strings.Repeat(" ", 6-n)
			}},
		{bacpac.Type{Name: "varbinary", Max: true}, []targetCol{{kind: tBytea}},
			func(r *rand.Rand) any {
				b := make([]byte, r.IntN(40))
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				return b
			}},
	}
}

// TestTranscode_MatchesGeneralPath writes random and edge values of each
// stored kind into a package, reads them back undecoded, and wants every
// value a transcoder takes written byte for byte as the general path
// (decode, convert, appendBinary) writes it; values it declines must be
// ones the general path treats specially or refuses.
func TestTranscode_MatchesGeneralPath(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range transcodeCases() {
		t.Run(tc.src.Name, func(t *testing.T) {
			tb := &bacpac.Table{Schema: "dbo", Name: "t", Columns: []*bacpac.Column{
				{Name: "v", Type: tc.src, Nullable: true}}}
			rows := make([][]any, 2000)
			for i := range rows {
				rows[i] = []any{tc.value(r)}
			}
			rows[0][0] = nil
			p := enginetest.MemPackage(t, tb, rows)
			for _, col := range tc.targets {
				col.name = "v"
				tr := transcoderFor(p.Rows(tb).StoredKinds()[0], &col)
				if tr == nil {
					t.Fatalf("no transcoder into %+v", col)
				}
				rs := p.Rows(tb)
				took := 0
				for rs.NextRaw() {
					b := rs.RawValues()[0]
					if b == nil {
						continue
					}
					fast, ok := tr(nil, b)
					if !ok {
						continue
					}
					took++
					v, err := rs.Decode(0, b)
					if err != nil {
						t.Fatalf("Decode of a value the transcoder took: %v", err)
					}
					for _, lossy := range []bool{false, true} {
						cv, err := col.convert(v, lossy)
						if err != nil {
							t.Fatalf("into %+v: the transcoder took %#v, the general path refuses it: %v", col, v, err)
						}
						if want := appendBinary(nil, col.kind, cv); !bytes.Equal(fast, want) {
							t.Fatalf("into %+v: %#v transcoded to % x, the general path writes % x", col, v, fast, want)
						}
					}
				}
				if err := rs.Err(); err != nil {
					t.Fatal(err)
				}
				rs.Close()
				t.Logf("into %+v: %d of %d values transcoded", col, took, len(rows)-1)
				if took == 0 && col.kind != tInt2 && col.kind != tFloat4 && col.kind != tTimestamp {
					t.Errorf("into %+v: no value transcoded", col)
				}
			}
		})
	}
}

// TestAppendNumericUint compares the 64-bit numeric writer with the
// general one at every scale it takes.
func TestAppendNumericUint(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	mags := []uint64{0, 1, 9, 10, 9999, 10000, 10001, 99990000, math.MaxUint64, 1e19, 123456789012345678}
	for range 5000 {
		mags = append(mags, r.Uint64()>>r.IntN(64))
	}
	for _, mag := range mags {
		for scale := 0; scale <= 15; scale++ {
			for _, neg := range []bool{false, true} {
				d := bacpac.Decimal{Unscaled: new(big.Int).SetUint64(mag), Scale: scale}
				if neg {
					d.Unscaled.Neg(d.Unscaled)
				}
				got := appendNumericUint(nil, neg && mag != 0, mag, scale)
				if want := appendNumeric(nil, d); !bytes.Equal(got, want) {
					t.Fatalf("%s: % x, want % x", d, got, want)
				}
			}
		}
	}
}
