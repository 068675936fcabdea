package bacpac

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// What Origin.xml says about the writer. DacFx records its own assembly
// here; bacport names itself in the same shape.
const (
	writerProductName    = "bacport, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null"
	writerProductVersion = "1.0.0.0"
)

const utf8BOM = "\ufeff"

// contentTypesXML is [Content_Types].xml exactly as DacFx writes it.
const contentTypesXML = utf8BOM + `<?xml version="1.0" encoding="utf-8"?>` +
	`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="xml" ContentType="text/xml" />` +
	`<Default Extension="BCP" ContentType="application/octet-stream" />` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />` +
	`</Types>`

const relsNamespace = "http://schemas.openxmlformats.org/package/2006/relationships"

// partName is the zip entry name of part i (from 0) of table t. The first
// number counts parts up to 999; past that the second number continues,
// so the (first, second) order a reader sorts by stays the write order.
func partName(t *Table, i int) string {
	first, second := i, 0
	if i > 999 {
		first, second = 999, i-999
	}
	return fmt.Sprintf("Data/%s.%s/TableData-%03d-%05d.BCP",
		escapePartSegment(t.Schema), escapePartSegment(t.Name), first, second)
}

// escapePartSegment percent-encodes s for a part URI segment: everything
// but RFC 3986 unreserved characters, sub-delimiters, ':' and '@' is
// written as %XX of its UTF-8 bytes. A space becomes %20, as in DacFx's
// "Data/dbo.Order%20Details".
func escapePartSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// relsXML is _rels/.rels: two relationships per part, naming its table and
// its schema, with random ids as System.IO.Packaging makes them.
func relsXML(parts []writtenPart) []byte {
	var b strings.Builder
	b.WriteString(utf8BOM + `<?xml version="1.0" encoding="utf-8"?>`)
	if len(parts) == 0 {
		b.WriteString(`<Relationships xmlns="` + relsNamespace + `" />`)
		return []byte(b.String())
	}
	b.WriteString(`<Relationships xmlns="` + relsNamespace + `">`)
	for _, p := range parts {
		target := escAttr("/" + p.name)
		fmt.Fprintf(&b, `<Relationship Type="%s" Target="%s" Id="%s" />`,
			escAttr("table="+p.table.Name), target, relID())
		fmt.Fprintf(&b, `<Relationship Type="%s" Target="%s" Id="%s" />`,
			escAttr("schema="+p.table.Schema), target, relID())
	}
	b.WriteString(`</Relationships>`)
	return []byte(b.String())
}

func relID() string {
	var r [8]byte
	rand.Read(r[:])
	return "R" + hex.EncodeToString(r[:])
}

// newGUID returns a random version-4 GUID in lower-case text form.
func newGUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// dacMetadataXML is DacMetadata.xml naming the package after the database.
func dacMetadataXML(database string) []byte {
	if database == "" {
		database = "Database"
	}
	x := &xmlOut{indent: "  "}
	x.line(`<?xml version="1.0" encoding="utf-8"?>`)
	x.open(`<DacType xmlns="` + dacNamespace + `">`)
	x.line("<Name>" + escText(database) + "</Name>")
	x.line("<Version>0.0.0.0</Version>")
	x.close("</DacType>")
	return append([]byte(utf8BOM), x.b.Bytes()...)
}

// originXML renders Origin.xml; w.mu is held.
func (w *Writer) originXML() []byte {
	var total int64
	for _, n := range w.rows {
		total += n
	}
	x := &xmlOut{indent: "  "}
	x.line(`<?xml version="1.0" encoding="utf-8"?>`)
	x.open(`<DacOrigin xmlns="` + dacNamespace + `">`)
	x.open("<PackageProperties>")
	x.line("<Version>3.1.0.0</Version>")
	x.line("<ContainsExportedData>true</ContainsExportedData>")
	x.open("<StreamVersions>")
	x.line(`<Version StreamName="Data">2.0.0.0</Version>`)
	x.line(`<Version StreamName="DeploymentContributors">1.0.0.0</Version>`)
	x.close("</StreamVersions>")
	x.close("</PackageProperties>")

	x.open("<Operation>")
	x.line("<Identity>" + newGUID() + "</Identity>")
	x.line("<Start>" + w.start.Format("2006-01-02T15:04:05.0000000-07:00") + "</Start>")
	x.line("<End>0001-01-01T00:00:00.0000000</End>")
	x.line("<ProductName>" + escText(writerProductName) + "</ProductName>")
	x.line("<ProductVersion>" + writerProductVersion + "</ProductVersion>")
	x.line("<ProductSchema>" + dacNamespace + "</ProductSchema>")
	x.close("</Operation>")

	x.open("<Server>")
	x.line("<ServerVersion>" + escText(w.serverVersion()) + "</ServerVersion>")
	x.open("<ObjectCounts>")
	kinds := make([]string, 0, len(w.counts))
	for k := range w.counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		x.line(fmt.Sprintf("<%s>%d</%s>", k, w.counts[k], k))
	}
	x.close("</ObjectCounts>")
	x.close("</Server>")

	x.open("<ExportStatistics>")
	x.line("<SourceDatabaseSize>" + strconv.FormatInt((w.bytes+1023)/1024, 10) + "</SourceDatabaseSize>")
	x.line("<TableRowCountTotalTag>" + strconv.FormatInt(total, 10) + "</TableRowCountTotalTag>")
	x.close("</ExportStatistics>")

	x.open("<Checksums>")
	x.line(`<Checksum Uri="/model.xml">` + w.ModelChecksum() + "</Checksum>")
	x.close("</Checksums>")
	x.line("<ModelSchemaVersion>" + modelSchemaVer + "</ModelSchemaVersion>")
	x.close("</DacOrigin>")
	return append([]byte(utf8BOM), x.b.Bytes()...)
}

// serverVersion is the ServerVersion text: where DacFx puts @@VERSION,
// bacport names the source engine and server.
func (w *Writer) serverVersion() string {
	s := w.opts.Source
	text := s.Engine
	if text == "" {
		text = "unknown engine"
	}
	if s.Server != "" {
		text += " on " + s.Server
	}
	return text + " (exported by bacport)"
}
