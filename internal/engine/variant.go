package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"

	"github.com/bacport/bacport/internal/bacpac"
)

// sql_variant base-type bytes (SQL Server's TDS type numbers).
const (
	variantFloat     = 0x3E
	variantBigint    = 0x7F
	variantVarbinary = 0xA5
	variantNvarchar  = 0xE7
)

// variantCollation is SQL_Latin1_General_CP1_CI_AS in the five-byte form a
// variant's string properties carry.
var variantCollation = [5]byte{0x09, 0x04, 0xD0, 0x00, 0x34}

// EncodeVariant serializes a value of a dynamically typed column as a
// sql_variant: int64 as bigint, float64 as float, string as nvarchar
// (at most 4000 UTF-16 code units, sql_variant's limit) and []byte as
// varbinary (at most 8000 bytes).
func EncodeVariant(v any) (bacpac.Variant, error) {
	switch x := v.(type) {
	case int64:
		b := []byte{variantBigint, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint64(b[2:], uint64(x))
		return b, nil
	case float64:
		b := []byte{variantFloat, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint64(b[2:], math.Float64bits(x))
		return b, nil
	case string:
		units := utf16.Encode([]rune(x))
		if len(units) > 4000 {
			return nil, fmt.Errorf("encode sql_variant: text of %d characters exceeds 4000", len(units))
		}
		b := []byte{variantNvarchar, 7}
		b = append(b, variantCollation[:]...)
		b = binary.LittleEndian.AppendUint16(b, 8000)
		for _, u := range units {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b, nil
	case []byte:
		if len(x) > 8000 {
			return nil, fmt.Errorf("encode sql_variant: binary of %d bytes exceeds 8000", len(x))
		}
		b := []byte{variantVarbinary, 2}
		b = binary.LittleEndian.AppendUint16(b, 8000)
		return append(b, x...), nil
	}
	return nil, fmt.Errorf("encode sql_variant: %T: %w", v, ErrNotSupported)
}
