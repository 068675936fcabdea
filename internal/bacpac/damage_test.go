package bacpac

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
)

const testPart = "Data/dbo.NumberFields1/TableData-000-00000.BCP"

func baseEntries(t *testing.T) []testEntry {
	t.Helper()
	return fixtureEntries(t, fixturePath(t, "BACPACToD-Test.bacpac"))
}

// verifyBytes opens a package and decodes every row.
func verifyBytes(b []byte) error {
	p, err := openBytes(b)
	if err != nil {
		return err
	}
	_, err = p.Verify(context.Background(), nil)
	return err
}

func TestOpen_WriterVariants(t *testing.T) {
	entries := baseEntries(t)
	// Variant B's order: Origin.xml before _rels/.rels and [Content_Types].xml.
	var reordered []testEntry
	var tail []testEntry
	for _, e := range entries {
		switch e.Name {
		case "[Content_Types].xml", "_rels/.rels":
			tail = append(tail, e)
		default:
			reordered = append(reordered, e)
		}
	}
	reordered = append(reordered, tail[1], tail[0])
	cases := map[string][]byte{
		"deflate with data descriptors": buildZip(t, entries, false),
		"stored":                        buildZip(t, entries, true),
		"zip64":                         buildZip64(t, entries),
		"variant B order":               buildZip(t, reordered, false),
		"no _rels (folder names)":       buildZip(t, withEntry(entries, "_rels/.rels", nil), false),
	}
	for name, z := range cases {
		t.Run(name, func(t *testing.T) {
			if err := verifyBytes(z); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

func TestOpen_PartOrder(t *testing.T) {
	f, err := OpenFile(fixturePath(t, "SoftExpress_Challenge.bacpac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users := f.Model().Table("dbo", "Users")
	rows := f.Rows(users)
	defer rows.Close()
	var seen []string
	for rows.Next() {
		if len(seen) == 0 || seen[len(seen)-1] != rows.Part() {
			seen = append(seen, rows.Part())
		}
	}
	want := []string{"Data/dbo.Users/TableData-000-00000.BCP", "Data/dbo.Users/TableData-001-00000.BCP"}
	if rows.Err() != nil || strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("parts read in order %v (err %v), want %v", seen, rows.Err(), want)
	}
}

func TestOpen_Damage(t *testing.T) {
	entries := baseEntries(t)
	part := entryData(entries, testPart)
	model := entryData(entries, "model.xml")

	bigDecl := buildZip(t, entries, false)
	at := centralOffset(t, bigDecl, testPart)
	binary.LittleEndian.PutUint32(bigDecl[at+24:], 0xfffffff0) // uncompressed size

	smallDecl := buildZip(t, entries, false)
	at = centralOffset(t, smallDecl, testPart)
	binary.LittleEndian.PutUint32(smallDecl[at+24:], uint32(len(part)-10))

	badCRC := buildZip(t, entries, false)
	at = centralOffset(t, badCRC, testPart)
	binary.LittleEndian.PutUint32(badCRC[at+16:], 0x12345678)

	overlap := buildZip(t, entries, true)
	at = centralOffset(t, overlap, testPart)
	binary.LittleEndian.PutUint32(overlap[at+42:], 0) // local header offset

	unknownModel := bytes.Replace(model, []byte("</Model>"),
		[]byte(`<Element Type="SqlFancyThing" Name="[dbo].[x]"/></Model>`), 1)

	cases := []struct {
		name    string
		zip     []byte
		want    error
		inError string // text the error must contain
	}{
		{"checksum mismatch",
			buildZip(t, withEntry(entries, "model.xml", bytes.Replace(model, []byte("Bit16Fields"),
				[]byte("Bit16Fieldz"), 1)), false),
			ErrChecksum, "model.xml hashes to"},
		{"truncated part",
			buildZip(t, withEntry(entries, testPart, part[:len(part)-3]), false),
			ErrTruncated, testPart},
		{"part longer than its rows",
			buildZip(t, withEntry(entries, testPart, append(bytes.Clone(part), 1, 0)), false),
			ErrTruncated, testPart},
		// Row 1 of NumberFields1 is 19 bytes: a 4-byte ID, tinyint 01 01,
		// then 13 one-byte NULLs. Repeating it adds a row Origin does not count.
		{"an extra whole row",
			buildZip(t, withEntry(entries, testPart, append(bytes.Clone(part), part[:19]...)), false),
			nil, ""},
		{"declared size of a zip bomb", bigDecl, ErrZipBomb, testPart},
		{"inflates past its declared size", smallDecl, ErrZipBomb, testPart},
		{"bad CRC", badCRC, ErrFormat, "CRC-32"},
		{"overlapping entries", overlap, ErrFormat, "overlaps"},
		{"dot-dot name", buildZip(t, append(entries, testEntry{"Data/../../evil", []byte("x")}), false),
			ErrFormat, "unsafe entry name"},
		{"absolute name", buildZip(t, append(entries, testEntry{"/etc/passwd", []byte("x")}), false),
			ErrFormat, "absolute"},
		{"backslash name", buildZip(t, append(entries, testEntry{`Data\..\evil`, []byte("x")}), false),
			ErrFormat, "backslash"},
		{"drive letter", buildZip(t, append(entries, testEntry{"C:/evil", []byte("x")}), false),
			ErrFormat, "drive"},
		{"duplicate entry", buildZip(t, append(entries, testEntry{"MODEL.xml", []byte("x")}), false),
			ErrFormat, "twice"},
		{"malformed model.xml",
			buildZip(t, withModel(entries, model[:len(model)/2]), false), ErrFormat, "model.xml"},
		{"missing Origin.xml", buildZip(t, withEntry(entries, "Origin.xml", nil), false),
			ErrFormat, "Origin.xml"},
		{"missing model.xml", buildZip(t, withEntry(entries, "model.xml", nil), false),
			ErrFormat, "model.xml"},
		{"not a zip", []byte("this is not a zip file at all, just text"), ErrFormat, "zip"},
		{"empty", nil, ErrFormat, ""},
		{"unknown element type", buildZip(t, withModel(entries, unknownModel), false), nil, ""},
		{"orphan part", buildZip(t, append(entries, testEntry{"Data/dbo.Nope/TableData-000-00000.BCP",
			[]byte{1}}), false), ErrFormat, "belongs to no table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verifyBytes(c.zip)
			if c.name == "an extra whole row" {
				if !errors.Is(err, ErrRowCount) {
					t.Fatalf("got %v, want ErrRowCount", err)
				}
				return
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.inError) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.want, c.inError)
			}
		})
	}
}

func TestVerify_NamesPartAndOffset(t *testing.T) {
	entries := baseEntries(t)
	part := bytes.Clone(entryData(entries, testPart))
	// Row 1 of NumberFields1 is ID 1 (4 bytes, NOT NULL) then a tinyint
	// 1 with its prefix (01 01), then NULLs. Make the tinyint's prefix a
	// length no tinyint has.
	part[4] = 0x02
	err := verifyBytes(buildZip(t, withEntry(entries, testPart, part), false))
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DataError", err)
	}
	if de.Part != testPart || de.Offset != 4 || de.Column != "Field_tinyint" || de.Row != 1 ||
		!errors.Is(err, ErrBadValue) {
		t.Errorf("DataError = %+v", de)
	}
}

func TestOpen_UnknownElementListed(t *testing.T) {
	entries := baseEntries(t)
	model := bytes.Replace(entryData(entries, "model.xml"), []byte("</Model>"),
		[]byte(`<Element Type="SqlFancyThing" Name="[dbo].[x]"/></Model>`), 1)
	p, err := openBytes(buildZip(t, withModel(entries, model), false))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Model().Unknown) != 1 || p.Model().Unknown[0] != "SqlFancyThing" ||
		len(p.Model().Tables) != 25 {
		t.Errorf("unknown %v, %d tables", p.Model().Unknown, len(p.Model().Tables))
	}
}

func TestOpenUnverified_ReportsMismatch(t *testing.T) {
	entries := baseEntries(t)
	model := bytes.Replace(entryData(entries, "model.xml"), []byte("Bit16Fields"), []byte("Bit16Fieldz"), 1)
	z := buildZip(t, withEntry(entries, "model.xml", model), false)
	p, err := OpenUnverified(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Checksum(); c.OK() || c.Recorded == "" || c.Computed == "" {
		t.Errorf("checksum verdict %+v, want a mismatch", c)
	}
}

// countingReaderAt records the reads made through it.
type countingReaderAt struct {
	r       *bytes.Reader
	mu      sync.Mutex
	reads   int
	bytes   int64
	largest int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.reads++
	c.bytes += int64(len(p))
	c.largest = max(c.largest, len(p))
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

func TestOpen_RangedReads(t *testing.T) {
	entries := baseEntries(t)
	z := buildZip(t, entries, false)
	cr := &countingReaderAt{r: bytes.NewReader(z)}
	p, err := Open(cr, int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// Every byte is read about once: the tail search and local headers
	// add a little, nothing reads the package twice.
	if cr.bytes > int64(len(z))*2 || cr.largest > readBufferSize+64<<10 {
		t.Errorf("%d reads of %d bytes in all (largest %d) for a %d-byte package",
			cr.reads, cr.bytes, cr.largest, len(z))
	}
}
