package bacpac

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Constants of the model.xml root the writer emits.
const (
	dacNamespace      = "http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02"
	modelFormat       = "1.2"
	modelSchemaVer    = "2.9"
	defaultDSPName    = "Microsoft.Data.Tools.Schema.Sql.Sql150DatabaseSchemaProvider"
	defaultCollation  = "SQL_Latin1_General_CP1_CI_AS"
	defaultCollLCID   = 1033
	builtIns          = `ExternalSource="BuiltIns" `
	inlineAnnotation  = "SqlInlineConstraintAnnotation"
	tableExtPropHost  = "SqlTableBase"
	columnExtPropHost = "SqlColumn"
	sysnameAlias      = "[sys].[sysname]"
)

// xmlOut builds an indented XML document the way DacFx formats its parts:
// tab indentation and CRLF line ends, no final newline.
type xmlOut struct {
	b      bytes.Buffer
	depth  int
	indent string
}

func (x *xmlOut) line(s string) {
	if x.b.Len() > 0 {
		x.b.WriteString("\r\n")
	}
	for range x.depth {
		x.b.WriteString(x.indent)
	}
	x.b.WriteString(s)
}

func (x *xmlOut) open(s string)  { x.line(s); x.depth++ }
func (x *xmlOut) close(s string) { x.depth--; x.line(s) }

// escAttr escapes s for a double-quoted attribute value.
func escAttr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\r':
			b.WriteString("&#xD;")
		case '\n':
			b.WriteString("&#xA;")
		case '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escText escapes s for element text.
func escText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	return r.Replace(s)
}

// cdata wraps s in CDATA sections, splitting any "]]>" inside it.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// bracketName quotes each part as SQL Server does, "]" doubled, and joins
// them with dots: bracketName("dbo", "a]b") is "[dbo].[a]]b]".
func bracketName(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte('[')
		b.WriteString(strings.ReplaceAll(p, "]", "]]"))
		b.WriteByte(']')
	}
	return b.String()
}

// modelElement is one top-level element of the model, rendered into its
// own buffer so the elements can be sorted as DacFx sorts them.
type modelElement struct {
	kind  string
	name  []string // name parts, nil for unnamed elements
	body  []byte
	order int // keeps unnamed elements in creation order
}

// modelWriter renders the elements of a Model.
type modelWriter struct {
	m        *Model
	elems    []modelElement
	counts   map[string]int
	disambig int
	aliases  map[string]bool // declared alias types, bracketed
	x        *xmlOut         // the element being rendered
}

// checkReferences makes sure every column a key, index or foreign key
// names exists, so model.xml never holds a reference DacFx cannot resolve.
func checkReferences(m *Model) error {
	has := func(t *Table, col string) bool {
		for _, c := range t.Columns {
			if c.Name == col {
				return true
			}
		}
		return false
	}
	check := func(t *Table, what string, cols ...string) error {
		for _, c := range cols {
			if !has(t, c) {
				return fmt.Errorf("table %s: %s names column %q, which the table does not have",
					bracketName(t.Schema, t.Name), what, c)
			}
		}
		return nil
	}
	indexCols := func(cols []IndexColumn) []string {
		var out []string
		for _, c := range cols {
			out = append(out, c.Name)
		}
		return out
	}
	for _, t := range m.Tables {
		var keys []*Key
		if t.PrimaryKey != nil {
			keys = append(keys, t.PrimaryKey)
		}
		for _, k := range append(keys, t.Uniques...) {
			if err := check(t, "key "+k.Name, indexCols(k.Columns)...); err != nil {
				return err
			}
		}
		for _, ix := range t.Indexes {
			if err := check(t, "index "+ix.Name, append(indexCols(ix.Columns), ix.Included...)...); err != nil {
				return err
			}
		}
		for _, fk := range t.ForeignKeys {
			if err := check(t, "foreign key "+fk.Name, fk.Columns...); err != nil {
				return err
			}
			schema := fk.RefSchema
			if schema == "" {
				schema = t.Schema
			}
			rt := m.Table(schema, fk.RefTable)
			if rt == nil {
				return fmt.Errorf("table %s: foreign key %s references %s, which is not in the model",
					bracketName(t.Schema, t.Name), fk.Name, bracketName(schema, fk.RefTable))
			}
			if len(fk.RefColumns) != len(fk.Columns) {
				return fmt.Errorf("table %s: foreign key %s pairs %d columns with %d",
					bracketName(t.Schema, t.Name), fk.Name, len(fk.Columns), len(fk.RefColumns))
			}
			if err := check(rt, "foreign key "+fk.Name, fk.RefColumns...); err != nil {
				return err
			}
		}
	}
	return nil
}

// marshalModel renders m as model.xml and returns the bytes and the count
// of each element type written (for Origin.xml's ObjectCounts).
func marshalModel(m *Model) ([]byte, map[string]int, error) {
	mb := &modelWriter{m: m, counts: make(map[string]int), disambig: 2}
	if err := mb.build(); err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(mb.elems, compareElements)

	dsp := m.DSPName
	if dsp == "" {
		dsp = defaultDSPName
	}
	lcid := m.CollationLCID
	if lcid == 0 {
		lcid = defaultCollLCID
	}
	x := &xmlOut{indent: "\t"}
	x.line(`<?xml version="1.0" encoding="utf-8"?>`)
	x.open(fmt.Sprintf(`<DataSchemaModel FileFormatVersion="%s" SchemaVersion="%s" `+
		`DspName="%s" CollationLcid="%d" CollationCaseSensitive="%s" xmlns="%s">`,
		modelFormat, modelSchemaVer, escAttr(dsp), lcid, boolText(m.CaseSensitive), dacNamespace))
	x.open("<Model>")
	for _, e := range mb.elems {
		x.b.WriteString("\r\n")
		x.b.Write(e.body)
	}
	x.close("</Model>")
	x.close("</DataSchemaModel>")
	return x.b.Bytes(), mb.counts, nil
}

// compareElements orders unnamed elements first (in creation order), then
// named ones by name, part by part, case-insensitively, so a table's
// indexes follow the table.
func compareElements(a, b modelElement) int {
	switch {
	case a.name == nil && b.name == nil:
		return a.order - b.order
	case a.name == nil:
		return -1
	case b.name == nil:
		return 1
	}
	for i := 0; i < len(a.name) && i < len(b.name); i++ {
		if c := strings.Compare(strings.ToLower(a.name[i]), strings.ToLower(b.name[i])); c != 0 {
			return c
		}
	}
	return len(a.name) - len(b.name)
}

func boolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// element starts a top-level element; end finishes it.
func (mb *modelWriter) element(kind string, name ...string) {
	mb.x = &xmlOut{indent: "\t", depth: 2}
	mb.count(kind)
	if len(name) == 0 {
		mb.x.open(fmt.Sprintf(`<Element Type="%s">`, kind))
		mb.elems = append(mb.elems, modelElement{kind: kind, order: len(mb.elems)})
		return
	}
	mb.x.open(fmt.Sprintf(`<Element Type="%s" Name="%s">`, kind, escAttr(bracketName(name...))))
	mb.elems = append(mb.elems, modelElement{kind: kind, name: name, order: len(mb.elems)})
}

func (mb *modelWriter) end() {
	mb.x.close("</Element>")
	body := mb.x.b.Bytes()
	mb.elems[len(mb.elems)-1].body = bytes.TrimPrefix(body, []byte("\r\n"))
	mb.x = nil
}

// count tallies element types for ObjectCounts, which leaves out the
// helper elements.
func (mb *modelWriter) count(kind string) {
	switch kind {
	case "SqlTypeSpecifier", "SqlXmlTypeSpecifier", "SqlIndexedColumnSpecification":
		return
	}
	mb.counts[strings.TrimPrefix(kind, "Sql")]++
}

func (mb *modelWriter) prop(name, value string) {
	mb.x.line(fmt.Sprintf(`<Property Name="%s" Value="%s" />`, name, escAttr(value)))
}

func (mb *modelWriter) scriptProp(name, script string) {
	mb.x.open(fmt.Sprintf(`<Property Name="%s">`, name))
	mb.x.line("<Value>" + cdata(script) + "</Value>")
	mb.x.close("</Property>")
}

// refs writes a relationship whose entries are references.
func (mb *modelWriter) refs(rel string, names ...string) {
	mb.x.open(fmt.Sprintf(`<Relationship Name="%s">`, rel))
	for _, n := range names {
		mb.x.open("<Entry>")
		mb.x.line(n)
		mb.x.close("</Entry>")
	}
	mb.x.close("</Relationship>")
}

func ref(parts ...string) string {
	return fmt.Sprintf(`<References Name="%s" />`, escAttr(bracketName(parts...)))
}

func builtInRef(parts ...string) string {
	return fmt.Sprintf(`<References %sName="%s" />`, builtIns, escAttr(bracketName(parts...)))
}

// schemaRef references a schema; dbo is a built-in.
func schemaRef(schema string) string {
	if schema == "dbo" {
		return builtInRef(schema)
	}
	return ref(schema)
}

func (mb *modelWriter) build() error {
	if err := checkReferences(mb.m); err != nil {
		return err
	}
	mb.aliases = make(map[string]bool)
	for _, a := range mb.m.AliasTypes {
		mb.aliases[bracketName(a.Schema, a.Name)] = true
	}
	mb.databaseOptions()
	for _, s := range mb.schemas() {
		mb.element("SqlSchema", s)
		mb.refs("Authorizer", builtInRef("dbo"))
		mb.end()
	}
	for _, a := range mb.m.AliasTypes {
		mb.aliasType(a)
	}
	for _, t := range mb.m.Tables {
		if err := mb.table(t); err != nil {
			return err
		}
	}
	return nil
}

func (mb *modelWriter) databaseOptions() {
	coll := mb.m.Collation
	if coll == "" {
		coll = defaultCollation
	}
	mb.element("SqlDatabaseOptions")
	mb.prop("Collation", coll)
	mb.refs("DefaultFilegroup", builtInRef("PRIMARY"))
	mb.end()
}

// schemas lists the user schemas to declare: those of the model and of its
// tables, without dbo and other built-ins.
func (mb *modelWriter) schemas() []string {
	seen := map[string]bool{"dbo": true, "sys": true, "guest": true, "INFORMATION_SCHEMA": true}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range mb.m.Schemas {
		add(s)
	}
	for _, t := range mb.m.Tables {
		add(t.Schema)
	}
	for _, a := range mb.m.AliasTypes {
		add(a.Schema)
	}
	return out
}

func (mb *modelWriter) aliasType(a AliasType) {
	mb.element("SqlUserDefinedDataType", a.Schema, a.Name)
	mb.typeFacets(a.Base)
	if !a.Nullable {
		mb.prop("IsNullable", "False")
	}
	mb.refs("Schema", schemaRef(a.Schema))
	mb.refs("Type", typeRef(a.Base.Name))
	mb.end()
}

// typeRef references a built-in type; CLR types and sysname live in sys.
func typeRef(name string) string {
	switch name {
	case "geography", "geometry", "hierarchyid", "sysname":
		return builtInRef("sys", name)
	}
	return builtInRef(name)
}

// typeFacets writes Length/IsMax, Scale and Precision as DacFx does:
// Scale before Precision, default values left out.
func (mb *modelWriter) typeFacets(t Type) {
	switch t.Name {
	case "char", "varchar", "nchar", "nvarchar", "binary", "varbinary":
		if t.Max {
			mb.prop("IsMax", "True")
		} else if t.Length > 0 {
			mb.prop("Length", strconv.Itoa(t.Length))
		}
	case "decimal", "numeric":
		if t.Scale != 0 {
			mb.prop("Scale", strconv.Itoa(t.Scale))
		}
		p := t.Precision
		if p == 0 {
			p = 18
		}
		mb.prop("Precision", strconv.Itoa(p))
	case "float":
		p := t.Precision
		if p == 0 {
			p = 53
		}
		mb.prop("Precision", strconv.Itoa(p))
	case "time", "datetime2", "datetimeoffset":
		if t.Scale != 0 {
			mb.prop("Scale", strconv.Itoa(t.Scale))
		}
	}
}

func (mb *modelWriter) table(t *Table) error {
	if t.Schema == "" || t.Name == "" {
		return fmt.Errorf("table %q.%q: schema and name are required", t.Schema, t.Name)
	}
	type note struct {
		column string
		id     int
	}
	var colNotes []note

	// Inline (unnamed) constraints are unnamed top-level elements tied to
	// their host by a Disambiguator number.
	inline := func() int { mb.disambig++; return mb.disambig }
	for _, c := range t.Columns {
		if c.Default == nil {
			continue
		}
		id := 0
		if c.Default.Name == "" {
			id = inline()
			colNotes = append(colNotes, note{c.Name, id})
		}
		mb.defaultConstraint(t, c, id)
	}
	keys := []struct {
		kind string
		k    *Key
	}{}
	if t.PrimaryKey != nil {
		keys = append(keys, struct {
			kind string
			k    *Key
		}{"SqlPrimaryKeyConstraint", t.PrimaryKey})
	}
	for _, u := range t.Uniques {
		keys = append(keys, struct {
			kind string
			k    *Key
		}{"SqlUniqueConstraint", u})
	}
	var tableNotes []int
	for _, k := range keys {
		id := 0
		if k.k.Name == "" {
			id = inline()
			tableNotes = append(tableNotes, id)
		}
		mb.key(t, k.kind, k.k, id)
	}
	for _, fk := range t.ForeignKeys {
		id := 0
		if fk.Name == "" {
			id = inline()
			tableNotes = append(tableNotes, id)
		}
		mb.foreignKey(t, fk, id)
	}
	for _, ck := range t.Checks {
		id := 0
		if ck.Name == "" {
			id = inline()
			tableNotes = append(tableNotes, id)
		}
		mb.check(t, ck, id)
	}
	for _, ix := range t.Indexes {
		if ix.Name == "" {
			return fmt.Errorf("table %s: an index needs a name", bracketName(t.Schema, t.Name))
		}
		mb.index(t, ix)
	}

	mb.element("SqlTable", t.Schema, t.Name)
	mb.prop("IsAnsiNullsOn", "True")
	mb.x.open(`<Relationship Name="Columns">`)
	for _, c := range t.Columns {
		var ids []int
		for _, n := range colNotes {
			if n.column == c.Name {
				ids = append(ids, n.id)
			}
		}
		mb.x.open("<Entry>")
		mb.column(t, c, ids)
		mb.x.close("</Entry>")
	}
	mb.x.close("</Relationship>")
	mb.refs("Schema", schemaRef(t.Schema))
	for _, id := range tableNotes {
		mb.x.line(fmt.Sprintf(`<AttachedAnnotation Disambiguator="%d" />`, id))
	}
	mb.end()

	for _, p := range t.Properties {
		mb.extendedProperty([]string{tableExtPropHost, t.Schema, t.Name, p.Name},
			ref(t.Schema, t.Name), p.Value)
	}
	for _, c := range t.Columns {
		for _, p := range c.Properties {
			mb.extendedProperty([]string{columnExtPropHost, t.Schema, t.Name, c.Name, p.Name},
				ref(t.Schema, t.Name, c.Name), p.Value)
		}
	}
	return nil
}

// column writes a nested SqlSimpleColumn or SqlComputedColumn.
func (mb *modelWriter) column(t *Table, c *Column, notes []int) {
	name := escAttr(bracketName(t.Schema, t.Name, c.Name))
	if c.Computed != "" {
		mb.count("SqlComputedColumn")
		mb.x.open(fmt.Sprintf(`<Element Type="SqlComputedColumn" Name="%s">`, name))
		if c.Persisted {
			mb.prop("IsPersisted", "True")
		}
		mb.scriptProp("ExpressionScript", c.Computed)
		mb.x.close("</Element>")
		return
	}
	mb.count("SqlSimpleColumn")
	mb.x.open(fmt.Sprintf(`<Element Type="SqlSimpleColumn" Name="%s">`, name))
	if !c.Nullable {
		mb.prop("IsNullable", "False")
	}
	if c.Identity != nil {
		mb.prop("IsIdentity", "True")
		if c.Identity.Seed != 1 {
			mb.prop("IdentitySeed", strconv.FormatInt(c.Identity.Seed, 10))
		}
		if c.Identity.Increment != 1 {
			mb.prop("IdentityIncrement", strconv.FormatInt(c.Identity.Increment, 10))
		}
	}
	if c.Collation != "" {
		mb.prop("Collation", c.Collation)
	}
	mb.x.open(`<Relationship Name="TypeSpecifier">`)
	mb.x.open("<Entry>")
	spec := "SqlTypeSpecifier"
	// A column keeps its alias type only when the model declares the
	// alias; otherwise it is written with its resolved base type.
	// sysname is the one built-in alias.
	alias := c.Alias != "" && mb.aliases[c.Alias]
	sysname := c.Alias == sysnameAlias
	if c.Type.Name == "xml" && !alias {
		spec = "SqlXmlTypeSpecifier"
	}
	mb.x.open(fmt.Sprintf(`<Element Type="%s">`, spec))
	switch {
	case sysname:
		mb.refs("Type", builtInRef("sys", "sysname"))
	case alias:
		mb.refs("Type", fmt.Sprintf(`<References Name="%s" />`, escAttr(c.Alias)))
	default:
		mb.typeFacets(c.Type)
		mb.refs("Type", typeRef(c.Type.Name))
	}
	mb.x.close("</Element>")
	mb.x.close("</Entry>")
	mb.x.close("</Relationship>")
	for _, id := range notes {
		mb.x.line(fmt.Sprintf(`<AttachedAnnotation Disambiguator="%d" />`, id))
	}
	mb.x.close("</Element>")
}

// constraintElement starts a named constraint, or an unnamed inline one
// when id is not zero.
func (mb *modelWriter) constraintElement(kind string, t *Table, name string, id int) {
	if id != 0 {
		mb.element(kind)
		return
	}
	mb.element(kind, t.Schema, name)
}

// inlineNote writes the annotation of an inline constraint, with the name
// the server generated for it when known.
func (mb *modelWriter) inlineNote(t *Table, id int, system string) {
	switch {
	case id == 0:
	case system == "":
		mb.x.line(fmt.Sprintf(`<Annotation Type="%s" Disambiguator="%d" />`, inlineAnnotation, id))
	default:
		mb.x.line(fmt.Sprintf(`<Annotation Type="%s" Name="%s" Disambiguator="%d" />`,
			inlineAnnotation, escAttr(bracketName(t.Schema, system)), id))
	}
}

func (mb *modelWriter) defaultConstraint(t *Table, c *Column, id int) {
	mb.constraintElement("SqlDefaultConstraint", t, c.Default.Name, id)
	mb.scriptProp("DefaultExpressionScript", c.Default.Expression)
	mb.refs("DefiningTable", ref(t.Schema, t.Name))
	mb.refs("ForColumn", ref(t.Schema, t.Name, c.Name))
	mb.inlineNote(t, id, c.Default.SystemName)
	mb.end()
}

func (mb *modelWriter) columnSpecs(t *Table, cols []IndexColumn) {
	mb.x.open(`<Relationship Name="ColumnSpecifications">`)
	for _, c := range cols {
		mb.x.open("<Entry>")
		mb.x.open(`<Element Type="SqlIndexedColumnSpecification">`)
		if c.Descending {
			mb.prop("IsAscending", "False")
		}
		mb.refs("Column", ref(t.Schema, t.Name, c.Name))
		mb.x.close("</Element>")
		mb.x.close("</Entry>")
	}
	mb.x.close("</Relationship>")
}

func (mb *modelWriter) key(t *Table, kind string, k *Key, id int) {
	mb.constraintElement(kind, t, k.Name, id)
	switch {
	case kind == "SqlPrimaryKeyConstraint" && !k.Clustered:
		mb.prop("IsClustered", "False")
	case kind == "SqlUniqueConstraint" && k.Clustered:
		mb.prop("IsClustered", "True")
	}
	mb.columnSpecs(t, k.Columns)
	mb.refs("DefiningTable", ref(t.Schema, t.Name))
	mb.inlineNote(t, id, k.SystemName)
	mb.end()
}

func (mb *modelWriter) foreignKey(t *Table, fk *ForeignKey, id int) {
	mb.constraintElement("SqlForeignKeyConstraint", t, fk.Name, id)
	if fk.OnDelete != NoAction {
		mb.prop("OnDeleteAction", strconv.Itoa(int(fk.OnDelete)))
	}
	if fk.OnUpdate != NoAction {
		mb.prop("OnUpdateAction", strconv.Itoa(int(fk.OnUpdate)))
	}
	refSchema := fk.RefSchema
	if refSchema == "" {
		refSchema = t.Schema
	}
	var cols, fcols []string
	for _, c := range fk.Columns {
		cols = append(cols, ref(t.Schema, t.Name, c))
	}
	for _, c := range fk.RefColumns {
		fcols = append(fcols, ref(refSchema, fk.RefTable, c))
	}
	mb.refs("Columns", cols...)
	mb.refs("DefiningTable", ref(t.Schema, t.Name))
	mb.refs("ForeignColumns", fcols...)
	mb.refs("ForeignTable", ref(refSchema, fk.RefTable))
	mb.inlineNote(t, id, fk.SystemName)
	mb.end()
}

func (mb *modelWriter) check(t *Table, ck *Check, id int) {
	mb.constraintElement("SqlCheckConstraint", t, ck.Name, id)
	mb.scriptProp("CheckExpressionScript", ck.Expression)
	mb.refs("DefiningTable", ref(t.Schema, t.Name))
	mb.inlineNote(t, id, ck.SystemName)
	mb.end()
}

func (mb *modelWriter) index(t *Table, ix *Index) {
	mb.element("SqlIndex", t.Schema, t.Name, ix.Name)
	if ix.Unique {
		mb.prop("IsUnique", "True")
	}
	if ix.Clustered {
		mb.prop("IsClustered", "True")
	}
	if ix.Filter != "" {
		mb.scriptProp("FilterPredicate", ix.Filter)
	}
	mb.columnSpecs(t, ix.Columns)
	if len(ix.Included) > 0 {
		var inc []string
		for _, c := range ix.Included {
			inc = append(inc, ref(t.Schema, t.Name, c))
		}
		mb.refs("IncludedColumns", inc...)
	}
	mb.refs("IndexedObject", ref(t.Schema, t.Name))
	mb.end()
}

// extendedProperty writes a SqlExtendedProperty; the value is stored as an
// N'…' literal, as DacFx stores sql_variant string values.
func (mb *modelWriter) extendedProperty(name []string, host, value string) {
	mb.element("SqlExtendedProperty", name...)
	mb.scriptProp("Value", "N'"+strings.ReplaceAll(value, "'", "''")+"'")
	mb.refs("Host", host)
	mb.end()
}
