package bacpac

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/testenv"
)

// fuzzColumns covers every type of §4, each NOT NULL and nullable, so the
// BCP fuzzer meets every framing.
func fuzzColumns() []*Column {
	types := []Type{
		{Name: "tinyint"}, {Name: "smallint"}, {Name: "int"}, {Name: "bigint"},
		{Name: "bit"}, {Name: "decimal", Precision: 38, Scale: 10}, {Name: "money"},
		{Name: "smallmoney"}, {Name: "real"}, {Name: "float", Precision: 53},
		{Name: "date"}, {Name: "time", Scale: 7}, {Name: "datetime2", Scale: 3},
		{Name: "datetimeoffset", Scale: 7}, {Name: "datetime"}, {Name: "smalldatetime"},
		{Name: "uniqueidentifier"}, {Name: "char", Length: 3}, {Name: "varchar", Length: 10},
		{Name: "nchar", Length: 2}, {Name: "nvarchar", Max: true}, {Name: "binary", Length: 4},
		{Name: "varbinary", Max: true}, {Name: "rowversion"}, {Name: "text"}, {Name: "ntext"},
		{Name: "image"}, {Name: "xml"}, {Name: "geography"}, {Name: "hierarchyid"},
		{Name: "sql_variant"},
	}
	var cols []*Column
	for _, nullable := range []bool{false, true} {
		for _, t := range types {
			cols = append(cols, &Column{Name: t.Name, Type: t, Nullable: nullable})
		}
	}
	return cols
}

// decodePart decodes data as a part of a table whose columns start at
// column start of fuzzColumns, returning the rows decoded.
func decodePart(data []byte, start int) (int, error) {
	all := fuzzColumns()
	var cols []colDecoder
	for _, c := range all[start%len(all):] {
		d, err := newColDecoder(c)
		if err != nil {
			return 0, err
		}
		cols = append(cols, d)
	}
	p := &partDecoder{
		name: "Data/dbo.F/TableData-000-00000.BCP",
		br:   bufio.NewReaderSize(bytes.NewReader(data), partBufferSize),
		size: int64(len(data)),
		cols: cols,
	}
	vals := make([]any, len(cols))
	rows := 0
	for {
		ok, err := p.next(vals)
		if !ok {
			return rows, err
		}
		rows++
		for _, v := range vals {
			if x, isVariant := v.(Variant); isVariant {
				x.Value()
			}
		}
	}
}

func FuzzBCP(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4}, 0)
	f.Add(bytes.Repeat([]byte{0xff}, 200), 31)
	f.Add([]byte{0x2a, 0x13, 0x26, 0x0a, 1, 1, 2, 3}, 5)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 0x41, 0, 0x42, 0, 0x43, 0, 0x44, 0}, 51)
	f.Add([]byte{0x23, 0, 0, 0, 0xa7, 7, 9, 4, 0xd0, 0, 0x34, 0x1a, 0}, 61)
	f.Fuzz(func(t *testing.T, data []byte, start int) {
		if start < 0 {
			start = -start
		}
		_, err := decodePart(data, start)
		var de *DataError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("error is not a *DataError: %v", err)
		}
		if de != nil && (de.Offset < 0 || de.Offset > int64(len(data))) {
			t.Fatalf("offset %d outside a %d-byte part", de.Offset, len(data))
		}
	})
}

func FuzzModelXML(f *testing.F) {
	f.Add([]byte(syntheticModel))
	f.Add([]byte(`<DataSchemaModel><Model><Element Type="SqlTable" Name="[a].[b]"/></Model></DataSchemaModel>`))
	f.Add([]byte(`<DataSchemaModel><Model><Element Type="SqlView"><Property Name="QueryScript"><Value><![CDATA[x]]></Value></Property></Element></Model></DataSchemaModel>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadModel(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for _, tbl := range m.Tables {
			tbl.DataColumns()
		}
	})
}

// fuzzPackage builds a small valid package: one table of a few types, one
// part of two rows.
func fuzzPackage(t testing.TB) []byte {
	model := `<?xml version="1.0" encoding="utf-8"?>
<DataSchemaModel xmlns="http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02"><Model>
<Element Type="SqlTable" Name="[dbo].[T]"><Relationship Name="Columns">
<Entry><Element Type="SqlSimpleColumn" Name="[dbo].[T].[Id]"><Property Name="IsNullable" Value="False"/>
<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier"><Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[int]"/></Entry></Relationship></Element></Entry></Relationship></Element></Entry>
<Entry><Element Type="SqlSimpleColumn" Name="[dbo].[T].[S]">
<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier"><Property Name="Length" Value="10"/><Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[nvarchar]"/></Entry></Relationship></Element></Entry></Relationship></Element></Entry>
</Relationship></Element></Model></DataSchemaModel>`
	sum := sha256.Sum256([]byte(model))
	origin := `<DacOrigin><ExportStatistics><TableRowCountTotalTag>2</TableRowCountTotalTag></ExportStatistics>` +
		`<Checksums><Checksum Uri="/model.xml">` + strings.ToUpper(hex.EncodeToString(sum[:])) +
		`</Checksum></Checksums></DacOrigin>`
	part := []byte{1, 0, 0, 0, 2, 0, 'a', 0, 2, 0, 0, 0, 0xff, 0xff}
	return buildZip(t, []testEntry{
		{"model.xml", []byte(model)},
		{"Data/dbo.T/TableData-000-00000.BCP", part},
		{"Origin.xml", []byte(origin)},
	}, false)
}

func TestFuzzPackage_Valid(t *testing.T) {
	if err := verifyBytes(fuzzPackage(t)); err != nil {
		t.Fatal(err)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(fuzzPackage(f))
	z := fuzzPackage(f)
	f.Add(buildZip64(f, []testEntry{{"model.xml", []byte("<DataSchemaModel/>")}, {"Origin.xml", []byte("<DacOrigin/>")}}))
	f.Add(z[:len(z)-10])
	// A real package as a seed, when the shared fixtures are beside us.
	shared := os.Getenv("BACPORT_SHARED")
	if shared == "" {
		shared = filepath.Join(testenv.RepoRoot(), "..", "shared")
	}
	name := filepath.Join(shared, "fixtures", "bacpac", "SoftExpress_Challenge.bacpac")
	if b, err := os.ReadFile(name); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, tbl := range p.Model().Tables {
			rows := p.Rows(tbl)
			for rows.Next() {
			}
			rows.Close()
		}
		// Every entry can be read through to its end without a panic.
		for _, e := range p.dir.entries {
			if rc, err := p.dir.open(e); err == nil {
				io.Copy(io.Discard, rc)
				rc.Close()
			}
		}
		p.Verify(context.Background(), nil)
	})
}
