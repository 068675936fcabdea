package sqlite

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
)

// decl is a parsed SQLite declared type: "VARCHAR(20)" is base "VARCHAR"
// with args [20]. Base is upper case with single spaces.
type decl struct {
	raw  string
	base string
	args []int
}

func parseDecl(s string) decl {
	d := decl{raw: strings.TrimSpace(s)}
	base := d.raw
	if i := strings.IndexByte(base, '('); i >= 0 {
		inner := strings.TrimSuffix(strings.TrimSpace(base[i+1:]), ")")
		base = base[:i]
		for a := range strings.SplitSeq(inner, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil {
				n = -1
			}
			d.args = append(d.args, n)
		}
	}
	d.base = strings.ToUpper(strings.Join(strings.Fields(base), " "))
	return d
}

func (d decl) arg(i, def int) int {
	if i < len(d.args) && d.args[i] >= 0 {
		return d.args[i]
	}
	return def
}

// affinity is SQLite's column affinity rule (§3.1 of its type docs).
func affinity(declared string) string {
	u := strings.ToUpper(declared)
	switch {
	case strings.Contains(u, "INT"):
		return "INTEGER"
	case strings.Contains(u, "CHAR"), strings.Contains(u, "CLOB"), strings.Contains(u, "TEXT"):
		return "TEXT"
	case strings.TrimSpace(u) == "", strings.Contains(u, "BLOB"):
		return "BLOB"
	case strings.Contains(u, "REAL"), strings.Contains(u, "FLOA"), strings.Contains(u, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

// sqlServerType describes a declared SQLite type in SQL Server terms; see
// the package doc for the table.
func sqlServerType(declared string) bacpac.Type {
	d := parseDecl(declared)
	t := func(name string) bacpac.Type { return bacpac.Type{Name: name} }
	text := func(n int) bacpac.Type {
		if n <= 0 || n > 4000 {
			return bacpac.Type{Name: "nvarchar", Max: true}
		}
		return bacpac.Type{Name: "nvarchar", Length: n}
	}
	bin := func(n int) bacpac.Type {
		if n <= 0 || n > 8000 {
			return bacpac.Type{Name: "varbinary", Max: true}
		}
		return bacpac.Type{Name: "varbinary", Length: n}
	}
	switch d.base {
	case "":
		return t("sql_variant")
	case "TINYINT":
		return t("tinyint")
	case "SMALLINT", "INT2":
		return t("smallint")
	case "INT", "MEDIUMINT", "INT4":
		return t("int")
	case "BIGINT", "INT8", "INTEGER", "UNSIGNED BIG INT":
		return t("bigint")
	case "BIT", "BOOL", "BOOLEAN":
		return t("bit")
	case "REAL", "DOUBLE", "DOUBLE PRECISION":
		return bacpac.Type{Name: "float", Precision: 53}
	case "FLOAT":
		if p := d.arg(0, 53); p <= 24 {
			return t("real")
		}
		return bacpac.Type{Name: "float", Precision: 53}
	case "DECIMAL", "NUMERIC", "DECIMAL_TEXT", "NUMERIC_TEXT":
		p, s := d.arg(0, 0), d.arg(1, 0)
		if p < 1 || p > 38 || s > p {
			return t("sql_variant")
		}
		name := strings.ToLower(strings.TrimSuffix(d.base, "_TEXT"))
		return bacpac.Type{Name: name, Precision: p, Scale: s}
	case "MONEY", "MONEY_TEXT":
		return bacpac.Type{Name: "money", Precision: 19, Scale: 4}
	case "SMALLMONEY":
		return bacpac.Type{Name: "smallmoney", Precision: 10, Scale: 4}
	case "CHAR", "CHARACTER", "NCHAR", "NATIVE CHARACTER", "VARCHAR", "NVARCHAR",
		"VARYING CHARACTER", "CHARACTER VARYING", "NVARYING CHARACTER":
		return text(d.arg(0, 0))
	case "TEXT", "CLOB", "JSON":
		return text(0)
	case "NTEXT":
		return t("ntext")
	case "XML":
		return t("xml")
	case "BLOB", "VARBINARY", "BINARY":
		return bin(d.arg(0, 0))
	case "IMAGE":
		return t("image")
	case "ROWVERSION":
		return bacpac.Type{Name: "binary", Length: 8}
	case "GEOGRAPHY", "GEOMETRY", "HIERARCHYID":
		return t(strings.ToLower(d.base))
	case "DATE":
		return t("date")
	case "TIME":
		return bacpac.Type{Name: "time", Scale: min(d.arg(0, 7), 7)}
	case "DATETIME", "TIMESTAMP":
		return bacpac.Type{Name: "datetime2", Scale: 7}
	case "DATETIME2":
		return bacpac.Type{Name: "datetime2", Scale: min(d.arg(0, 7), 7)}
	case "SMALLDATETIME":
		return t("smalldatetime")
	case "DATETIMEOFFSET":
		return bacpac.Type{Name: "datetimeoffset", Scale: min(d.arg(0, 7), 7)}
	case "UNIQUEIDENTIFIER", "UUID", "GUID":
		return t("uniqueidentifier")
	case "SQL_VARIANT":
		return t("sql_variant")
	}
	switch affinity(declared) {
	case "INTEGER":
		return t("bigint")
	case "TEXT":
		return text(d.arg(0, 0))
	case "BLOB":
		return bin(0)
	case "REAL":
		return bacpac.Type{Name: "float", Precision: 53}
	}
	return t("sql_variant")
}

// declaredType is the SQLite type a SQL Server column gets on import; see
// the package doc for the table and for why some names end in _TEXT.
func declaredType(t bacpac.Type) (string, error) {
	sized := func(name string, n int) string { return name + "(" + strconv.Itoa(n) + ")" }
	switch t.Name {
	case "tinyint", "smallint", "int", "bigint", "bit", "smallmoney", "date",
		"smalldatetime", "datetime", "uniqueidentifier", "ntext", "xml", "text",
		"image", "geography", "geometry", "hierarchyid", "sql_variant", "json":
		return strings.ToUpper(t.Name), nil
	case "decimal", "numeric":
		p, s := t.Precision, t.Scale
		if p == 0 {
			p = 18
		}
		name := strings.ToUpper(t.Name)
		if p > maxNumericDigits {
			name += "_TEXT"
		}
		return fmt.Sprintf("%s(%d,%d)", name, p, s), nil
	case "money":
		return "MONEY_TEXT", nil
	case "real":
		return "FLOAT(24)", nil
	case "float":
		if t.Precision > 0 && t.Precision <= 24 {
			return "FLOAT(24)", nil
		}
		return "FLOAT", nil
	case "time", "datetime2", "datetimeoffset":
		return sized(strings.ToUpper(t.Name), t.Scale), nil
	case "char", "nchar", "varchar", "nvarchar", "binary", "varbinary":
		name := strings.ToUpper(t.Name)
		if t.Max || t.Length <= 0 {
			if name == "VARBINARY" {
				return "BLOB", nil
			}
			return name, nil
		}
		return sized(name, t.Length), nil
	case "rowversion", "timestamp":
		return "ROWVERSION", nil
	}
	return "", fmt.Errorf("map SQL Server type %s to SQLite: %w", t.Name, errUnsupportedType)
}

// maxNumericDigits is the most significant digits a decimal can have and
// still survive SQLite's NUMERIC affinity, which turns decimal text into a
// REAL keeping 15 significant digits.
const maxNumericDigits = 15
