package bacpac

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// memoryModel is the table the bounded-memory tests damage: an int key, a
// varbinary(max) and an nvarchar(max), so lengths of 8 bytes can lie.
func memoryModel() *Model {
	return &Model{Tables: []*Table{{Schema: "dbo", Name: "M", Columns: []*Column{
		{Name: "id", Type: Type{Name: "int"}},
		{Name: "v", Type: Type{Name: "varbinary", Max: true}, Nullable: true},
		{Name: "s", Type: Type{Name: "nvarchar", Max: true}, Nullable: true},
	}}}}
}

// zipEntries returns the entries of a zip in memory.
func zipEntries(t *testing.T, b []byte) []testEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []testEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testEntry{f.Name, data})
	}
	return out
}

// allocatedBy returns the bytes the process allocated while f ran: an upper
// bound of the peak heap f needed. The test must not be parallel.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDamage_BoundedMemory feeds packages whose lengths and sizes lie and
// checks that each gets a clear error after allocating little, whatever
// the lie claims: values grow only as real data arrives, and a declared
// size is never allocated up front.
func TestDamage_BoundedMemory(t *testing.T) {
	m := memoryModel()
	good := writePackage(t, m, WriterOptions{}, func(w *Writer) {
		tw, _ := w.Table(m.Tables[0])
		if err := tw.WriteRow([]any{int64(1), []byte("abc"), "x"}); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	})
	entries := zipEntries(t, good)
	part := partName(m.Tables[0], 0)
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	null8 := le64(^uint64(0))
	row := func(rest ...[]byte) []byte {
		return append([]byte{1, 0, 0, 0}, bytes.Join(rest, nil)...)
	}
	oneMiB := bytes.Repeat([]byte{'z', 0}, 1<<19)

	// A part of 1 MiB of random bytes whose central directory claims 1,000 times
	// its compressed size, with a varbinary(max) claiming nearly all of it:
	// within the deflate ratio limit, so only the data itself can end it.
	inflated := buildZip(t, withEntry(entries, part, row(le64(900<<20), noise(rand.New(rand.NewPCG(1, 1)), 1<<20))), false)
	at := centralOffset(t, inflated, part)
	csize := binary.LittleEndian.Uint32(inflated[at+20:])
	binary.LittleEndian.PutUint32(inflated[at+24:], csize*1000)

	deep := strings.Repeat(`<Element Type="SqlTable"><Relationship Name="Columns"><Entry>`, 30_000) +
		strings.Repeat(`</Entry></Relationship></Element>`, 30_000)
	huge := `<Element Type="SqlView" Name="[dbo].[v]"><Property Name="QueryScript"><Value>` +
		strings.Repeat("select 1 ", 2<<20) + "</Value></Property></Element>"
	modelWith := func(inner string) []byte {
		return bytes.Replace(entryData(entries, "model.xml"), []byte("</Model>"),
			[]byte(inner+"</Model>"), 1)
	}

	cases := []struct {
		name  string
		zip   []byte
		want  error
		limit uint64 // bytes the read may allocate
	}{
		{"varbinary(max) claims 2^62 bytes",
			buildZip(t, withEntry(entries, part, row(le64(1<<62), []byte("abc"))), false),
			ErrTruncated, 8 << 20},
		{"nvarchar(max) claims 1 GiB of a 1 MiB part",
			buildZip(t, withEntry(entries, part, row(null8, le64(1<<30), oneMiB)), false),
			ErrTruncated, 8 << 20},
		{"declared size 1,000 times the data, value claims 900 MiB",
			inflated, ErrFormat, 24 << 20},
		{"model.xml nested 90,000 deep",
			buildZip(t, withModel(entries, modelWith(deep)), false), ErrFormat, 16 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			n := allocatedBy(func() { err = verifyBytes(c.zip) })
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
			if n > c.limit {
				t.Errorf("allocated %.1f MiB, want at most %.1f MiB", float64(n)/(1<<20), float64(c.limit)/(1<<20))
			}
			t.Logf("%v; allocated %.1f MiB", err, float64(n)/(1<<20))
		})
	}

	// A view script of 18 MiB is legal: the model is held in memory, so its
	// cost grows with model.xml (see the package doc), but it must still
	// read back.
	t.Run("model.xml with an 18 MiB script", func(t *testing.T) {
		z := buildZip(t, withModel(entries, modelWith(huge)), false)
		p, err := openBytes(z)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verify(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if o := p.Model().Objects; len(o) != 1 || len(o[0].Script) != 18<<20 {
			t.Errorf("objects %d, want the view with its whole script", len(o))
		}
	})
}
