package engine

import (
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
)

// SourceType returns the exact type a column had in the named engine, as
// recorded by that engine's export in bacpac.SourceTypeProperty. The
// property's value is "<engine>:<type>", e.g. "sqlite:VARCHAR(20)" or
// "postgres:integer[]"; ok is false when the column came from another
// engine (or from SQL Server, which records nothing).
func SourceType(c *bacpac.Column, engine string) (typ string, ok bool) {
	v, found := c.Property(bacpac.SourceTypeProperty)
	if !found {
		return "", false
	}
	e, typ, found := strings.Cut(v, ":")
	if !found || e != engine {
		return "", false
	}
	return typ, true
}

// SetSourceType records the exact type a column has in the named engine,
// replacing an earlier record.
func SetSourceType(c *bacpac.Column, engine, typ string) {
	v := engine + ":" + typ
	for i, p := range c.Properties {
		if p.Name == bacpac.SourceTypeProperty {
			c.Properties[i].Value = v
			return
		}
	}
	c.Properties = append(c.Properties,
		bacpac.Property{Name: bacpac.SourceTypeProperty, Value: v})
}

// FromEngine reports whether every column of the table that records a
// source type records one from the named engine, and at least one does:
// the table was exported from that engine and can be recreated exactly.
func FromEngine(t *bacpac.Table, engine string) bool {
	seen := false
	for _, c := range t.Columns {
		v, ok := c.Property(bacpac.SourceTypeProperty)
		if !ok {
			continue
		}
		if !strings.HasPrefix(v, engine+":") {
			return false
		}
		seen = true
	}
	return seen
}
