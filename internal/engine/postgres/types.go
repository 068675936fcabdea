package postgres

import (
	"strconv"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
)

// kind says how a column's values travel in binary COPY and which Go value
// type they become.
type kind int

const (
	kindText kind = iota // any type read or written as text
	kindInt2
	kindInt4
	kindInt8
	kindOID
	kindBool
	kindFloat4
	kindFloat8
	kindNumeric
	kindBytea
	kindDate
	kindTime
	kindTimestamp
	kindTimestamptz
	kindUUID
	kindJSONB
	kindEnum // text labels, binary form is the label
)

// Type OIDs of the built-in types the codecs handle (fixed in pg_type.dat).
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidXML         = 142
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// Unconstrained numeric is described as decimal(38, defaultNumericScale);
// values that do not fit fail the export (see the package doc).
const defaultNumericScale = 10

// pgType is a column's PostgreSQL type as the catalog describes it, with
// domains resolved to their base type.
type pgType struct {
	oid     uint32 // base type OID
	typmod  int32
	format  string // format_type of the base type
	typtype byte   // 'b' base, 'e' enum, 'c' composite, 'r' range, …
	isArray bool
	enumLen int // longest enum label in characters, for enums
}

// describe maps a PostgreSQL type to its SQL Server description and the
// kind used to read it.
func describe(t pgType) (bacpac.Type, kind) {
	if t.isArray {
		return nvarcharMax(), kindText
	}
	if t.typtype == 'e' {
		return bacpac.Type{Name: "nvarchar", Length: max(1, t.enumLen)}, kindEnum
	}
	switch t.oid {
	case oidInt2:
		return bacpac.Type{Name: "smallint"}, kindInt2
	case oidInt4:
		return bacpac.Type{Name: "int"}, kindInt4
	case oidInt8:
		return bacpac.Type{Name: "bigint"}, kindInt8
	case oidOID:
		return bacpac.Type{Name: "bigint"}, kindOID
	case oidBool:
		return bacpac.Type{Name: "bit"}, kindBool
	case oidFloat4:
		return bacpac.Type{Name: "real", Precision: 24}, kindFloat4
	case oidFloat8:
		return bacpac.Type{Name: "float", Precision: 53}, kindFloat8
	case oidNumeric:
		p, s := numericTypmod(t.typmod)
		return bacpac.Type{Name: "decimal", Precision: p, Scale: s}, kindNumeric
	case oidMoney:
		return bacpac.Type{Name: "money", Precision: 19, Scale: 4}, kindNumeric
	case oidText, oidJSON, oidXML:
		if t.oid == oidXML {
			return bacpac.Type{Name: "xml", Max: true}, kindText
		}
		return nvarcharMax(), kindText
	case oidJSONB:
		return nvarcharMax(), kindJSONB
	case oidVarchar:
		return sizedChars("nvarchar", t.typmod), kindText
	case oidBpchar:
		if t.typmod < 0 {
			return nvarcharMax(), kindText
		}
		return sizedChars("nchar", t.typmod), kindText
	case oidName:
		return bacpac.Type{Name: "nvarchar", Length: 63}, kindText
	case oidBytea:
		return bacpac.Type{Name: "varbinary", Max: true}, kindBytea
	case oidDate:
		return bacpac.Type{Name: "date"}, kindDate
	case oidTime:
		return bacpac.Type{Name: "time", Scale: fracDigits(t.typmod)}, kindTime
	case oidTimestamp:
		return bacpac.Type{Name: "datetime2", Scale: fracDigits(t.typmod)}, kindTimestamp
	case oidTimestamptz:
		return bacpac.Type{Name: "datetimeoffset", Scale: fracDigits(t.typmod)}, kindTimestamptz
	case oidUUID:
		return bacpac.Type{Name: "uniqueidentifier"}, kindUUID
	case oidTimetz:
		return bacpac.Type{Name: "nvarchar", Length: 32}, kindText
	case oidInterval:
		return bacpac.Type{Name: "nvarchar", Length: 64}, kindText
	}
	switch t.format {
	case "inet", "cidr":
		return bacpac.Type{Name: "nvarchar", Length: 43}, kindText
	case "macaddr":
		return bacpac.Type{Name: "nvarchar", Length: 17}, kindText
	case "macaddr8":
		return bacpac.Type{Name: "nvarchar", Length: 23}, kindText
	case `"char"`:
		return bacpac.Type{Name: "nchar", Length: 1}, kindText
	}
	return nvarcharMax(), kindText
}

func nvarcharMax() bacpac.Type { return bacpac.Type{Name: "nvarchar", Max: true} }

// sizedChars describes varchar(n)/char(n); SQL Server's n stops at 4000.
func sizedChars(name string, typmod int32) bacpac.Type {
	n := int(typmod) - 4
	if typmod < 0 || n > 4000 {
		return nvarcharMax()
	}
	return bacpac.Type{Name: name, Length: n}
}

// fracDigits is the fractional-second precision of a time type's typmod.
func fracDigits(typmod int32) int {
	if typmod < 0 {
		return 6
	}
	return int(typmod)
}

// numericTypmod returns the decimal(p,s) that holds numeric(typmod),
// clamped to SQL Server's limits (precision 1..38, 0 <= scale <= p).
func numericTypmod(typmod int32) (p, s int) {
	if typmod < 0 {
		return 38, defaultNumericScale
	}
	v := int(typmod - 4)
	p = (v >> 16) & 0xffff
	s = v & 0x7ff
	if s&0x400 != 0 { // negative scale (PostgreSQL 15+)
		s -= 0x800
	}
	if s < 0 {
		p, s = p-s, 0
	}
	p = max(p, s)
	if p > 38 {
		p = 38
		s = min(s, 38)
	}
	return max(p, 1), s
}

// pgTypeFor returns the PostgreSQL type created for a SQL Server column
// type when the package does not carry a PostgreSQL source type.
func pgTypeFor(t bacpac.Type) (string, bool) {
	switch t.Name {
	case "bit":
		return "boolean", true
	case "tinyint", "smallint":
		return "smallint", true
	case "int":
		return "integer", true
	case "bigint":
		return "bigint", true
	case "decimal", "numeric":
		return "numeric(" + strconv.Itoa(max(t.Precision, 1)) + "," + strconv.Itoa(t.Scale) + ")", true
	case "money":
		return "numeric(19,4)", true
	case "smallmoney":
		return "numeric(10,4)", true
	case "real":
		return "real", true
	case "float":
		if t.Precision > 0 && t.Precision <= 24 {
			return "real", true
		}
		return "double precision", true
	case "date":
		return "date", true
	case "time":
		return "time(" + strconv.Itoa(min(t.Scale, 6)) + ")", true
	case "datetime2":
		return "timestamp(" + strconv.Itoa(min(t.Scale, 6)) + ")", true
	case "datetime":
		return "timestamp(3)", true
	case "smalldatetime":
		return "timestamp(0)", true
	case "datetimeoffset":
		return "timestamptz(" + strconv.Itoa(min(t.Scale, 6)) + ")", true
	case "char", "nchar":
		if t.Max || t.Length <= 0 {
			return "text", true
		}
		return "character(" + strconv.Itoa(t.Length) + ")", true
	case "varchar", "nvarchar":
		if t.Max || t.Length <= 0 {
			return "text", true
		}
		return "character varying(" + strconv.Itoa(t.Length) + ")", true
	case "text", "ntext", "sysname":
		return "text", true
	case "xml":
		return "xml", true
	case "binary", "varbinary", "image", "rowversion", "timestamp",
		"geography", "geometry", "hierarchyid", "sql_variant":
		return "bytea", true
	case "uniqueidentifier":
		return "uuid", true
	}
	return "", false
}

// isSQLServerIntegral reports whether a SQL Server type may carry an
// identity.
func isSQLServerIntegral(name string) bool {
	switch strings.ToLower(name) {
	case "tinyint", "smallint", "int", "bigint", "decimal", "numeric":
		return true
	}
	return false
}
