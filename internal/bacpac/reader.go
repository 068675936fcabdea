package bacpac

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Package is an opened BACPAC: its schema model, its Origin.xml and an index
// of its data parts. Only the zip directory, Origin.xml and the model are
// read by Open; rows are read part by part when asked for. A Package is
// safe for concurrent use when its io.ReaderAt is (an *os.File is), so
// several tables can be read at once.
type Package struct {
	dir      *zrDir
	model    *Model
	origin   *Origin
	checksum Checksum
	parts    map[tableKey][]Part
	orphans  []Part
}

// Checksum is the verdict on model.xml's checksum.
type Checksum struct {
	Recorded string // from Origin.xml, as written; empty when absent
	Computed string // SHA-256 of the model.xml entry, upper-case hex
}

// OK reports whether the recorded checksum matches.
func (c Checksum) OK() bool {
	return c.Recorded != "" && strings.EqualFold(c.Recorded, c.Computed)
}

// Part is one data part (a TableData-NNN-MMMMM.BCP entry) of a table.
type Part struct {
	Name             string // zip entry name
	Schema, Table    string
	Range, Sub       int // the two numbers of the file name
	CompressedSize   int64
	UncompressedSize int64
}

type tableKey struct{ schema, table string }

// Open reads a package's zip directory, Origin.xml and model.xml, and
// verifies the model checksum; a mismatch is an error wrapping ErrChecksum.
// It reads r with ranged reads only.
func Open(r io.ReaderAt, size int64) (*Package, error) {
	p, err := OpenUnverified(r, size)
	if err != nil {
		return nil, err
	}
	if !p.checksum.OK() {
		return nil, p.checksumError()
	}
	return p, nil
}

// OpenUnverified is Open without failing on a checksum mismatch, for tools
// that report the verdict (see Package.Checksum) instead.
func OpenUnverified(r io.ReaderAt, size int64) (*Package, error) {
	dir, err := readZipDir(r, size)
	if err != nil {
		return nil, fmt.Errorf("open package: %w", err)
	}
	p := &Package{dir: dir}
	if err := p.readOrigin(); err != nil {
		return nil, err
	}
	if err := p.readModel(); err != nil {
		return nil, err
	}
	if err := p.indexParts(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Package) checksumError() error {
	if p.checksum.Recorded == "" {
		return fmt.Errorf("%w: Origin.xml records no checksum for /model.xml", ErrChecksum)
	}
	return fmt.Errorf("%w: Origin.xml records %s, model.xml hashes to %s",
		ErrChecksum, p.checksum.Recorded, p.checksum.Computed)
}

// Model returns the schema model.
func (p *Package) Model() *Model { return p.model }

// Origin returns what Origin.xml records.
func (p *Package) Origin() *Origin { return p.origin }

// Checksum returns the model.xml checksum verdict.
func (p *Package) Checksum() Checksum { return p.checksum }

// Parts returns the table's data parts in reading order.
func (p *Package) Parts(t *Table) []Part {
	return slices.Clone(p.parts[tableKey{t.Schema, t.Name}])
}

// Orphans returns data parts whose table model.xml does not define.
func (p *Package) Orphans() []Part { return slices.Clone(p.orphans) }

func (p *Package) entry(name string) (io.ReadCloser, error) {
	e := p.dir.lookup(name)
	if e == nil {
		return nil, fmt.Errorf("%w: the package has no %s", ErrFormat, name)
	}
	return p.dir.open(e)
}

func (p *Package) readOrigin() error {
	rc, err := p.entry("Origin.xml")
	if err != nil {
		return fmt.Errorf("read Origin.xml: %w", err)
	}
	defer rc.Close()
	if p.origin, err = parseOrigin(rc); err != nil {
		return err
	}
	if rc, err := p.entry("DacMetadata.xml"); err == nil {
		defer rc.Close()
		p.origin.Database = readDacName(rc)
	}
	return nil
}

// readDacName returns DacMetadata.xml's Name, or "".
func readDacName(r io.Reader) string {
	var meta struct {
		Name string `xml:"Name"`
	}
	if err := xml.NewDecoder(skipBOM(io.LimitReader(r, 1<<20))).Decode(&meta); err != nil {
		return ""
	}
	return strings.TrimSpace(meta.Name)
}

// readModel parses model.xml while hashing it, then reads any bytes the
// parser left so the hash and the zip CRC cover the whole entry.
func (p *Package) readModel() error {
	rc, err := p.entry("model.xml")
	if err != nil {
		return fmt.Errorf("read model.xml: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	if p.model, err = ReadModel(tee); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read model.xml: %w", err)
	}
	p.checksum = Checksum{
		Recorded: p.origin.ModelChecksum(),
		Computed: strings.ToUpper(hex.EncodeToString(h.Sum(nil))),
	}
	return nil
}

// indexParts maps every data part to its table, through _rels/.rels when the
// package has it (names with dots stay unambiguous there) and through the
// percent-decoded folder name otherwise.
func (p *Package) indexParts() error {
	rels, err := p.readRels()
	if err != nil {
		return err
	}
	byFolder := map[string]tableKey{}
	for _, t := range p.model.Tables {
		byFolder[t.Schema+"."+t.Name] = tableKey{t.Schema, t.Name}
	}
	known := map[tableKey]bool{}
	for _, k := range byFolder {
		known[k] = true
	}
	p.parts = map[tableKey][]Part{}
	for _, e := range p.dir.entries {
		part, ok, err := parsePartName(e)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		key, found := rels[strings.ToLower(e.Name)]
		if !found {
			key, found = byFolder[part.folder]
		}
		part.Schema, part.Table = key.schema, key.table
		if !found || !known[key] {
			part.Table = part.folder
			p.orphans = append(p.orphans, part.Part)
			continue
		}
		p.parts[key] = append(p.parts[key], part.Part)
	}
	for _, parts := range p.parts {
		slices.SortFunc(parts, func(a, b Part) int {
			if a.Range != b.Range {
				return a.Range - b.Range
			}
			return a.Sub - b.Sub
		})
	}
	return nil
}

type namedPart struct {
	Part
	folder string // percent-decoded folder name, "schema.table"
}

// parsePartName recognises Data/<folder>/TableData-NNN-MMMMM.BCP.
func parsePartName(e *zrEntry) (namedPart, bool, error) {
	rest, ok := strings.CutPrefix(e.Name, "Data/")
	if !ok {
		return namedPart{}, false, nil
	}
	folder, file, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(file, "/") {
		return namedPart{}, false, nil
	}
	base, ok := strings.CutPrefix(file, "TableData-")
	if !ok || len(base) < 4 || !strings.EqualFold(base[len(base)-4:], ".BCP") {
		return namedPart{}, false, nil
	}
	first, second, ok := strings.Cut(base[:len(base)-4], "-")
	rng, err1 := strconv.Atoi(first)
	sub, err2 := strconv.Atoi(second)
	if !ok || err1 != nil || err2 != nil || rng < 0 || sub < 0 {
		return namedPart{}, false, zipFormatErr("data part %q is not named TableData-NNN-MMMMM.BCP",
			e.Name)
	}
	dec, err := url.PathUnescape(folder)
	if err != nil {
		dec = folder
	}
	return namedPart{
		Part: Part{
			Name:             e.Name,
			Range:            rng,
			Sub:              sub,
			CompressedSize:   int64(e.CompressedSize),
			UncompressedSize: int64(e.UncompressedSize),
		},
		folder: dec,
	}, true, nil
}

// readRels reads _rels/.rels into a map from lower-cased entry name to
// table. A package without it maps nothing.
func (p *Package) readRels() (map[string]tableKey, error) {
	out := map[string]tableKey{}
	e := p.dir.lookup("_rels/.rels")
	if e == nil {
		return out, nil
	}
	rc, err := p.dir.open(e)
	if err != nil {
		return nil, fmt.Errorf("read _rels/.rels: %w", err)
	}
	defer rc.Close()
	dec := xml.NewDecoder(skipBOM(rc))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parse _rels/.rels: %v", ErrFormat, err)
		}
		s, ok := tok.(xml.StartElement)
		if !ok || s.Name.Local != "Relationship" {
			continue
		}
		a := attrMap(s.Attr)
		target := strings.ToLower(strings.TrimPrefix(a["Target"], "/"))
		k := out[target]
		if v, ok := strings.CutPrefix(a["Type"], "table="); ok {
			k.table = v
		} else if v, ok := strings.CutPrefix(a["Type"], "schema="); ok {
			k.schema = v
		} else {
			continue
		}
		out[target] = k
	}
	for name, k := range out {
		if k.schema == "" || k.table == "" {
			delete(out, name)
		}
	}
	return out, nil
}

// File is a package opened from a local file.
type File struct {
	*Package
	f *os.File
}

// OpenFile opens the named package file and verifies its checksum.
func OpenFile(name string) (*File, error) {
	return openFile(name, Open)
}

// OpenFileUnverified opens the named package file without failing on a
// checksum mismatch.
func OpenFileUnverified(name string) (*File, error) {
	return openFile(name, OpenUnverified)
}

func openFile(name string, open func(io.ReaderAt, int64) (*Package, error)) (*File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	p, err := open(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &File{Package: p, f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
