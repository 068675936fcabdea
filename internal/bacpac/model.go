package bacpac

// Model is the schema a package carries in model.xml, reduced to what an
// import needs: tables with their columns, keys, constraints and indexes.
// Everything else the model holds (views, procedures, users, …) is kept in
// Objects by kind and name so an import can report it instead of dropping it.
type Model struct {
	// DSPName is the DataSchemaModel DspName, e.g.
	// "Microsoft.Data.Tools.Schema.Sql.Sql150DatabaseSchemaProvider".
	DSPName string
	// Collation is the database default collation from SqlDatabaseOptions.
	Collation string
	// CollationLCID and CaseSensitive are the root attributes of model.xml.
	CollationLCID int
	CaseSensitive bool
	Schemas       []string
	Tables        []*Table
	Objects       []Object
	AliasTypes    []AliasType
	// Unknown lists element types the reader met but does not understand,
	// once each, so callers can report them.
	Unknown []string
}

// Table is one user table. Columns are in model.xml order, which is also the
// order of values in the table's BCP parts (computed columns excepted: they
// carry no data).
type Table struct {
	Schema      string
	Name        string
	Columns     []*Column
	PrimaryKey  *Key
	Uniques     []*Key
	ForeignKeys []*ForeignKey
	Checks      []*Check
	Indexes     []*Index
	// Properties are extended properties on the table itself.
	Properties []Property
}

// Column is a column of a table.
type Column struct {
	Name string
	// Type is the SQL Server type, with alias types already resolved to
	// their base type (Alias keeps the alias name).
	Type Type
	// Alias is the alias type's name as in model.xml ("[dbo].[Name]") when
	// the column was declared with one.
	Alias    string
	Nullable bool
	Identity *Identity
	// Computed is the expression of a computed column. Computed columns
	// have no values in the data parts.
	Computed  string
	Persisted bool
	Collation string
	Default   *Default
	// Properties are extended properties on the column. bacport records
	// the source engine's exact type here (see SourceTypeProperty).
	Properties []Property
}

// SourceTypeProperty is the extended property in which bacport records a
// column's type in the engine it was exported from, so an import into the
// same engine can restore the exact type.
const SourceTypeProperty = "bacport_source_type"

// Type is a SQL Server data type with its facets.
type Type struct {
	// Name is the built-in type in lower case: "int", "nvarchar",
	// "decimal", "datetime2", "geography", …
	Name string
	// Length is characters for char/nchar/varchar/nvarchar and bytes for
	// binary/varbinary. Zero when Max is set.
	Length int
	Max    bool
	// Precision and Scale apply to decimal/numeric (precision and scale),
	// float (precision 24 or 53) and time/datetime2/datetimeoffset
	// (scale = fractional-second digits; a missing scale means 0).
	Precision int
	Scale     int
}

// Identity marks an identity column.
type Identity struct {
	Seed      int64
	Increment int64
}

// Default is a default constraint on one column.
type Default struct {
	// Name is empty for an inline, system-named default.
	Name string
	// Expression is the T-SQL expression with the server's parentheses,
	// e.g. "((0))" or "(getdate())".
	Expression string
	// SystemName is the name the server generated for an inline default
	// (from SqlInlineConstraintAnnotation); empty for a named one.
	SystemName string
}

// Key is a primary key or unique constraint.
type Key struct {
	Name      string
	Columns   []IndexColumn
	Clustered bool
	// SystemName is the server-generated name of an inline (unnamed)
	// constraint, when Name is empty.
	SystemName string
}

// IndexColumn is one key column of a key or index.
type IndexColumn struct {
	Name       string
	Descending bool
}

// ForeignKey is a foreign key constraint.
type ForeignKey struct {
	Name       string
	Columns    []string
	RefSchema  string
	RefTable   string
	RefColumns []string
	OnDelete   Action
	OnUpdate   Action
	// SystemName is the server-generated name of an inline (unnamed)
	// constraint, when Name is empty.
	SystemName string
}

// Action is a referential action, numbered as model.xml numbers them.
type Action int

// Referential actions.
const (
	NoAction   Action = 0
	Cascade    Action = 1
	SetNull    Action = 2
	SetDefault Action = 3
)

// Check is a check constraint.
type Check struct {
	Name       string
	Expression string
	// SystemName is the server-generated name of an inline (unnamed)
	// constraint, when Name is empty.
	SystemName string
}

// Index is a non-constraint index.
type Index struct {
	Name      string
	Unique    bool
	Clustered bool
	Columns   []IndexColumn
	Included  []string
	// Filter is the WHERE predicate of a filtered index, without WHERE.
	Filter string
}

// Property is an extended property (name and value as text).
type Property struct {
	Name  string
	Value string
}

// AliasType is a user-defined alias type (SqlUserDefinedDataType).
type AliasType struct {
	Schema   string
	Name     string
	Base     Type
	Nullable bool
}

// Object is a model element that is not carried as a table: a view,
// procedure, function, trigger, sequence, user, login, role, permission, …
type Object struct {
	// Kind is the model element type, e.g. "SqlView", "SqlProcedure".
	Kind string
	// Name is the bracketed model name, e.g. "[dbo].[vGetAllCategories]";
	// empty for unnamed elements.
	Name string
	// Script is the object's T-SQL where the model has it (view query,
	// procedure body, …).
	Script string
}

// Table returns the table with the given schema and name, or nil.
func (m *Model) Table(schema, name string) *Table {
	for _, t := range m.Tables {
		if t.Schema == schema && t.Name == name {
			return t
		}
	}
	return nil
}

// DataColumns returns the columns that carry values in the data parts, in
// part order: every column except computed ones.
func (t *Table) DataColumns() []*Column {
	cols := make([]*Column, 0, len(t.Columns))
	for _, c := range t.Columns {
		if c.Computed == "" {
			cols = append(cols, c)
		}
	}
	return cols
}

// Property returns the value of the named extended property and whether it
// is set.
func (c *Column) Property(name string) (string, bool) {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
