package bacpac

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Origin is what Origin.xml records about the export that wrote a package:
// the tool, the source server, object and row counts, and the model
// checksum.
type Origin struct {
	// PackageVersion is PackageProperties/Version ("3.1.0.0").
	PackageVersion string
	// ContainsExportedData is true for a bacpac, false for a dacpac.
	ContainsExportedData bool
	// StreamVersions maps a stream name ("Data") to its version.
	StreamVersions map[string]string
	// Identity is the export operation's GUID.
	Identity string
	// Start is when the export started, in the exporting machine's zone.
	// Zero when absent or unparsable (StartText keeps the text).
	Start     time.Time
	StartText string
	// ProductName is the DacFx assembly name, ProductVersion its build
	// ("15.0.4441.1").
	ProductName    string
	ProductVersion string
	ProductSchema  string
	// ServerVersion is the source server's full @@VERSION text.
	ServerVersion string
	// ObjectCounts maps a model element type without its "Sql" prefix
	// ("Table", "SimpleColumn") to how often it occurs in model.xml.
	ObjectCounts map[string]int64
	// SourceDatabaseSize is ExportStatistics/SourceDatabaseSize (probably
	// KB); -1 when absent.
	SourceDatabaseSize int64
	// TotalRows is ExportStatistics/TableRowCountTotalTag, the number of
	// rows across all data parts; -1 when absent (older .NET Core builds
	// do not write it).
	TotalRows int64
	// Checksums maps a part URI ("/model.xml") to its SHA-256 as written
	// (upper-case hex).
	Checksums map[string]string
	// ModelSchemaVersion equals model.xml's SchemaVersion.
	ModelSchemaVersion string
	// DataPhaseTables lists "schema.table" names (DacFx 162 and later).
	DataPhaseTables []string
	// Database is the source database's name, from DacMetadata.xml.
	Database string
}

// ModelChecksum returns the recorded SHA-256 of model.xml, or "".
func (o *Origin) ModelChecksum() string {
	for uri, sum := range o.Checksums {
		if strings.EqualFold(uri, "/model.xml") {
			return sum
		}
	}
	return ""
}

// maxOriginSize bounds Origin.xml; real ones are a few kilobytes, and even
// DataPhaseTables for tens of thousands of tables stays far below this.
const maxOriginSize = 32 << 20

// parseOrigin reads Origin.xml.
func parseOrigin(r io.Reader) (*Origin, error) {
	o := &Origin{
		StreamVersions:     map[string]string{},
		ObjectCounts:       map[string]int64{},
		Checksums:          map[string]string{},
		SourceDatabaseSize: -1,
		TotalRows:          -1,
	}
	dec := xml.NewDecoder(skipBOM(io.LimitReader(r, maxOriginSize)))
	var path []string
	var text strings.Builder
	var attr string
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parse Origin.xml: %v", ErrFormat, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				if t.Name.Local != "DacOrigin" {
					return nil, zipFormatErr("Origin.xml root is <%s>, want <DacOrigin>",
						t.Name.Local)
				}
				sawRoot = true
			}
			path = append(path, t.Name.Local)
			text.Reset()
			attr = ""
			for _, a := range t.Attr {
				if a.Name.Local == "StreamName" || a.Name.Local == "Uri" {
					attr = a.Value
				}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if err := o.set(strings.Join(path, "/"), attr, text.String()); err != nil {
				return nil, err
			}
			path = path[:len(path)-1]
			text.Reset()
		}
	}
	if !sawRoot {
		return nil, zipFormatErr("Origin.xml has no root element")
	}
	return o, nil
}

// set stores one leaf value of Origin.xml by its element path.
func (o *Origin) set(path, attr, text string) error {
	const root = "DacOrigin/"
	path = strings.TrimPrefix(path, root)
	v := strings.TrimSpace(text)
	num := func(dst *int64) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return zipFormatErr("Origin.xml %s: %q is not a number", path, v)
		}
		*dst = n
		return nil
	}
	switch {
	case path == "PackageProperties/Version":
		o.PackageVersion = v
	case path == "PackageProperties/ContainsExportedData":
		o.ContainsExportedData = strings.EqualFold(v, "true")
	case path == "PackageProperties/StreamVersions/Version":
		o.StreamVersions[attr] = v
	case path == "Operation/Identity":
		o.Identity = v
	case path == "Operation/Start":
		o.StartText = v
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			o.Start = t
		}
	case path == "Operation/ProductName":
		o.ProductName = v
	case path == "Operation/ProductVersion":
		o.ProductVersion = v
	case path == "Operation/ProductSchema":
		o.ProductSchema = v
	case path == "Server/ServerVersion":
		o.ServerVersion = text
	case strings.HasPrefix(path, "Server/ObjectCounts/"):
		var n int64
		if err := num(&n); err != nil {
			return err
		}
		o.ObjectCounts[strings.TrimPrefix(path, "Server/ObjectCounts/")] = n
	case path == "ExportStatistics/SourceDatabaseSize":
		return num(&o.SourceDatabaseSize)
	case path == "ExportStatistics/TableRowCountTotalTag":
		return num(&o.TotalRows)
	case path == "Checksums/Checksum":
		o.Checksums[attr] = v
	case path == "ModelSchemaVersion":
		o.ModelSchemaVersion = v
	case path == "DataPhaseTables":
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				o.DataPhaseTables = append(o.DataPhaseTables, name)
			}
		}
	}
	return nil
}

// ServerName returns the source server's product line from ServerVersion:
// its first line, e.g. "Microsoft SQL Server 2019 (RTM) - 15.0.2000.5 (X64)".
func (o *Origin) ServerName() string {
	first, _, _ := strings.Cut(strings.TrimSpace(o.ServerVersion), "\n")
	return strings.TrimSpace(first)
}
