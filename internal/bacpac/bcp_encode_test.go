package bacpac

import (
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// unhex decodes space-separated hex bytes; "…" is not allowed, so long
// runs of zeros are spelled out by zeros().
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func zeros(n int) string { return strings.Repeat("00 ", n) }

func col(name string, ty Type, nullable bool) *Column {
	return &Column{Name: name, Type: ty, Nullable: nullable}
}

func mustDecimal(t *testing.T, s string) Decimal {
	t.Helper()
	d, err := ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestColEncoder_FixtureBytes checks the encoder against the byte examples
// of §4.4 and §3.10 of the format note, which come from real DacFx output.
func TestColEncoder_FixtureBytes(t *testing.T) {
	utc := time.UTC
	plus455 := time.FixedZone("", 4*3600+55*60)
	cases := []struct {
		name  string
		col   *Column
		value any
		want  string
	}{
		{"int 1", col("c", Type{Name: "int"}, false), int64(1), "01 00 00 00"},
		{"tinyint 127", col("c", Type{Name: "tinyint"}, false), int64(127), "7f"},
		{"smallint max", col("c", Type{Name: "smallint"}, false), int64(32767), "ff 7f"},
		{"int max", col("c", Type{Name: "int"}, false), int64(math.MaxInt32), "ff ff ff 7f"},
		{"bigint max", col("c", Type{Name: "bigint"}, false), int64(math.MaxInt64), "ff ff ff ff ff ff ff 7f"},
		{"float", col("c", Type{Name: "float", Precision: 53}, false), math.Pow(2, 63), "00 00 00 00 00 00 e0 43"},
		{"real", col("c", Type{Name: "real"}, false), float32(9.223372e18), "00 00 00 5f"},
		{"decimal(4,0)", col("c", Type{Name: "decimal", Precision: 4}, false), mustDecimal(t, "1234"), "13 04 00 01 d2 04 " + zeros(14)},
		{"decimal(1,0)", col("c", Type{Name: "decimal", Precision: 1}, false), mustDecimal(t, "5"), "13 01 00 01 05 " + zeros(15)},
		{"decimal(4,2)", col("c", Type{Name: "decimal", Precision: 4, Scale: 2}, false), mustDecimal(t, "12.34"), "13 04 02 01 d2 04 " + zeros(14)},
		{"money", col("c", Type{Name: "money"}, false), mustDecimal(t, "123456789012.1234"), "d5 62 04 00 12 b2 8a 3c"},
		{"smallmoney", col("c", Type{Name: "smallmoney"}, false), mustDecimal(t, "12345.6789"), "15 cd 5b 07"},
		{"uniqueidentifier", col("c", Type{Name: "uniqueidentifier"}, false),
			UUID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
			"10 33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff"},
		{"date", col("c", Type{Name: "date"}, false), Date{2003, 2, 1}, "6e 28 0b"},
		{"datetime", col("c", Type{Name: "datetime"}, false),
			time.Date(2003, 2, 1, 11, 22, 33, 123e6, utc), "13 93 00 00 f1 77 bb 00"},
		{"datetimeoffset(7)", col("c", Type{Name: "datetimeoffset", Scale: 7}, false),
			time.Date(2003, 2, 1, 11, 22, 33, 123456700, plus455), "07 0f f1 23 36 6e 28 0b 27 01"},
		{"datetime2(7)", col("c", Type{Name: "datetime2", Scale: 7}, false),
			time.Date(2003, 2, 1, 11, 22, 33, 123456700, utc), "07 b9 f6 59 5f 6e 28 0b"},
		{"rowversion", col("c", Type{Name: "rowversion"}, false),
			[]byte{0, 0, 0, 0, 0, 0, 0x46, 0x52}, "08 00 00 00 00 00 00 00 46 52"},
		{"smalldatetime", col("c", Type{Name: "smalldatetime"}, false),
			time.Date(2003, 2, 1, 11, 23, 0, 0, utc), "13 93 ab 02"},
		{"time(7)", col("c", Type{Name: "time", Scale: 7}, false),
			TimeOfDay(11*time.Hour + 22*time.Minute + 33*time.Second), "80 e2 e3 59 5f"},
		{"varchar(4)", col("c", Type{Name: "varchar", Length: 4}, false), "A", "02 00 41 00"},
		{"char(4) not null", col("c", Type{Name: "char", Length: 4}, false), "A", "41 00 20 00 20 00 20 00"},
		{"char(1) not null", col("c", Type{Name: "char", Length: 1}, false), "A", "41 00"},
		{"nchar(4) not null", col("c", Type{Name: "nchar", Length: 4}, false), "A", "08 00 41 00 20 00 20 00 20 00"},
		{"nvarchar(1)", col("c", Type{Name: "nvarchar", Length: 1}, false), "A", "02 00 41 00"},
		{"text", col("c", Type{Name: "text"}, true), "1ABCDEFG1",
			"12 00 00 00 31 00 41 00 42 00 43 00 44 00 45 00 46 00 47 00 31 00"},
		{"varchar(max) null", col("c", Type{Name: "varchar", Max: true}, true), nil, "ff ff ff ff ff ff ff ff"},
		{"xml null", col("c", Type{Name: "xml"}, true), nil, "ff ff ff ff ff ff ff ff"},
		{"varchar(8000) null", col("c", Type{Name: "varchar", Length: 8000}, true), nil, "ff ff"},
		{"ntext null", col("c", Type{Name: "ntext"}, true), nil, "ff ff ff ff"},
		{"hierarchyid", col("c", Type{Name: "hierarchyid"}, false), []byte{0x5b, 0x5f, 0x08},
			"03 00 00 00 00 00 00 00 5b 5f 08"},
		{"sql_variant", col("c", Type{Name: "sql_variant"}, true), Variant(unhex(t, "a7 07 0904d0 0034 1a00 4142")),
			"0b 00 00 00 a7 07 09 04 d0 00 34 1a 00 41 42"},
		{"sql_variant null", col("c", Type{Name: "sql_variant"}, true), nil, "00 00 00 00"},
		{"nullable tinyint", col("c", Type{Name: "tinyint"}, true), int64(1), "01 01"},
		{"nullable int", col("c", Type{Name: "int"}, true), int64(1), "04 01 00 00 00"},
		{"nullable date", col("c", Type{Name: "date"}, true), Date{2003, 2, 1}, "03 6e 28 0b"},
		{"nullable time", col("c", Type{Name: "time", Scale: 7}, true),
			TimeOfDay(11*time.Hour + 22*time.Minute + 33*time.Second), "05 80 e2 e3 59 5f"},
		{"nullable int null", col("c", Type{Name: "int"}, true), nil, "ff"},
		{"nullable char", col("c", Type{Name: "char", Length: 2}, true), "A", "04 00 41 00 20 00"},
		{"bit not null", col("c", Type{Name: "bit"}, false), true, "01 01"},
		{"decimal(19,4) example", col("c", Type{Name: "decimal", Precision: 19, Scale: 4}, true),
			mustDecimal(t, "1234.5600"), "13 13 04 01 00 61 bc 00 " + zeros(12)},
		{"nvarchar example", col("c", Type{Name: "nvarchar", Length: 50}, false), "INV-0001",
			"10 00 49 00 4e 00 56 00 2d 00 30 00 30 00 30 00 31 00"},
		{"negative decimal(38,0)", col("c", Type{Name: "decimal", Precision: 38}, false),
			mustDecimal(t, "-99999999999999999999999999999999999999"),
			"13 26 00 00 ff ff ff ff 3f 22 8a 09 7a c4 86 5a a8 4c 3b 4b"},
		{"non-BMP nvarchar", col("c", Type{Name: "nvarchar", Length: 2}, false), "😀",
			"04 00 3d d8 00 de"},
		{"binary(3) pads", col("c", Type{Name: "binary", Length: 3}, false), []byte{1}, "03 00 01 00 00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ce, err := newColEncoder(tc.col)
			if err != nil {
				t.Fatalf("newColEncoder(%+v): %v", tc.col.Type, err)
			}
			got, err := ce.append(nil, tc.value)
			if err != nil {
				t.Fatalf("append(%v): %v", tc.value, err)
			}
			if want := unhex(t, tc.want); string(got) != string(want) {
				t.Errorf("append(%v) = % x, want % x", tc.value, got, want)
			}
		})
	}
}

// TestRowEncoder_InvoiceExample encodes the two rows of the §3.10 example.
func TestRowEncoder_InvoiceExample(t *testing.T) {
	tbl := &Table{Schema: "dbo", Name: "Invoice", Columns: []*Column{
		col("InvoiceId", Type{Name: "int"}, false),
		col("CustomerId", Type{Name: "int"}, false),
		col("Number", Type{Name: "nvarchar", Length: 50}, false),
		col("Amount", Type{Name: "decimal", Precision: 19, Scale: 4}, true),
	}}
	enc, err := newRowEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := enc.appendRow(nil, []any{int64(7), int64(42), "INV-0001", mustDecimal(t, "1234.5600")})
	if err != nil {
		t.Fatal(err)
	}
	buf, err = enc.appendRow(buf, []any{int64(8), int64(42), "INV-0002", nil})
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "07 00 00 00 2a 00 00 00 10 00 49 00 4e 00 56 00 2d 00 30 00 30 00 30 00 31 00"+
		"13 13 04 01 00 61 bc 00"+zeros(12)+
		"08 00 00 00 2a 00 00 00 10 00 49 00 4e 00 56 00 2d 00 30 00 30 00 30 00 32 00 ff")
	if string(buf) != string(want) {
		t.Errorf("rows = % x\nwant   % x", buf, want)
	}
}

// TestColEncoder_Rejects checks that values that do not fit their column
// fail with ErrInvalidValue instead of being written wrongly.
func TestColEncoder_Rejects(t *testing.T) {
	huge := new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)
	cases := []struct {
		name  string
		col   *Column
		value any
	}{
		{"tinyint negative", col("c", Type{Name: "tinyint"}, true), int64(-1)},
		{"tinyint 256", col("c", Type{Name: "tinyint"}, true), int64(256)},
		{"smallint overflow", col("c", Type{Name: "smallint"}, true), int64(40000)},
		{"int as Go int", col("c", Type{Name: "int"}, true), 5},
		{"NULL in NOT NULL", col("c", Type{Name: "int"}, false), nil},
		{"decimal too precise", col("c", Type{Name: "decimal", Precision: 5, Scale: 2}, true), mustDecimal(t, "1.234")},
		{"decimal too large", col("c", Type{Name: "decimal", Precision: 5, Scale: 2}, true), mustDecimal(t, "1000.00")},
		{"decimal 10^38", col("c", Type{Name: "decimal", Precision: 38}, true), Decimal{Unscaled: huge}},
		{"smallmoney overflow", col("c", Type{Name: "smallmoney"}, true), mustDecimal(t, "214749")},
		{"nvarchar too long", col("c", Type{Name: "nvarchar", Length: 1}, true), "😀"},
		{"char too long", col("c", Type{Name: "char", Length: 2}, true), "abc"},
		{"invalid UTF-8", col("c", Type{Name: "nvarchar", Length: 10}, true), "a\xffb"},
		{"binary too long", col("c", Type{Name: "binary", Length: 2}, true), []byte{1, 2, 3}},
		{"rowversion short", col("c", Type{Name: "rowversion"}, false), []byte{1}},
		{"float NaN", col("c", Type{Name: "float"}, true), math.NaN()},
		{"datetime before 1753", col("c", Type{Name: "datetime"}, true), time.Date(1752, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"smalldatetime after 2079", col("c", Type{Name: "smalldatetime"}, true), time.Date(2079, 6, 7, 0, 0, 0, 0, time.UTC)},
		{"date year 0", col("c", Type{Name: "date"}, true), Date{0, 12, 31}},
		{"date Feb 30", col("c", Type{Name: "date"}, true), Date{2001, 2, 30}},
		{"time 24h", col("c", Type{Name: "time"}, true), TimeOfDay(24 * time.Hour)},
		{"offset in seconds", col("c", Type{Name: "datetimeoffset"}, true), time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", 30))},
		{"string for int", col("c", Type{Name: "int"}, true), "1"},
		{"bytes for variant", col("c", Type{Name: "sql_variant"}, true), []byte{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ce, err := newColEncoder(tc.col)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ce.append([]byte{9}, tc.value)
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("append(%#v) error = %v, want ErrInvalidValue", tc.value, err)
			}
			if len(got) != 1 {
				t.Errorf("append(%#v) left %d bytes in the buffer, want 1", tc.value, len(got))
			}
		})
	}
}

// TestRowEncoder_ErrorNamesColumn checks the error text a caller sees.
func TestRowEncoder_ErrorNamesColumn(t *testing.T) {
	tbl := &Table{Schema: "dbo", Name: "T", Columns: []*Column{
		col("a", Type{Name: "int"}, false),
		col("b", Type{Name: "tinyint"}, false),
	}}
	enc, err := newRowEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := enc.appendRow([]byte{1}, []any{int64(1), int64(300)})
	if err == nil || !strings.Contains(err.Error(), `column "b" (tinyint)`) ||
		!strings.Contains(err.Error(), "300 is out of range") {
		t.Fatalf("appendRow error = %v, want one naming column b and the value", err)
	}
	if len(buf) != 1 {
		t.Errorf("appendRow kept %d bytes of a failed row", len(buf)-1)
	}
}

// TestColEncoder_Rounding checks that temporal values are rounded to the
// column's scale the way SQL Server rounds, carrying into the next day.
func TestColEncoder_Rounding(t *testing.T) {
	ce, _ := newColEncoder(col("c", Type{Name: "datetime2", Scale: 0}, false))
	got, err := ce.append(nil, time.Date(2000, 1, 1, 23, 59, 59, 600e6, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ce.append(nil, time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC))
	if string(got) != string(want) {
		t.Errorf("23:59:59.6 at scale 0 = % x, want midnight of the next day % x", got, want)
	}
	ce, _ = newColEncoder(col("c", Type{Name: "time", Scale: 3}, false))
	got, _ = ce.append(nil, TimeOfDay(1234567))
	want, _ = ce.append(nil, TimeOfDay(1000000))
	if string(got) != string(want) {
		t.Errorf("1.234567 ms at time(3) = % x, want 1 ms % x", got, want)
	}
}
