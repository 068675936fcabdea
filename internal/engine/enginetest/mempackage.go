package enginetest

import (
	"bytes"
	"io"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// MemPackage writes rows of tb into a package in memory and opens it.
func MemPackage(t testing.TB, tb *bacpac.Table, rows [][]any) *bacpac.Package {
	t.Helper()
	p, err := WritePackage(tb, rows)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WritePackage is MemPackage, failing with the writer's error when a value
// cannot be written into a package at all.
func WritePackage(tb *bacpac.Table, rows [][]any) (*bacpac.Package, error) {
	m := &bacpac.Model{Schemas: []string{tb.Schema}, Tables: []*bacpac.Table{tb}}
	var out bytes.Buffer
	w, err := bacpac.NewWriter(&out, m, bacpac.WriterOptions{})
	if err != nil {
		return nil, err
	}
	tw, err := w.Table(tb)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if err := tw.WriteRow(row); err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bacpac.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
}

// RawRows adapts bacpac.Rows to engine.RawRows, as engine.Import does.
func RawRows(rows *bacpac.Rows) engine.RawRows { return rawRows{rows} }

type rawRows struct{ rows *bacpac.Rows }

func (r rawRows) Next() ([][]byte, error) {
	if !r.rows.NextRaw() {
		if err := r.rows.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	return r.rows.RawValues(), nil
}

func (r rawRows) Kinds() []bacpac.StoredKind          { return r.rows.StoredKinds() }
func (r rawRows) Decode(i int, b []byte) (any, error) { return r.rows.Decode(i, b) }
