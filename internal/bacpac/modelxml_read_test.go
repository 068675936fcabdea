package bacpac

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func column(t *testing.T, tbl *Table, name string) *Column {
	t.Helper()
	for _, c := range tbl.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("table %s has no column %s", tbl.Name, name)
	return nil
}

func TestReadModel_AdventureWorksLT(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "AdventureWorksLT.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := f.Model()
	if len(m.Tables) != 12 || m.Collation != "SQL_Latin1_General_CP1_CI_AS" ||
		!strings.HasSuffix(m.DSPName, "SqlAzureV12DatabaseSchemaProvider") {
		t.Fatalf("%d tables, collation %q, dsp %q", len(m.Tables), m.Collation, m.DSPName)
	}
	if !slices.Equal(m.Schemas, []string{"SalesLT", "dbo"}) {
		t.Errorf("schemas %v", m.Schemas)
	}

	cust := m.Table("SalesLT", "Customer")
	first := column(t, cust, "FirstName")
	if first.Alias != "[dbo].[Name]" || first.Type != (Type{Name: "nvarchar", Length: 50}) ||
		first.Nullable {
		t.Errorf("FirstName (alias Name) = %+v", first)
	}
	style := column(t, cust, "NameStyle") // alias Flag: bit NOT NULL
	if style.Type.Name != "bit" || style.Nullable || style.Default == nil {
		t.Errorf("NameStyle = %+v", style)
	}
	id := column(t, cust, "CustomerID")
	if id.Identity == nil || *id.Identity != (Identity{Seed: 1, Increment: 1}) {
		t.Errorf("CustomerID identity = %+v", id.Identity)
	}

	soh := m.Table("SalesLT", "SalesOrderHeader")
	num := column(t, soh, "SalesOrderNumber")
	if !strings.Contains(num.Computed, "SalesOrderID") {
		t.Errorf("SalesOrderNumber computed = %q", num.Computed)
	}
	if slices.Contains(soh.DataColumns(), num) {
		t.Error("a computed column is among the data columns")
	}
	if len(soh.Uniques) != 2 || soh.PrimaryKey == nil || !soh.PrimaryKey.Clustered {
		t.Errorf("SalesOrderHeader keys: pk %+v uniques %d", soh.PrimaryKey, len(soh.Uniques))
	}

	sod := m.Table("SalesLT", "SalesOrderDetail")
	var fk *ForeignKey
	for _, k := range sod.ForeignKeys {
		if k.Name == "FK_SalesOrderDetail_SalesOrderHeader_SalesOrderID" {
			fk = k
		}
	}
	want := &ForeignKey{
		Name: "FK_SalesOrderDetail_SalesOrderHeader_SalesOrderID", Columns: []string{"SalesOrderID"},
		RefSchema: "SalesLT", RefTable: "SalesOrderHeader", RefColumns: []string{"SalesOrderID"},
		OnDelete: Cascade,
	}
	if !reflect.DeepEqual(fk, want) {
		t.Errorf("FK = %+v, want %+v", fk, want)
	}

	prod := m.Table("SalesLT", "Product")
	if len(prod.Checks) != 4 {
		t.Errorf("Product has %d checks, want 4", len(prod.Checks))
	}
	addr := m.Table("SalesLT", "Address")
	if len(addr.Indexes) != 2 || len(addr.Indexes[0].Columns) != 6 {
		t.Errorf("Address indexes = %+v", addr.Indexes)
	}

	kinds := map[string]int{}
	for _, o := range m.Objects {
		kinds[o.Kind]++
		if o.Kind == "SqlView" && !strings.HasPrefix(o.Script, "CREATE VIEW") {
			t.Errorf("view %s script %.40q", o.Name, o.Script)
		}
	}
	for kind, n := range map[string]int{"SqlView": 3, "SqlProcedure": 2, "SqlSequence": 1,
		"SqlScalarFunction": 1, "SqlInlineTableValuedFunction": 1} {
		if kinds[kind] != n {
			t.Errorf("%d objects of kind %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
	if len(m.Unknown) != 0 {
		t.Errorf("unknown element types %v", m.Unknown)
	}
}

func TestReadModel_InlineConstraintsAndBOM(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "abilities.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl := f.Model().Table("dbo", "abilities")
	if tbl == nil || tbl.PrimaryKey == nil {
		t.Fatalf("table or key missing: %+v", tbl)
	}
	if tbl.PrimaryKey.Name != "" || tbl.PrimaryKey.SystemName != "PK__abilitie__3213E83F47E4E2FD" {
		t.Errorf("inline PK = %+v", tbl.PrimaryKey)
	}
	def := column(t, tbl, "id").Default
	if def == nil || def.Expression != "(newid())" || def.SystemName != "DF__abilities__id__5CD6CB2B" {
		t.Errorf("inline default = %+v", def)
	}
}

func TestReadModel_UmbracoIndexes(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "UmbracoCommerceDemoStore_v17.0.0.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := f.Model()
	if len(m.Tables) != 127 {
		t.Errorf("%d tables, want 127", len(m.Tables))
	}
	filtered, included := 0, 0
	for _, tbl := range m.Tables {
		for _, ix := range tbl.Indexes {
			if ix.Filter != "" {
				filtered++
			}
			if len(ix.Included) > 0 {
				included++
			}
		}
	}
	if filtered == 0 || included == 0 {
		t.Errorf("%d filtered and %d INCLUDE indexes, want some of each", filtered, included)
	}
	kinds := map[string]bool{}
	for _, o := range m.Objects {
		kinds[o.Kind] = true
	}
	for _, k := range []string{"SqlLogin", "SqlUser", "SqlRoleMembership", "SqlPermissionStatement"} {
		if !kinds[k] {
			t.Errorf("no %s among the objects", k)
		}
	}
}

// syntheticModel exercises shapes no fixture has: extended properties on a
// table and a column, a non-default identity, descending and included index
// columns, an update action, an alias type whose nullability the column
// overrides, a collation, and element types the reader does not know.
const syntheticModel = "\xef\xbb\xbf" + `<?xml version="1.0" encoding="utf-8"?>
<DataSchemaModel FileFormatVersion="1.2" SchemaVersion="2.9" DspName="X.Sql160DatabaseSchemaProvider" CollationLcid="1033" CollationCaseSensitive="True" xmlns="http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02">
<Header><CustomData Category="x"/></Header>
<Model>
<Element Type="SqlUserDefinedDataType" Name="[app].[Code]">
	<Property Name="Length" Value="5"/><Property Name="IsNullable" Value="False"/>
	<Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[char]"/></Entry></Relationship>
</Element>
<Element Type="SqlSchema" Name="[app]"/>
<Element Type="SqlSchema" Name="[empty]"/>
<Element Type="SqlTable" Name="[app].[T]]x]">
	<Relationship Name="Columns">
	<Entry><Element Type="SqlSimpleColumn" Name="[app].[T]]x].[Id]">
		<Property Name="IsNullable" Value="False"/><Property Name="IsIdentity" Value="True"/>
		<Property Name="IdentitySeed" Value="1000"/><Property Name="IdentityIncrement" Value="-5"/>
		<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier">
			<Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[bigint]"/></Entry></Relationship>
		</Element></Entry></Relationship>
	</Element></Entry>
	<Entry><Element Type="SqlSimpleColumn" Name="[app].[T]]x].[Code]">
		<Property Name="Collation" Value="Latin1_General_BIN2"/>
		<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier">
			<Relationship Name="Type"><Entry><References Name="[app].[Code]"/></Entry></Relationship>
		</Element></Entry></Relationship>
	</Element></Entry>
	<Entry><Element Type="SqlSimpleColumn" Name="[app].[T]]x].[At]">
		<Property Name="IsNullable" Value="False"/>
		<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier">
			<Property Name="Scale" Value="3"/>
			<Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[datetime2]"/></Entry></Relationship>
		</Element></Entry></Relationship>
	</Element></Entry>
	<Entry><Element Type="SqlSimpleColumn" Name="[app].[T]]x].[Doc]">
		<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlXmlTypeSpecifier">
			<Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[xml]"/></Entry></Relationship>
		</Element></Entry></Relationship>
	</Element></Entry>
	<Entry><Element Type="SqlComputedColumn" Name="[app].[T]]x].[Twice]">
		<Property Name="IsPersisted" Value="True"/>
		<Property Name="ExpressionScript"><Value><![CDATA[([Id]*(2))]]></Value></Property>
	</Element></Entry>
	</Relationship>
	<Relationship Name="Schema"><Entry><References Name="[app]"/></Entry></Relationship>
</Element>
<Element Type="SqlIndex" Name="[app].[T]]x].[IX]">
	<Property Name="IsUnique" Value="True"/>
	<Property Name="FilterPredicate"><Value><![CDATA[([Code] IS NOT NULL)]]></Value></Property>
	<Relationship Name="ColumnSpecifications">
		<Entry><Element Type="SqlIndexedColumnSpecification">
			<Property Name="IsAscending" Value="False"/>
			<Relationship Name="Column"><Entry><References Name="[app].[T]]x].[At]"/></Entry></Relationship>
		</Element></Entry>
		<Entry><Element Type="SqlIndexedColumnSpecification">
			<Relationship Name="Column"><Entry><References Name="[app].[T]]x].[Id]"/></Entry></Relationship>
		</Element></Entry>
	</Relationship>
	<Relationship Name="IncludedColumns"><Entry><References Name="[app].[T]]x].[Code]"/></Entry></Relationship>
	<Relationship Name="IndexedObject"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
</Element>
<Element Type="SqlPrimaryKeyConstraint" Name="[app].[PK_T]">
	<Property Name="IsClustered" Value="False"/>
	<Relationship Name="ColumnSpecifications"><Entry><Element Type="SqlIndexedColumnSpecification">
		<Relationship Name="Column"><Entry><References Name="[app].[T]]x].[Id]"/></Entry></Relationship>
	</Element></Entry></Relationship>
	<Relationship Name="DefiningTable"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
</Element>
<Element Type="SqlForeignKeyConstraint" Name="[app].[FK_self]">
	<Property Name="OnDeleteAction" Value="2"/><Property Name="OnUpdateAction" Value="1"/>
	<Relationship Name="Columns"><Entry><References Name="[app].[T]]x].[Id]"/></Entry></Relationship>
	<Relationship Name="DefiningTable"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
	<Relationship Name="ForeignColumns"><Entry><References Name="[app].[T]]x].[Id]"/></Entry></Relationship>
	<Relationship Name="ForeignTable"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
</Element>
<Element Type="SqlCheckConstraint">
	<Property Name="CheckExpressionScript"><Value><![CDATA[([Id]>(0))]]></Value></Property>
	<Relationship Name="DefiningTable"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
	<Annotation Type="SqlInlineConstraintAnnotation" Name="[app].[CK__T__Id__1234]" Disambiguator="3"/>
</Element>
<Element Type="SqlExtendedProperty" Name="[SqlTableBase].[app].[T]]x].[MS_Description]">
	<Property Name="Value"><Value><![CDATA[N'It''s a table']]></Value></Property>
	<Relationship Name="Host"><Entry><References Name="[app].[T]]x]"/></Entry></Relationship>
</Element>
<Element Type="SqlExtendedProperty" Name="[SqlColumn].[app].[T]]x].[Id].[bacport_source_type]">
	<Property Name="Value"><Value><![CDATA[N'serial8']]></Value></Property>
	<Relationship Name="Host"><Entry><References Name="[app].[T]]x].[Id]"/></Entry></Relationship>
</Element>
<Element Type="SqlQuantumWidget" Name="[app].[W1]"><Property Name="Spin" Value="up"/></Element>
<Element Type="SqlQuantumWidget" Name="[app].[W2]"/>
<Element Type="SqlView" Name="[app].[V]">
	<Property Name="QueryScript"><Value><![CDATA[SELECT 1 AS [One]]]></Value></Property>
</Element>
</Model>
</DataSchemaModel>
`

func TestReadModel_Synthetic(t *testing.T) {
	m, err := ReadModel(strings.NewReader(syntheticModel))
	if err != nil {
		t.Fatal(err)
	}
	if !m.CaseSensitive || m.CollationLCID != 1033 {
		t.Errorf("root attributes: %+v", m)
	}
	if !slices.Equal(m.Schemas, []string{"app", "empty"}) {
		t.Errorf("schemas %v", m.Schemas)
	}
	tbl := m.Table("app", "T]x")
	if tbl == nil {
		t.Fatalf("no table [app].[T]]x]; tables %v", m.Tables)
	}
	id := column(t, tbl, "Id")
	if *id.Identity != (Identity{Seed: 1000, Increment: -5}) || id.Nullable {
		t.Errorf("Id = %+v identity %+v", id, id.Identity)
	}
	if v, ok := id.Property(SourceTypeProperty); !ok || v != "serial8" {
		t.Errorf("Id source type property = %q, %v", v, ok)
	}
	code := column(t, tbl, "Code")
	if code.Type != (Type{Name: "char", Length: 5}) || !code.Nullable ||
		code.Alias != "[app].[Code]" || code.Collation != "Latin1_General_BIN2" {
		t.Errorf("Code = %+v", code)
	}
	if at := column(t, tbl, "At"); at.Type != (Type{Name: "datetime2", Scale: 3}) {
		t.Errorf("At type = %+v", at.Type)
	}
	if doc := column(t, tbl, "Doc"); doc.Type.Name != "xml" {
		t.Errorf("Doc type = %+v", doc.Type)
	}
	if tw := column(t, tbl, "Twice"); tw.Computed != "([Id]*(2))" || !tw.Persisted {
		t.Errorf("Twice = %+v", tw)
	}
	wantIx := &Index{Name: "IX", Unique: true, Filter: "([Code] IS NOT NULL)",
		Columns:  []IndexColumn{{Name: "At", Descending: true}, {Name: "Id"}},
		Included: []string{"Code"}}
	if len(tbl.Indexes) != 1 || !reflect.DeepEqual(tbl.Indexes[0], wantIx) {
		t.Errorf("indexes = %+v", tbl.Indexes)
	}
	if pk := tbl.PrimaryKey; pk == nil || pk.Clustered || pk.Name != "PK_T" {
		t.Errorf("pk = %+v", pk)
	}
	if fk := tbl.ForeignKeys[0]; fk.OnDelete != SetNull || fk.OnUpdate != Cascade {
		t.Errorf("fk = %+v", fk)
	}
	if ck := tbl.Checks[0]; ck.SystemName != "CK__T__Id__1234" || ck.Expression != "([Id]>(0))" {
		t.Errorf("check = %+v", ck)
	}
	if !reflect.DeepEqual(tbl.Properties, []Property{{Name: "MS_Description", Value: "It's a table"}}) {
		t.Errorf("table properties = %+v", tbl.Properties)
	}
	if !slices.Equal(m.Unknown, []string{"SqlQuantumWidget"}) {
		t.Errorf("unknown = %v", m.Unknown)
	}
	if len(m.Objects) != 3 || m.Objects[2].Script != "SELECT 1 AS [One]" {
		t.Errorf("objects = %+v", m.Objects)
	}
}

func TestReadModel_Malformed(t *testing.T) {
	cases := map[string]string{
		"empty":           "",
		"not xml":         "PK\x03\x04 binary",
		"wrong root":      `<Other/>`,
		"unclosed":        `<DataSchemaModel><Model><Element Type="SqlTable" Name="[a].[b]">`,
		"mismatched tags": `<DataSchemaModel><Model></DataSchemaModel></Model>`,
		"element no type": `<DataSchemaModel><Model><Element Name="[x]"/></Model></DataSchemaModel>`,
		"two roots":       `<DataSchemaModel/><DataSchemaModel/>`,
		"bad entity":      `<DataSchemaModel a="&bogus;"/>`,
		"deep nesting":    `<DataSchemaModel><Model>` + strings.Repeat(`<Element Type="X"><Relationship Name="R"><Entry>`, 100),
		"truncated cdata": `<DataSchemaModel><Model><Element Type="SqlView"><Property Name="QueryScript"><Value><![CDATA[SELECT`,
		"text after root": `<DataSchemaModel></DataSchemaModel>junk`,
		"nested too deeply": `<DataSchemaModel><Model>` + strings.Repeat(`<Element Type="X"><Relationship Name="R"><Entry>`, 70) +
			strings.Repeat(`</Entry></Relationship></Element>`, 70) + `</Model></DataSchemaModel>`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadModel(strings.NewReader(doc))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("ReadModel(%.40q) = %v, want ErrFormat", doc, err)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	cases := map[string][]string{
		"[dbo].[T]":           {"dbo", "T"},
		"[a]]b].[c.d]":        {"a]b", "c.d"},
		"[int]":               {"int"},
		"plain":               {"plain"},
		"[dbo].[T].[C]":       {"dbo", "T", "C"},
		"[unterminated":       {"unterminated"},
		"":                    nil,
		"[Order Details].[x]": {"Order Details", "x"},
	}
	for in, want := range cases {
		if got := splitName(in); !slices.Equal(got, want) {
			t.Errorf("splitName(%q) = %q, want %q", in, got, want)
		}
	}
}
