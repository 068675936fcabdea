package bacpac

import (
	"io"
	"slices"
	"strconv"
	"strings"
)

// ReadModel parses model.xml (with or without a byte order mark) into a
// Model. It understands tables, columns, alias types, keys, constraints,
// indexes and extended properties; every other element is listed in
// Model.Objects, and element types it does not know at all also in
// Model.Unknown.
func ReadModel(r io.Reader) (*Model, error) {
	x, err := parseModelTree(r)
	if err != nil {
		return nil, err
	}
	b := &modelBuilder{
		m:       &Model{DSPName: x.attrs["DspName"]},
		tables:  map[string]*Table{},
		columns: map[string]*Column{},
		aliases: map[string]*AliasType{},
	}
	b.m.CollationLCID, _ = strconv.Atoi(x.attrs["CollationLcid"])
	b.m.CaseSensitive = strings.EqualFold(x.attrs["CollationCaseSensitive"], "True")
	b.build(x.elements)
	return b.m, nil
}

type modelBuilder struct {
	m       *Model
	tables  map[string]*Table  // by bracketed name "[dbo].[T]"
	columns map[string]*Column // by bracketed name "[dbo].[T].[C]"
	aliases map[string]*AliasType
	schemas []string
	unknown map[string]bool
}

// build interprets the top-level elements: alias types and tables first,
// since columns and constraints refer to them, then everything else.
func (b *modelBuilder) build(elems []*xElem) {
	for _, e := range elems {
		if e.Type == "SqlUserDefinedDataType" {
			b.addAlias(e)
		}
	}
	for _, e := range elems {
		switch e.Type {
		case "SqlTable":
			b.addTable(e)
		case "SqlSchema":
			b.schemas = append(b.schemas, lastPart(e.Name))
		case "SqlDatabaseOptions":
			b.m.Collation = e.props["Collation"]
		}
	}
	for _, e := range elems {
		if !b.addConstraint(e) {
			b.addObject(e)
		}
	}
	for _, t := range b.m.Tables {
		b.schemas = append(b.schemas, t.Schema)
	}
	slices.Sort(b.schemas)
	b.m.Schemas = slices.Compact(b.schemas)
}

func (b *modelBuilder) addAlias(e *xElem) {
	parts := splitName(e.Name)
	a := &AliasType{Nullable: e.props["IsNullable"] != "False"}
	if len(parts) == 2 {
		a.Schema, a.Name = parts[0], parts[1]
	} else {
		a.Name = lastPart(e.Name)
	}
	a.Base = typeFacets(builtinName(e.ref("Type")), e.props)
	b.aliases[e.Name] = a
	b.m.AliasTypes = append(b.m.AliasTypes, *a)
}

func (b *modelBuilder) addTable(e *xElem) {
	parts := splitName(e.Name)
	t := &Table{Name: lastPart(e.Name)}
	if len(parts) >= 2 {
		t.Schema = parts[len(parts)-2]
	}
	for _, c := range e.children("Columns") {
		col := b.column(c)
		t.Columns = append(t.Columns, col)
		b.columns[c.Name] = col
	}
	b.tables[e.Name] = t
	b.m.Tables = append(b.m.Tables, t)
}

// column interprets a SqlSimpleColumn or SqlComputedColumn.
func (b *modelBuilder) column(e *xElem) *Column {
	c := &Column{
		Name:      lastPart(e.Name),
		Nullable:  e.props["IsNullable"] != "False",
		Collation: e.props["Collation"],
	}
	if e.Type == "SqlComputedColumn" {
		c.Computed = e.props["ExpressionScript"]
		if c.Computed == "" {
			// A computed column always has an expression; keep the column
			// out of the data columns even if the model lost it.
			c.Computed = "(NULL)"
		}
		c.Persisted = e.props["IsPersisted"] == "True"
		return c
	}
	if e.props["IsIdentity"] == "True" {
		c.Identity = &Identity{
			Seed:      intProp(e.props["IdentitySeed"], 1),
			Increment: intProp(e.props["IdentityIncrement"], 1),
		}
	}
	for _, spec := range e.children("TypeSpecifier") {
		c.Type, c.Alias = b.specType(spec)
		if c.Collation == "" {
			c.Collation = spec.props["Collation"]
		}
	}
	return c
}

// specType resolves a SqlTypeSpecifier to a built-in type with facets,
// merging an alias type's facets under the specifier's own.
func (b *modelBuilder) specType(spec *xElem) (Type, string) {
	ref := spec.ref("Type")
	if a, ok := b.aliases[ref]; ok {
		t := a.Base
		own := typeFacets(t.Name, spec.props)
		if own.Length != 0 {
			t.Length = own.Length
		}
		if own.Precision != 0 {
			t.Precision = own.Precision
		}
		if _, ok := spec.props["Scale"]; ok {
			t.Scale = own.Scale
		}
		t.Max = t.Max || own.Max
		return t, ref
	}
	name := builtinName(ref)
	if name == "sysname" {
		return Type{Name: "nvarchar", Length: 128}, ref
	}
	return typeFacets(name, spec.props), ""
}

// builtinName turns "[int]" or "[sys].[geography]" into "int" or
// "geography". Other names (alias or CLR types) are returned as written.
func builtinName(ref string) string {
	parts := splitName(ref)
	switch {
	case len(parts) == 1:
		return strings.ToLower(parts[0])
	case len(parts) == 2 && strings.EqualFold(parts[0], "sys"):
		return strings.ToLower(parts[1])
	}
	return ref
}

func typeFacets(name string, props map[string]string) Type {
	t := Type{
		Name:      name,
		Length:    int(intProp(props["Length"], 0)),
		Precision: int(intProp(props["Precision"], 0)),
		Scale:     int(intProp(props["Scale"], 0)),
		Max:       props["IsMax"] == "True",
	}
	if t.Max {
		t.Length = 0
	}
	return t
}

func intProp(s string, def int64) int64 {
	s = strings.Trim(strings.TrimSpace(s), "()")
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		return int64(f)
	}
	return def
}

// constraintName returns an element's own name, or for an inline
// (system-named) constraint the generated name from its annotation.
func constraintName(e *xElem) (name string, system string) {
	if e.Name != "" {
		return lastPart(e.Name), ""
	}
	if an := e.annotation("SqlInlineConstraintAnnotation"); an != nil {
		return "", lastPart(an.Name)
	}
	return "", ""
}

// addConstraint attaches a constraint, index or extended property to its
// table. It reports false when e is not one or its table is unknown.
func (b *modelBuilder) addConstraint(e *xElem) bool {
	switch e.Type {
	case "SqlTable", "SqlSchema", "SqlDatabaseOptions", "SqlUserDefinedDataType":
		return true
	case "SqlPrimaryKeyConstraint", "SqlUniqueConstraint":
		t := b.tables[e.ref("DefiningTable")]
		if t == nil {
			return false
		}
		name, system := constraintName(e)
		k := &Key{Name: name, SystemName: system, Columns: indexColumns(e)}
		if e.Type == "SqlPrimaryKeyConstraint" {
			k.Clustered = e.props["IsClustered"] != "False"
			t.PrimaryKey = k
		} else {
			k.Clustered = e.props["IsClustered"] == "True"
			t.Uniques = append(t.Uniques, k)
		}
	case "SqlForeignKeyConstraint":
		t := b.tables[e.ref("DefiningTable")]
		if t == nil {
			return false
		}
		name, system := constraintName(e)
		fk := &ForeignKey{
			Name:       name,
			SystemName: system,
			OnDelete:   Action(intProp(e.props["OnDeleteAction"], 0)),
			OnUpdate:   Action(intProp(e.props["OnUpdateAction"], 0)),
		}
		for _, c := range e.refs("Columns") {
			fk.Columns = append(fk.Columns, lastPart(c))
		}
		for _, c := range e.refs("ForeignColumns") {
			fk.RefColumns = append(fk.RefColumns, lastPart(c))
		}
		if parts := splitName(e.ref("ForeignTable")); len(parts) >= 2 {
			fk.RefSchema, fk.RefTable = parts[len(parts)-2], parts[len(parts)-1]
		}
		t.ForeignKeys = append(t.ForeignKeys, fk)
	case "SqlCheckConstraint":
		t := b.tables[e.ref("DefiningTable")]
		if t == nil {
			return false
		}
		name, system := constraintName(e)
		t.Checks = append(t.Checks, &Check{
			Name: name, SystemName: system, Expression: e.props["CheckExpressionScript"],
		})
	case "SqlDefaultConstraint":
		c := b.columns[e.ref("ForColumn")]
		if c == nil {
			return false
		}
		name, system := constraintName(e)
		c.Default = &Default{
			Name: name, SystemName: system, Expression: e.props["DefaultExpressionScript"],
		}
	case "SqlIndex":
		t := b.tables[e.ref("IndexedObject")]
		if t == nil {
			return false
		}
		t.Indexes = append(t.Indexes, &Index{
			Name:      lastPart(e.Name),
			Unique:    e.props["IsUnique"] == "True",
			Clustered: e.props["IsClustered"] == "True",
			Columns:   indexColumns(e),
			Included:  mapLast(e.refs("IncludedColumns")),
			Filter:    e.props["FilterPredicate"],
		})
	case "SqlExtendedProperty":
		return b.addExtendedProperty(e)
	default:
		return false
	}
	return true
}

func indexColumns(e *xElem) []IndexColumn {
	var cols []IndexColumn
	for _, spec := range e.children("ColumnSpecifications") {
		cols = append(cols, IndexColumn{
			Name:       lastPart(spec.ref("Column")),
			Descending: spec.props["IsAscending"] == "False",
		})
	}
	return cols
}

func mapLast(refs []string) []string {
	var out []string
	for _, r := range refs {
		out = append(out, lastPart(r))
	}
	return out
}

// addExtendedProperty attaches an extended property to the table or column
// its Host names.
func (b *modelBuilder) addExtendedProperty(e *xElem) bool {
	host := e.ref("Host")
	p := Property{Name: lastPart(e.Name), Value: unquoteLiteral(e.props["Value"])}
	if t := b.tables[host]; t != nil {
		t.Properties = append(t.Properties, p)
		return true
	}
	if c := b.columns[host]; c != nil {
		c.Properties = append(c.Properties, p)
		return true
	}
	return false
}

// unquoteLiteral turns a T-SQL string literal N'it”s' into it's. Other
// text (a number, say) is returned unchanged.
func unquoteLiteral(s string) string {
	v := strings.TrimSpace(s)
	if len(v) > 0 && (v[0] == 'N' || v[0] == 'n') {
		v = v[1:]
	}
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return s
	}
	return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
}

// addObject records an element that is not carried as a table.
func (b *modelBuilder) addObject(e *xElem) {
	b.m.Objects = append(b.m.Objects, Object{Kind: e.Type, Name: e.Name, Script: script(e)})
	if knownKinds[e.Type] {
		return
	}
	if b.unknown == nil {
		b.unknown = map[string]bool{}
	}
	if !b.unknown[e.Type] {
		b.unknown[e.Type] = true
		b.m.Unknown = append(b.m.Unknown, e.Type)
	}
}

// script assembles an object's T-SQL from its body property and the
// CREATE header and footer DacFx keeps in SysCommentsObjectAnnotation.
func script(e *xElem) string {
	src := e
	if bodies := e.children("FunctionBody"); len(bodies) > 0 {
		src = bodies[0]
	}
	var body string
	for _, p := range []string{"QueryScript", "BodyScript", "ExpressionScript",
		"DefaultExpressionScript", "CheckExpressionScript", "Value"} {
		if v, ok := src.props[p]; ok {
			body = v
			break
		}
	}
	an := src.annotation("SysCommentsObjectAnnotation")
	if an == nil {
		an = e.annotation("SysCommentsObjectAnnotation")
	}
	if an == nil || an.props["HeaderContents"] == "" {
		return body
	}
	head := an.props["HeaderContents"]
	if body != "" && !endsSpace(head) && !startsSpace(body) {
		head += "\n"
	}
	return head + body + an.props["FooterContents"]
}

func endsSpace(s string) bool {
	return s != "" && strings.ContainsRune(" \t\r\n", rune(s[len(s)-1]))
}

func startsSpace(s string) bool {
	return s != "" && strings.ContainsRune(" \t\r\n", rune(s[0]))
}

// knownKinds are element types the reader expects and lists as objects
// without calling them unknown.
var knownKinds = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`
		SqlView SqlProcedure SqlScalarFunction SqlInlineTableValuedFunction
		SqlMultiStatementTableValuedFunction SqlDmlTrigger SqlDatabaseDdlTrigger
		SqlServerDdlTrigger SqlSequence SqlUser SqlLogin SqlRole SqlApplicationRole
		SqlRoleMembership SqlPermissionStatement SqlRule SqlDefault SqlSynonym
		SqlFilegroup SqlFile SqlFullTextCatalog SqlFullTextIndex SqlFullTextStopList
		SqlPartitionFunction SqlPartitionScheme SqlXmlSchemaCollection SqlTableType
		SqlAssembly SqlUserDefinedType SqlStatistic SqlSpatialIndex SqlXmlIndex
		SqlPrimaryXmlIndex SqlColumnStoreIndex SqlCertificate SqlSymmetricKey
		SqlAsymmetricKey SqlMasterKey SqlDatabaseCredential SqlQueue SqlService
		SqlContract SqlMessageType SqlRoute SqlRemoteServiceBinding SqlBrokerPriority
		SqlEventNotification SqlExternalDataSource SqlExternalFileFormat SqlExternalTable
		SqlSecurityPolicy SqlColumnMasterKey SqlColumnEncryptionKey SqlEdgeConstraint
		SqlDatabaseEventSession SqlSignature SqlDatabaseAuditSpecification
		SqlExtendedProperty SqlPrimaryKeyConstraint SqlUniqueConstraint
		SqlForeignKeyConstraint SqlCheckConstraint SqlDefaultConstraint SqlIndex
		SqlDatabaseScopedConfigurationOptions SqlSearchProperty SqlSearchPropertyList
		SqlWorkloadClassifier SqlExternalLanguage SqlExternalLibrary`) {
		knownKinds[k] = true
	}
}
