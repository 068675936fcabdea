package enginetest

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

// Canonical renders a row value so that two values are equal exactly when
// their renderings are: integers and decimals by numeric value (so 5, 5.0
// and 5.00 agree), floats by their shortest exact form (NaN and the
// infinities included), times with their full fraction and offset,
// binaries in hex. Strings are quoted so that the text "NULL" and NULL
// differ.
func Canonical(v any) string { return canonical(v) }

func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case bacpac.Decimal:
		return canonicalDecimal(x)
	case float32:
		return canonicalFloat(float64(x), 32)
	case float64:
		return canonicalFloat(x, 64)
	case bacpac.Date:
		return x.String()
	case bacpac.TimeOfDay:
		return x.String()
	case time.Time:
		return x.Format("2006-01-02 15:04:05.000000000 -07:00")
	case bacpac.UUID:
		return x.String()
	case string:
		return strconv.Quote(x)
	case []byte:
		return "0x" + strings.ToUpper(hex.EncodeToString(x))
	case bacpac.Variant:
		return "variant:0x" + strings.ToUpper(hex.EncodeToString(x))
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func canonicalDecimal(d bacpac.Decimal) string {
	s := d.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func canonicalFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
