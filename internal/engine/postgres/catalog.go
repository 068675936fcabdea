package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// tableInfo is what reading a table's rows needs beyond the model.
type tableInfo struct {
	oid         uint32
	schema      string // PostgreSQL schema name
	name        string
	partitioned bool
	bytes       int64 // heap size
	cols        []colInfo
}

// colInfo is one data column: how to select it and decode it.
type colInfo struct {
	name string
	kind kind
	typ  bacpac.Type
	cast string // "::text" or "::numeric" when selected through a cast
}

type catColumn struct {
	num        int16
	name       string
	typ        pgType
	declared   string // format_type of the declared type (a domain's name)
	notNull    bool
	identity   string // attidentity
	generated  string // attgenerated
	def        *string
	seqStart   *int64
	seqInc     *int64
	enumLabels *string
	enumType   string
}

type catTable struct {
	oid         uint32
	schema      string
	name        string
	partitioned bool
	bytes       int64
	cols        []*catColumn
	constraints []catConstraint
	indexes     []catIndex
}

type catConstraint struct {
	name     string
	typ      byte // p, u, f, c, x
	cols     []int16
	refOID   uint32
	refCols  []int16
	onUpdate byte
	onDelete byte
	def      string
	index    uint32
}

type catIndex struct {
	oid        uint32
	name       string
	unique     bool
	primary    bool
	nkey       int16
	keys       []int16
	options    []int16
	predicate  *string
	def        string
	method     string
	constraint bool
}

type catalog struct {
	tables []*catTable
	byOID  map[uint32]*catTable
	// omitted lists what model() could not describe in T-SQL; it is
	// carried in table properties for PostgreSQL imports only.
	omitted []engine.Skipped
}

// omit records an object model() leaves out of the SQL Server description.
func (cat *catalog) omit(kind string, t *bacpac.Table, name, reason string) {
	cat.omitted = append(cat.omitted, engine.Skipped{Kind: kind,
		Name: t.Schema + "." + t.Name + "." + name, Reason: reason +
			"; it is kept for imports into PostgreSQL only"})
}

const tablesQuery = `SELECT c.oid, n.nspname, c.relname, c.relkind = 'p',
	pg_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
      AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname`

const columnsQuery = `SELECT a.attrelid, a.attnum, a.attname,
	bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
	format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
	format_type(a.atttypid, a.atttypmod),
	bt.typtype, bt.typcategory = 'A' AND bt.typelem <> 0,
	a.attnotnull, a.attidentity::text, a.attgenerated::text,
	pg_get_expr(ad.adbin, ad.adrelid),
	sq.seqstart, sq.seqincrement,
	CASE WHEN et.typtype = 'e' THEN enum_range_text(et.oid) END,
	CASE WHEN et.typtype = 'e' THEN format_type(et.oid, NULL) ELSE '' END,
	CASE WHEN bt.typtype = 'e' THEN
	  (SELECT max(char_length(e.enumlabel)) FROM pg_enum e WHERE e.enumtypid = bt.oid) END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
LEFT JOIN pg_type et ON et.oid = CASE WHEN bt.typcategory = 'A' AND bt.typelem <> 0
	THEN bt.typelem ELSE bt.oid END
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_sequence sq ON sq.seqrelid = pg_get_serial_sequence(
	a.attrelid::regclass::text, a.attname)::regclass
WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

// enum_range_text is not a catalog function; the query above is rewritten
// with this subquery, which lists an enum's labels as an array literal.
const enumLabelsExpr = `(SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)::text
	FROM pg_enum e WHERE e.enumtypid = et.oid)`

const constraintsQuery = `SELECT con.conrelid, con.conname, con.contype::text,
	coalesce(con.conkey, '{}'), con.confrelid, coalesce(con.confkey, '{}'),
	con.confupdtype::text, con.confdeltype::text, pg_get_constraintdef(con.oid),
	con.conindid
FROM pg_constraint con
WHERE con.conrelid = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c', 'x')
ORDER BY con.conrelid, con.contype, con.conname`

const indexesQuery = `SELECT i.indrelid, i.indexrelid, ic.relname, i.indisunique,
	i.indisprimary, i.indnkeyatts, i.indkey::int2[], i.indoption::int2[],
	pg_get_expr(i.indpred, i.indrelid), pg_get_indexdef(i.indexrelid), am.amname,
	EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
	        AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY($1)
ORDER BY i.indrelid, ic.relname`

// readCatalog reads every user table with its columns, constraints and
// indexes. The connection's search_path must be pg_catalog.
func readCatalog(ctx context.Context, conn *pgx.Conn) (*catalog, error) {
	cat := &catalog{byOID: map[uint32]*catTable{}}
	rows, err := conn.Query(ctx, tablesQuery)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var oids []uint32
	for rows.Next() {
		t := &catTable{}
		if err := rows.Scan(&t.oid, &t.schema, &t.name, &t.partitioned, &t.bytes); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		cat.tables = append(cat.tables, t)
		cat.byOID[t.oid] = t
		oids = append(oids, t.oid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	if len(oids) == 0 {
		return cat, nil
	}
	if err := cat.readColumns(ctx, conn, oids); err != nil {
		return nil, err
	}
	if err := cat.readConstraints(ctx, conn, oids); err != nil {
		return nil, err
	}
	if err := cat.readIndexes(ctx, conn, oids); err != nil {
		return nil, err
	}
	return cat, nil
}

func (cat *catalog) readColumns(ctx context.Context, conn *pgx.Conn, oids []uint32) error {
	q := strings.Replace(columnsQuery, "enum_range_text(et.oid)", enumLabelsExpr, 1)
	rows, err := conn.Query(ctx, q, oids)
	if err != nil {
		return fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rel              uint32
			c                catColumn
			typtype          string
			ident, gen       string
			enumLen          *int32
			baseOID          uint32
			baseMod          int32
			baseFmt          string
			isArray, notNull bool
		)
		err := rows.Scan(&rel, &c.num, &c.name, &baseOID, &baseMod, &baseFmt, &c.declared,
			&typtype, &isArray, &notNull, &ident, &gen, &c.def, &c.seqStart, &c.seqInc,
			&c.enumLabels, &c.enumType, &enumLen)
		if err != nil {
			return fmt.Errorf("list columns: %w", err)
		}
		c.typ = pgType{oid: baseOID, typmod: baseMod, format: baseFmt, isArray: isArray}
		if typtype != "" {
			c.typ.typtype = typtype[0]
		}
		if enumLen != nil {
			c.typ.enumLen = int(*enumLen)
		}
		c.notNull, c.identity, c.generated = notNull, ident, gen
		if t := cat.byOID[rel]; t != nil {
			t.cols = append(t.cols, &c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list columns: %w", err)
	}
	return nil
}

func (cat *catalog) readConstraints(ctx context.Context, conn *pgx.Conn, oids []uint32) error {
	rows, err := conn.Query(ctx, constraintsQuery, oids)
	if err != nil {
		return fmt.Errorf("list constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rel           uint32
			c             catConstraint
			typ, upd, del string
		)
		err := rows.Scan(&rel, &c.name, &typ, &c.cols, &c.refOID, &c.refCols, &upd, &del,
			&c.def, &c.index)
		if err != nil {
			return fmt.Errorf("list constraints: %w", err)
		}
		c.typ, c.onUpdate, c.onDelete = typ[0], upd[0], del[0]
		if t := cat.byOID[rel]; t != nil {
			t.constraints = append(t.constraints, c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list constraints: %w", err)
	}
	return nil
}

func (cat *catalog) readIndexes(ctx context.Context, conn *pgx.Conn, oids []uint32) error {
	rows, err := conn.Query(ctx, indexesQuery, oids)
	if err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rel uint32
			ix  catIndex
		)
		err := rows.Scan(&rel, &ix.oid, &ix.name, &ix.unique, &ix.primary, &ix.nkey,
			&ix.keys, &ix.options, &ix.predicate, &ix.def, &ix.method, &ix.constraint)
		if err != nil {
			return fmt.Errorf("list indexes: %w", err)
		}
		if t := cat.byOID[rel]; t != nil {
			t.indexes = append(t.indexes, ix)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	return nil
}

// modelSchema maps a PostgreSQL schema to the package's: public becomes
// dbo unless the database also has a schema named dbo.
func (cat *catalog) modelSchema() func(string) string {
	hasDBO := false
	for _, t := range cat.tables {
		if t.schema == "dbo" {
			hasDBO = true
		}
	}
	return func(s string) string {
		if s == "public" && !hasDBO {
			return "dbo"
		}
		return s
	}
}

// model builds the package model and the read details of each table.
func (cat *catalog) model() (*bacpac.Model, map[*bacpac.Table]*tableInfo) {
	m := &bacpac.Model{CaseSensitive: true}
	infos := make(map[*bacpac.Table]*tableInfo, len(cat.tables))
	schemaOf := cat.modelSchema()
	seen := map[string]bool{}
	for _, ct := range cat.tables {
		t, ti := cat.table(ct, schemaOf)
		m.Tables = append(m.Tables, t)
		infos[t] = ti
		if !seen[t.Schema] {
			seen[t.Schema] = true
			m.Schemas = append(m.Schemas, t.Schema)
		}
	}
	sort.Strings(m.Schemas)
	return m, infos
}

func (cat *catalog) table(ct *catTable, schemaOf func(string) string) (*bacpac.Table, *tableInfo) {
	t := &bacpac.Table{Schema: schemaOf(ct.schema), Name: ct.name}
	ti := &tableInfo{oid: ct.oid, schema: ct.schema, name: ct.name,
		partitioned: ct.partitioned, bytes: ct.bytes}
	names := map[int16]string{}
	for _, cc := range ct.cols {
		names[cc.num] = cc.name
		col, k := column(cc)
		t.Columns = append(t.Columns, col)
		if col.Computed != "" {
			continue
		}
		ci := colInfo{name: cc.name, kind: k, typ: col.Type}
		switch {
		case k == kindText && !isTextual(cc.typ.oid):
			ci.cast = "::text"
		case cc.typ.oid == oidMoney:
			ci.cast = "::numeric"
		}
		ti.cols = append(ti.cols, ci)
	}
	colNames := func(nums []int16) []string {
		out := make([]string, len(nums))
		for i, n := range nums {
			out[i] = names[n]
		}
		return out
	}
	indexByOID := map[uint32]catIndex{}
	for _, ix := range ct.indexes {
		indexByOID[ix.oid] = ix
	}
	for _, c := range ct.constraints {
		t.Properties = append(t.Properties, bacpac.Property{
			Name: PropConstraintPrefix + c.name, Value: c.def})
		cat.constraint(t, c, colNames, indexByOID[c.index], schemaOf)
	}
	for _, ix := range ct.indexes {
		if ix.constraint {
			continue
		}
		t.Properties = append(t.Properties, bacpac.Property{
			Name: PropIndexPrefix + ix.name, Value: ix.def})
		if mi := modelIndex(ix, names); mi != nil {
			t.Indexes = append(t.Indexes, mi)
		} else {
			cat.omit("index", t, ix.name, "an expression, non-btree or untranslatable partial index "+
				"has no SQL Server description ("+ix.def+")")
		}
	}
	return t, ti
}

// isTextual reports whether a type's binary form is its text, so it can be
// read without a cast.
func isTextual(oid uint32) bool {
	switch oid {
	case oidText, oidVarchar, oidBpchar, oidName, oidJSON, oidXML:
		return true
	}
	return false
}

// column describes one catalog column in SQL Server terms.
func column(cc *catColumn) (*bacpac.Column, kind) {
	typ, k := describe(cc.typ)
	col := &bacpac.Column{Name: cc.name, Type: typ, Nullable: !cc.notNull}
	engine.SetSourceType(col, engineName, cc.typ.format)
	if cc.declared != cc.typ.format {
		col.Properties = append(col.Properties,
			bacpac.Property{Name: PropDomain, Value: cc.declared})
	}
	if cc.enumLabels != nil {
		col.Properties = append(col.Properties,
			bacpac.Property{Name: PropEnumType, Value: cc.enumType},
			bacpac.Property{Name: PropEnum, Value: *cc.enumLabels})
	}
	serial := cc.def != nil && strings.HasPrefix(*cc.def, "nextval(") && cc.seqStart != nil
	if cc.identity != "" || serial {
		col.Identity = &bacpac.Identity{Seed: 1, Increment: 1}
		if cc.seqStart != nil && cc.seqInc != nil {
			col.Identity = &bacpac.Identity{Seed: *cc.seqStart, Increment: *cc.seqInc}
		}
	}
	if cc.identity != "" {
		col.Properties = append(col.Properties,
			bacpac.Property{Name: PropIdentity, Value: cc.identity})
	}
	if cc.def == nil {
		return col, k
	}
	if cc.generated != "" {
		col.Properties = append(col.Properties,
			bacpac.Property{Name: PropGenerated, Value: *cc.def})
		col.Computed = "(" + *cc.def + ")"
		if e, ok := pgToTSQL(*cc.def); ok {
			col.Computed = "(" + e + ")"
		}
		col.Persisted = true
		return col, k
	}
	col.Properties = append(col.Properties, bacpac.Property{Name: PropDefault, Value: *cc.def})
	if !serial {
		if e, ok := defaultToTSQL(*cc.def, typ); ok {
			col.Default = &bacpac.Default{Expression: e}
		}
	}
	return col, k
}

func (cat *catalog) constraint(t *bacpac.Table, c catConstraint,
	colNames func([]int16) []string, ix catIndex, schemaOf func(string) string) {
	switch c.typ {
	case 'p', 'u':
		k := &bacpac.Key{Name: c.name, Clustered: c.typ == 'p'}
		for i, name := range colNames(c.cols) {
			desc := i < len(ix.options) && ix.options[i]&1 != 0
			k.Columns = append(k.Columns, bacpac.IndexColumn{Name: name, Descending: desc})
		}
		if c.typ == 'p' {
			t.PrimaryKey = k
		} else {
			t.Uniques = append(t.Uniques, k)
		}
	case 'f':
		ref := cat.byOID[c.refOID]
		if ref == nil {
			return
		}
		refNames := map[int16]string{}
		for _, rc := range ref.cols {
			refNames[rc.num] = rc.name
		}
		fk := &bacpac.ForeignKey{Name: c.name, Columns: colNames(c.cols),
			RefSchema: schemaOf(ref.schema), RefTable: ref.name,
			OnDelete: action(c.onDelete), OnUpdate: action(c.onUpdate)}
		for _, n := range c.refCols {
			fk.RefColumns = append(fk.RefColumns, refNames[n])
		}
		t.ForeignKeys = append(t.ForeignKeys, fk)
	case 'c':
		expr := strings.TrimSuffix(strings.TrimPrefix(c.def, "CHECK "), " NOT VALID")
		if e, ok := pgToTSQL(expr); ok {
			t.Checks = append(t.Checks, &bacpac.Check{Name: c.name, Expression: e})
		} else {
			cat.omit("check constraint", t, c.name, "its expression has no T-SQL translation ("+c.def+")")
		}
	case 'x', 't':
		cat.omit("constraint", t, c.name, "SQL Server has no exclusion constraints or "+
			"constraint triggers ("+c.def+")")
	}
}

func action(a byte) bacpac.Action {
	switch a {
	case 'c':
		return bacpac.Cascade
	case 'n':
		return bacpac.SetNull
	case 'd':
		return bacpac.SetDefault
	}
	return bacpac.NoAction
}

// modelIndex describes a plain-column btree index; expression indexes,
// other access methods and untranslatable predicates are carried only in
// the table's PropIndexPrefix property.
func modelIndex(ix catIndex, names map[int16]string) *bacpac.Index {
	if ix.method != "btree" {
		return nil
	}
	mi := &bacpac.Index{Name: ix.name, Unique: ix.unique}
	for i, n := range ix.keys {
		if n == 0 {
			return nil
		}
		if int16(i) >= ix.nkey {
			mi.Included = append(mi.Included, names[n])
			continue
		}
		desc := i < len(ix.options) && ix.options[i]&1 != 0
		mi.Columns = append(mi.Columns, bacpac.IndexColumn{Name: names[n], Descending: desc})
	}
	if ix.predicate != nil {
		e, ok := pgToTSQL(*ix.predicate)
		if !ok {
			return nil
		}
		mi.Filter = e
	}
	return mi
}
