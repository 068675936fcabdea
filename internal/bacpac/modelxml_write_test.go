package bacpac

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// richModel has every constraint and index kind the model carries.
func richModel() *Model {
	intT := Type{Name: "int"}
	customer := &Table{
		Schema: "sales", Name: "Customer",
		Columns: []*Column{
			{Name: "Id", Type: intT, Identity: &Identity{Seed: 1, Increment: 1}},
			{Name: "Code", Type: Type{Name: "nchar", Length: 8}},
			{Name: "Region", Type: Type{Name: "varchar", Length: 20}, Nullable: true,
				Collation: "Latin1_General_100_CI_AS_SC"},
			{Name: "Account", Type: Type{Name: "nvarchar", Length: 15}, Alias: "[dbo].[AccountNumber]",
				Nullable: true},
		},
		PrimaryKey: &Key{Name: "PK_Customer", Columns: []IndexColumn{{Name: "Id"}}, Clustered: true},
		Uniques: []*Key{
			{Name: "UQ_Customer_Code", Columns: []IndexColumn{{Name: "Code"}, {Name: "Region", Descending: true}}},
			{SystemName: "UQ__Customer__A25C5AA7", Columns: []IndexColumn{{Name: "Account"}}},
		},
		Properties: []Property{{Name: "MS_Description", Value: "People who buy; it's 'quoted'"}},
	}
	order := &Table{
		Schema: "dbo", Name: "Order]s",
		Columns: []*Column{
			{Name: "OrderId", Type: Type{Name: "bigint"}, Identity: &Identity{Seed: 100, Increment: 5}},
			{Name: "CustomerId", Type: intT, Nullable: true},
			{Name: "Line", Type: Type{Name: "smallint"}},
			{Name: "Amount", Type: Type{Name: "decimal", Precision: 19, Scale: 4},
				Default: &Default{Name: "DF_Order_Amount", Expression: "((0))"}},
			{Name: "Placed", Type: Type{Name: "datetime2", Scale: 3}, Nullable: true,
				Default:    &Default{SystemName: "DF__Orders__Placed__1A2B3C", Expression: "(getdate())"},
				Properties: []Property{{Name: "MS_Description", Value: "When & where <placed>"}}},
			{Name: "Note", Type: Type{Name: "nvarchar", Max: true}, Nullable: true,
				Default: &Default{Expression: "(N'')"}},
			{Name: "Doc", Type: Type{Name: "xml"}, Nullable: true},
			{Name: "Total", Type: Type{}, Computed: "([Amount]*(2))", Persisted: true, Nullable: true},
			{Name: "Shape", Type: Type{Name: "geography"}, Nullable: true},
			{Name: "Ratio", Type: Type{Name: "float", Precision: 53}, Nullable: true},
			{Name: "At", Type: Type{Name: "time"}, Nullable: true},
		},
		PrimaryKey: &Key{Name: "PK_Orders", Columns: []IndexColumn{{Name: "OrderId"}, {Name: "Line"}}},
		ForeignKeys: []*ForeignKey{
			{Name: "FK_Orders_Customer", Columns: []string{"CustomerId"}, RefSchema: "sales",
				RefTable: "Customer", RefColumns: []string{"Id"}, OnDelete: Cascade, OnUpdate: SetNull},
			{SystemName: "FK__Orders__Self__5EBF139D", Columns: []string{"OrderId", "Line"}, RefSchema: "dbo",
				RefTable: "Order]s", RefColumns: []string{"OrderId", "Line"}},
		},
		Checks: []*Check{
			{Name: "CK_Orders_Amount", Expression: "([Amount]>=(0))"},
			{SystemName: "CK__Orders__Line__6A30C649", Expression: "([Line]>(0) AND [Note]<>N']]>')"},
		},
		Indexes: []*Index{
			{Name: "IX_Orders_Customer", Columns: []IndexColumn{{Name: "CustomerId"}, {Name: "Placed", Descending: true}},
				Included: []string{"Amount", "Note"}},
			{Name: "UX_Orders_Placed", Unique: true, Columns: []IndexColumn{{Name: "Placed"}},
				Filter: "([Placed] IS NOT NULL)"},
			{Name: "CX_Orders", Clustered: true, Columns: []IndexColumn{{Name: "Line"}}},
		},
	}
	return &Model{
		DSPName:       "Microsoft.Data.Tools.Schema.Sql.SqlAzureV12DatabaseSchemaProvider",
		Collation:     "Latin1_General_CI_AS",
		CollationLCID: 1033,
		Schemas:       []string{"dbo", "sales"},
		Tables:        []*Table{customer, order},
		AliasTypes: []AliasType{{Schema: "dbo", Name: "AccountNumber",
			Base: Type{Name: "nvarchar", Length: 15}, Nullable: true}},
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestMarshalModel_RoundTrip writes model.xml for a schema with every
// constraint and index kind and reads it back with the package reader.
func TestMarshalModel_RoundTrip(t *testing.T) {
	m := richModel()
	data := writePackage(t, m, WriterOptions{}, func(*Writer) {})
	pkg, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got := pkg.Model()
	if len(got.Unknown) > 0 || len(got.Objects) > 0 {
		t.Errorf("reader saw unknown elements %v or objects %v", got.Unknown, got.Objects)
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"DSPName", got.DSPName, m.DSPName},
		{"Collation", got.Collation, m.Collation},
		{"CollationLCID", got.CollationLCID, m.CollationLCID},
		{"CaseSensitive", got.CaseSensitive, m.CaseSensitive},
		{"AliasTypes", got.AliasTypes, m.AliasTypes},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, dump(f.got), dump(f.want))
		}
	}
	if !slicesContain(got.Schemas, "sales") {
		t.Errorf("Schemas = %v, want sales among them", got.Schemas)
	}
	if len(got.Tables) != len(m.Tables) {
		t.Fatalf("read %d tables, want %d", len(got.Tables), len(m.Tables))
	}
	for _, want := range m.Tables {
		gt := got.Table(want.Schema, want.Name)
		if gt == nil {
			t.Errorf("table %s.%s missing", want.Schema, want.Name)
			continue
		}
		// Constraint order is not meaningful: model.xml sorts the elements.
		normalizeConstraintOrder(gt)
		normalizeConstraintOrder(want)
		if !reflect.DeepEqual(gt, want) {
			t.Errorf("table %s.%s read back as\n%s\nwant\n%s", want.Schema, want.Name, dump(gt), dump(want))
		}
	}
}

func normalizeConstraintOrder(t *Table) {
	keyName := func(name, system string) string { return name + "\x00" + system }
	slices.SortFunc(t.Uniques, func(a, b *Key) int {
		return strings.Compare(keyName(a.Name, a.SystemName), keyName(b.Name, b.SystemName))
	})
	slices.SortFunc(t.ForeignKeys, func(a, b *ForeignKey) int {
		return strings.Compare(keyName(a.Name, a.SystemName), keyName(b.Name, b.SystemName))
	})
	slices.SortFunc(t.Checks, func(a, b *Check) int {
		return strings.Compare(keyName(a.Name, a.SystemName), keyName(b.Name, b.SystemName))
	})
	slices.SortFunc(t.Indexes, func(a, b *Index) int { return strings.Compare(a.Name, b.Name) })
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestMarshalModel_Shape checks details of the XML itself: well-formed,
// CRLF and tabs, no BOM, elements sorted as §3.9 describes, and the
// ObjectCounts tally.
func TestMarshalModel_Shape(t *testing.T) {
	data, counts, err := marshalModel(richModel())
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.HasPrefix(text, `<?xml version="1.0" encoding="utf-8"?>`+"\r\n<DataSchemaModel ") {
		t.Errorf("model.xml starts %q", text[:80])
	}
	if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
		t.Errorf("model.xml has a bare LF")
	}
	if strings.HasSuffix(text, "\n") {
		t.Errorf("model.xml ends with a newline")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var order []string
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("model.xml is not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 && x.Name.Local == "Element" {
				name := ""
				for _, a := range x.Attr {
					if a.Name.Local == "Name" {
						name = a.Value
					}
				}
				order = append(order, name)
			}
		case xml.EndElement:
			depth--
		}
	}
	got := strings.Join(order, "\n")
	want := strings.Join([]string{
		// The options, then five inline constraints: a unique key, two
		// defaults, a foreign key and a check.
		"", "", "", "", "", "",
		"[dbo].[AccountNumber]",
		"[dbo].[CK_Orders_Amount]",
		"[dbo].[DF_Order_Amount]",
		"[dbo].[FK_Orders_Customer]",
		"[dbo].[Order]]s]",
		"[dbo].[Order]]s].[CX_Orders]",
		"[dbo].[Order]]s].[IX_Orders_Customer]",
		"[dbo].[Order]]s].[UX_Orders_Placed]",
		"[dbo].[PK_Orders]",
		"[sales]",
		"[sales].[Customer]",
		"[sales].[PK_Customer]",
		"[sales].[UQ_Customer_Code]",
		"[SqlColumn].[dbo].[Order]]s].[Placed].[MS_Description]",
		"[SqlTableBase].[sales].[Customer].[MS_Description]",
	}, "\n")
	if got != want {
		t.Errorf("element order:\n%s\nwant\n%s", got, want)
	}
	wantCounts := map[string]int{
		"DatabaseOptions": 1, "Schema": 1, "UserDefinedDataType": 1, "Table": 2,
		"SimpleColumn": 14, "ComputedColumn": 1, "DefaultConstraint": 3,
		"PrimaryKeyConstraint": 2, "UniqueConstraint": 2, "ForeignKeyConstraint": 2,
		"CheckConstraint": 2, "Index": 3, "ExtendedProperty": 2,
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("counts = %v, want %v", counts, wantCounts)
	}
}

// TestMarshalModel_References checks that dangling references are refused
// and an undeclared alias type falls back to the column's base type.
func TestMarshalModel_References(t *testing.T) {
	bad := []func(m *Model){
		func(m *Model) { m.Tables[1].ForeignKeys[0].RefTable = "Gone" },
		func(m *Model) { m.Tables[1].ForeignKeys[0].RefColumns = []string{"Nope"} },
		func(m *Model) { m.Tables[1].ForeignKeys[0].Columns = []string{"Nope"} },
		func(m *Model) { m.Tables[1].ForeignKeys[0].RefColumns = nil },
		func(m *Model) { m.Tables[0].PrimaryKey.Columns[0].Name = "Nope" },
		func(m *Model) { m.Tables[1].Indexes[0].Included = []string{"Nope"} },
	}
	for i, change := range bad {
		m := richModel()
		change(m)
		if _, _, err := marshalModel(m); err == nil {
			t.Errorf("case %d: marshalModel accepted a dangling reference", i)
		}
	}

	m := richModel()
	m.AliasTypes = nil
	data, _, err := marshalModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "AccountNumber") {
		t.Errorf("model.xml references the undeclared alias type")
	}
	if !strings.Contains(string(data), `<Property Name="Length" Value="15" />`) {
		t.Errorf("the alias-typed column lost its base type's length")
	}
}
