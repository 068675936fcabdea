package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// sourcePrefix starts every SourceTypeProperty value this driver writes, so
// an import can tell a MySQL type from another engine's.
const sourcePrefix = "mysql:"

// Column extended properties this driver writes besides the source type.
// They hold what the SQL Server description cannot, so a MySQL-to-MySQL
// round trip restores it exactly.
const (
	// propDefault is the column default as information_schema shows it
	// (an expression: 'text', 0, current_timestamp(), NULL).
	propDefault = "bacport_mysql_default"
	// propOnUpdate is "current_timestamp(n)" for ON UPDATE columns.
	propOnUpdate = "bacport_mysql_on_update"
)

// Table extended property prefixes: the exact MySQL definition of an index
// and of a check constraint, keyed by name.
const (
	propIndex = "bacport_mysql_index:"
	propCheck = "bacport_mysql_check:"
	// propColumnCheck marks a MariaDB column-level check, named after its
	// column, which an import declares inline again.
	propColumnCheck = "bacport_mysql_column_check:"
)

// kind says how a column's text-protocol bytes become a row value.
type kind int

const (
	kSigned     kind = iota // int64
	kUnsigned64             // bigint unsigned: Decimal scale 0
	kDecimal                // Decimal
	kBigDecimal             // decimal(p>38): string
	kFloat                  // read as CAST(x AS DOUBLE): float32
	kDouble                 // float64
	kBit1                   // bool
	kBits                   // []byte, big-endian as MySQL returns it
	kText                   // string
	kBytes                  // []byte
	kDate                   // bacpac.Date
	kDateTime               // time.Time UTC
	kTimestamp              // time.Time UTC (datetimeoffset +00:00)
	kTime                   // bacpac.TimeOfDay
	kYear                   // int64
	kUUID                   // bacpac.UUID
)

// colInfo is one row of information_schema.COLUMNS.
type colInfo struct {
	name       string
	dataType   string // lower case, e.g. "int"
	columnType string // exact, e.g. "int(10) unsigned"
	nullable   bool
	def        *string // COLUMN_DEFAULT; nil is none
	extra      string
	charLen    int64
	precision  int64
	scale      int64
	dtPrec     int64
	charset    string
	collation  string
	generated  string // GENERATION_EXPRESSION
	json       bool   // a MariaDB JSON column (longtext CHECK json_valid)
}

func (c *colInfo) unsigned() bool { return strings.Contains(c.columnType, "unsigned") }

// sourceType is the exact MySQL type text recorded on the column.
func (c *colInfo) sourceType() string {
	t := c.columnType
	if c.json {
		return sourcePrefix + "json"
	}
	if c.charset != "" && c.collation != "" {
		t += " CHARACTER SET " + c.charset + " COLLATE " + c.collation
	}
	return sourcePrefix + t
}

// describe maps a MySQL column to its SQL Server type and the way its
// values are read.
func describe(c *colInfo) (bacpac.Type, kind, error) {
	u := c.unsigned()
	switch c.dataType {
	case "tinyint":
		if u {
			return bacpac.Type{Name: "tinyint"}, kSigned, nil
		}
		return bacpac.Type{Name: "smallint"}, kSigned, nil
	case "smallint":
		if u {
			return bacpac.Type{Name: "int"}, kSigned, nil
		}
		return bacpac.Type{Name: "smallint"}, kSigned, nil
	case "mediumint":
		return bacpac.Type{Name: "int"}, kSigned, nil
	case "int", "integer":
		if u {
			return bacpac.Type{Name: "bigint"}, kSigned, nil
		}
		return bacpac.Type{Name: "int"}, kSigned, nil
	case "bigint":
		if u {
			return bacpac.Type{Name: "decimal", Precision: 20}, kUnsigned64, nil
		}
		return bacpac.Type{Name: "bigint"}, kSigned, nil
	case "decimal", "numeric":
		if c.precision > 38 {
			return bacpac.Type{Name: "varchar", Length: int(c.precision) + 2}, kBigDecimal, nil
		}
		return bacpac.Type{Name: "decimal", Precision: int(c.precision), Scale: int(c.scale)},
			kDecimal, nil
	case "float":
		return bacpac.Type{Name: "real", Precision: 24}, kFloat, nil
	case "double", "real":
		return bacpac.Type{Name: "float", Precision: 53}, kDouble, nil
	case "bit":
		if c.precision <= 1 {
			return bacpac.Type{Name: "bit"}, kBit1, nil
		}
		return bacpac.Type{Name: "binary", Length: int(c.precision+7) / 8}, kBits, nil
	case "char":
		return bacpac.Type{Name: "nchar", Length: int(max(c.charLen, 1))}, kText, nil
	case "varchar":
		return nvarchar(c.charLen), kText, nil
	case "enum", "set":
		return nvarchar(max(c.charLen, 1)), kText, nil
	case "tinytext", "text", "mediumtext", "longtext", "json":
		return bacpac.Type{Name: "nvarchar", Max: true}, kText, nil
	case "inet4":
		return bacpac.Type{Name: "varchar", Length: 15}, kText, nil
	case "inet6":
		return bacpac.Type{Name: "varchar", Length: 45}, kText, nil
	case "binary":
		return bacpac.Type{Name: "binary", Length: int(max(c.charLen, 1))}, kBytes, nil
	case "varbinary":
		if c.charLen > 8000 {
			return bacpac.Type{Name: "varbinary", Max: true}, kBytes, nil
		}
		return bacpac.Type{Name: "varbinary", Length: int(max(c.charLen, 1))}, kBytes, nil
	case "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "linestring",
		"polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return bacpac.Type{Name: "varbinary", Max: true}, kBytes, nil
	case "date":
		return bacpac.Type{Name: "date"}, kDate, nil
	case "datetime":
		return bacpac.Type{Name: "datetime2", Scale: int(c.dtPrec)}, kDateTime, nil
	case "timestamp":
		return bacpac.Type{Name: "datetimeoffset", Scale: int(c.dtPrec)}, kTimestamp, nil
	case "time":
		return bacpac.Type{Name: "time", Scale: int(c.dtPrec)}, kTime, nil
	case "year":
		return bacpac.Type{Name: "smallint"}, kYear, nil
	case "uuid":
		return bacpac.Type{Name: "uniqueidentifier"}, kUUID, nil
	}
	return bacpac.Type{}, 0, fmt.Errorf("column %s type %s: %w", c.name, c.columnType,
		engine.ErrNotSupported)
}

func nvarchar(n int64) bacpac.Type {
	if n > 4000 || n <= 0 {
		return bacpac.Type{Name: "nvarchar", Max: true}
	}
	return bacpac.Type{Name: "nvarchar", Length: int(n)}
}

// mtype is a MySQL column type parsed from its text, e.g.
// "decimal(10,2) unsigned" or "varchar(20) CHARACTER SET latin1 …".
type mtype struct {
	base     string // lower case: "decimal", "varchar", …
	args     []int  // numbers in the first parentheses, when numeric
	unsigned bool
	ddl      string // the type as written into CREATE TABLE
}

// parseType parses a MySQL column type as information_schema writes it.
func parseType(s string) mtype {
	t := mtype{ddl: s}
	low := strings.ToLower(strings.TrimSpace(s))
	end := strings.IndexAny(low, "( ")
	if end < 0 {
		end = len(low)
	}
	t.base = low[:end]
	if end < len(low) && low[end] == '(' {
		if close := strings.IndexByte(low[end:], ')'); close > 0 {
			for _, a := range strings.Split(low[end+1:end+close], ",") {
				n, err := strconv.Atoi(strings.TrimSpace(a))
				if err != nil {
					t.args = nil
					break
				}
				t.args = append(t.args, n)
			}
		}
	}
	t.unsigned = strings.Contains(low, " unsigned")
	switch t.base {
	case "integer":
		t.base = "int"
	case "dec", "numeric", "fixed":
		t.base = "decimal"
	case "real", "double precision":
		t.base = "double"
	case "bool", "boolean":
		t.base, t.args = "tinyint", []int{1}
	}
	return t
}

func (t mtype) arg(i, def int) int {
	if i < len(t.args) {
		return t.args[i]
	}
	return def
}

// fraction is the fractional-second digits of time, datetime, timestamp.
func (t mtype) fraction() int { return t.arg(0, 0) }

// mapType maps a SQL Server type to the MySQL type an import creates when
// the column carries no MySQL source type. The mapping is the reverse table
// in the package documentation.
func (tg *target) mapType(c *bacpac.Column) (string, error) {
	t := c.Type
	switch t.Name {
	case "tinyint":
		return "tinyint unsigned", nil
	case "smallint":
		return "smallint", nil
	case "int":
		return "int", nil
	case "bigint":
		return "bigint", nil
	case "bit":
		return "bit(1)", nil
	case "decimal", "numeric":
		p := t.Precision
		if p == 0 {
			p = 18
		}
		return fmt.Sprintf("decimal(%d,%d)", p, t.Scale), nil
	case "money":
		return "decimal(19,4)", nil
	case "smallmoney":
		return "decimal(10,4)", nil
	case "real":
		return "float", nil
	case "float":
		if t.Precision > 0 && t.Precision <= 24 {
			return "float", nil
		}
		return "double", nil
	case "date":
		return "date", nil
	case "time":
		return fmt.Sprintf("time(%d)", min(t.Scale, 6)), nil
	case "datetime2", "datetimeoffset":
		return fmt.Sprintf("datetime(%d)", min(t.Scale, 6)), nil
	case "datetime":
		return "datetime(3)", nil
	case "smalldatetime":
		return "datetime", nil
	case "uniqueidentifier":
		// Not MariaDB's UUID type: it refuses version nibbles above 5,
		// which SQL Server's NEWSEQUENTIALID values have.
		return "char(36) CHARACTER SET ascii COLLATE ascii_general_ci", nil
	case "char", "nchar":
		if t.Max || t.Length > 255 {
			return varcharType(t), nil
		}
		return fmt.Sprintf("char(%d)", max(t.Length, 1)), nil
	case "varchar", "nvarchar":
		return varcharType(t), nil
	case "text", "ntext", "xml":
		return "longtext", nil
	case "binary":
		if t.Length > 255 {
			return fmt.Sprintf("varbinary(%d)", t.Length), nil
		}
		return fmt.Sprintf("binary(%d)", max(t.Length, 1)), nil
	case "varbinary":
		if t.Max {
			return "longblob", nil
		}
		return fmt.Sprintf("varbinary(%d)", max(t.Length, 1)), nil
	case "image", "geography", "geometry", "sql_variant":
		return "longblob", nil
	case "hierarchyid":
		return "varbinary(892)", nil
	case "rowversion", "timestamp":
		return "binary(8)", nil
	}
	return "", fmt.Errorf("column %s type %s: %w", c.Name, t.Name, engine.ErrNotSupported)
}

func varcharType(t bacpac.Type) string {
	if t.Max {
		return "longtext"
	}
	return fmt.Sprintf("varchar(%d)", max(t.Length, 1))
}

// rowBytes estimates what a column adds to MySQL's 65,535-byte row limit,
// counting utf8mb4 at four bytes a character.
func (t mtype) rowBytes() int {
	switch t.base {
	case "varchar":
		if strings.Contains(strings.ToLower(t.ddl), "character set") &&
			!strings.Contains(strings.ToLower(t.ddl), "utf8mb4") {
			return t.arg(0, 1)*3 + 2
		}
		return t.arg(0, 1)*4 + 2
	case "varbinary":
		return t.arg(0, 1) + 2
	case "char":
		return t.arg(0, 1) * 4
	case "binary":
		return t.arg(0, 1)
	}
	return 12
}
