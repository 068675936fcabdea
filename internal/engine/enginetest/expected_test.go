package enginetest

import (
	"testing"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
)

func TestCellMatches_Times(t *testing.T) {
	plus1 := time.FixedZone("", 3600)
	dto := bacpac.Type{Name: "datetimeoffset", Scale: 7}
	dt2 := bacpac.Type{Name: "datetime2", Scale: 7}
	exact := LossyMappings{}
	lossy := LossyMappings{OffsetToUTC: true, Microseconds: true}
	cases := []struct {
		want  string
		got   any
		typ   bacpac.Type
		rules LossyMappings
		ok    bool
	}{
		{"1990-04-01 23:59:59 +01:00", time.Date(1990, 4, 1, 23, 59, 59, 0, plus1), dto, exact, true},
		{"1990-04-01 23:59:59 +01:00", time.Date(1990, 4, 1, 22, 59, 59, 0, time.UTC), dto, exact, false},
		{"1990-04-01 23:59:59 +01:00", time.Date(1990, 4, 1, 22, 59, 59, 0, time.UTC), dto, lossy, true},
		{"1990-04-01 23:59:59 +01:00", time.Date(1990, 4, 1, 23, 59, 59, 0, time.UTC), dto, lossy, false},
		{"2003-02-01 11:22:33.1234567", time.Date(2003, 2, 1, 11, 22, 33, 123456000, time.UTC), dt2, exact, false},
		{"2003-02-01 11:22:33.1234567", time.Date(2003, 2, 1, 11, 22, 33, 123456000, time.UTC), dt2, lossy, true},
		{"2003-02-01 11:22:33.1234567", time.Date(2003, 2, 1, 11, 22, 33, 123455000, time.UTC), dt2, lossy, false},
		{"23:59:59.9999999", bacpac.TimeOfDay(24*time.Hour - time.Microsecond), bacpac.Type{Name: "time", Scale: 7}, lossy, true},
		{"23:59:59.9999999", bacpac.TimeOfDay(24*time.Hour - time.Microsecond), bacpac.Type{Name: "time", Scale: 7}, exact, false},
		{"2024-01-02 03:04:05.123", time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.UTC), bacpac.Type{Name: "datetime"}, exact, true},
	}
	for _, c := range cases {
		err := cellMatches(c.want, c.got, c.typ, c.rules)
		if (err == nil) != c.ok {
			t.Errorf("cellMatches(%q, %v, %s, %+v) = %v; want match %v", c.want, c.got, c.typ.Name, c.rules, err, c.ok)
		}
	}
}
