package embedded

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type blobPropsXML struct {
	Created            string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding,omitempty"`
	ContentLanguage    string `xml:"Content-Language,omitempty"`
	ContentMD5         string `xml:"Content-MD5,omitempty"`
	ContentDisposition string `xml:"Content-Disposition,omitempty"`
	CacheControl       string `xml:"Cache-Control,omitempty"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier"`
	AccessTierInferred bool   `xml:"AccessTierInferred"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
}

type blobXML struct {
	XMLName    xml.Name     `xml:"Blob"`
	Name       string       `xml:"Name"`
	Properties blobPropsXML `xml:"Properties"`
	Metadata   xmlMetadata  `xml:"Metadata,omitempty"`
}

type blobPrefixXML struct {
	XMLName xml.Name `xml:"BlobPrefix"`
	Name    string   `xml:"Name"`
}

// listBlobs answers List Blobs. Items are blobs and, with a delimiter,
// prefixes, in name order; the next marker is the key of the first item
// left out.
func (s *Server) listBlobs(w http.ResponseWriter, r *http.Request, rq *request) error {
	p, err := parseListParams(r)
	if err != nil {
		return err
	}
	all, err := s.store.listBlobs(rq.account, rq.container)
	if err != nil {
		return err
	}
	var items []any
	var next, lastPrefix string
	for _, m := range all {
		if !strings.HasPrefix(m.Name, p.prefix) {
			continue
		}
		key, isPrefix := m.Name, false
		if p.delimiter != "" {
			rest := m.Name[len(p.prefix):]
			if i := strings.Index(rest, p.delimiter); i >= 0 {
				key, isPrefix = p.prefix+rest[:i+len(p.delimiter)], true
			}
		}
		if key < p.marker || (isPrefix && key == lastPrefix) {
			continue
		}
		if len(items) == p.max {
			next = encodeMarker(key)
			break
		}
		if isPrefix {
			lastPrefix = key
			items = append(items, blobPrefixXML{Name: key})
			continue
		}
		items = append(items, blobItem(m, p.metadata))
	}
	return writeBlobList(w, endpointOf(r, rq.account)+"/", rq.container, p, items, next)
}

func blobItem(m *manifest, withMetadata bool) blobXML {
	b := blobXML{Name: m.Name, Properties: blobPropsXML{
		Created:            m.Created.UTC().Format(http.TimeFormat),
		LastModified:       m.Modified.UTC().Format(http.TimeFormat),
		ETag:               strings.Trim(m.ETag, `"`),
		ContentLength:      m.Size,
		ContentType:        m.Props.ContentType,
		ContentEncoding:    m.Props.ContentEncoding,
		ContentLanguage:    m.Props.ContentLanguage,
		ContentDisposition: m.Props.ContentDisposition,
		CacheControl:       m.Props.CacheControl,
		BlobType:           "BlockBlob",
		AccessTier:         "Hot",
		AccessTierInferred: true,
		LeaseStatus:        "unlocked",
		LeaseState:         "available",
		ServerEncrypted:    true,
	}}
	if b.Properties.ContentType == "" {
		b.Properties.ContentType = "application/octet-stream"
	}
	if m.Props.ContentMD5 != nil {
		b.Properties.ContentMD5 = base64.StdEncoding.EncodeToString(m.Props.ContentMD5)
	}
	if withMetadata {
		b.Metadata = m.Metadata
	}
	return b
}

func writeBlobList(w http.ResponseWriter, endpoint, container string, p listParams, items []any, next string) error {
	var buf strings.Builder
	buf.WriteString(xml.Header)
	e := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: "EnumerationResults"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "ServiceEndpoint"}, Value: endpoint},
		{Name: xml.Name{Local: "ContainerName"}, Value: container},
	}}
	e.EncodeToken(root)
	for _, f := range []struct{ name, value string }{
		{"Prefix", p.prefix}, {"Marker", p.rawMarker},
		{"MaxResults", strconv.Itoa(p.max)}, {"Delimiter", p.delimiter},
	} {
		if f.value != "" {
			e.EncodeElement(f.value, xml.StartElement{Name: xml.Name{Local: f.name}})
		}
	}
	blobs := xml.StartElement{Name: xml.Name{Local: "Blobs"}}
	e.EncodeToken(blobs)
	for _, it := range items {
		if err := e.Encode(it); err != nil {
			return fmt.Errorf("encode blob list: %w", err)
		}
	}
	e.EncodeToken(blobs.End())
	e.EncodeElement(next, xml.StartElement{Name: xml.Name{Local: "NextMarker"}})
	e.EncodeToken(root.End())
	if err := e.Flush(); err != nil {
		return fmt.Errorf("encode blob list: %w", err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte(buf.String()))
	return err
}

// listBlobs reads every committed manifest of the container, sorted by
// name. The cost grows with the container, which suits bacport's few,
// large packages; see the package doc.
func (st *store) listBlobs(acct, c string) ([]*manifest, error) {
	if _, err := st.container(acct, c); err != nil {
		return nil, err
	}
	dir := filepath.Join(st.containerDir(acct, c), "blobs")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	out := make([]*manifest, 0, len(ents))
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // replaced or deleted meanwhile
		}
		var m manifest
		if json.Unmarshal(b, &m) == nil {
			out = append(out, &m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
