package embedded

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxResults is the page size of a listing that names none, and the
// largest Azure allows.
const DefaultMaxResults = 5000

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request, rq *request) error {
	if r.Header.Get("x-ms-blob-public-access") != "" {
		return errorf(http.StatusConflict, "PublicAccessNotPermitted",
			"Public access is not permitted on this storage account.")
	}
	cm, err := s.store.createContainer(rq.account, rq.container, metadataOf(r.Header), s.now())
	if err != nil {
		return err
	}
	s.log.Info("container created", "account", rq.account, "container", rq.container)
	setValidators(w.Header(), cm.ETag, cm.Modified)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) deleteContainer(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.store.deleteContainer(rq.account, rq.container); err != nil {
		return err
	}
	s.log.Info("container deleted", "account", rq.account, "container", rq.container)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Server) containerProperties(w http.ResponseWriter, r *http.Request, rq *request) error {
	cm, err := s.store.container(rq.account, rq.container)
	if err != nil {
		return err
	}
	h := w.Header()
	setValidators(h, cm.ETag, cm.Modified)
	setMetadata(h, cm.Metadata)
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) accountInfo(w http.ResponseWriter, r *http.Request, rq *request) error {
	h := w.Header()
	h.Set("x-ms-sku-name", "Standard_LRS")
	h.Set("x-ms-account-kind", "StorageV2")
	h.Set("x-ms-is-hns-enabled", "false")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// listParams are the paging parameters shared by both listings.
type listParams struct {
	prefix, marker, rawMarker, delimiter string
	max                                  int
	metadata                             bool
}

func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{prefix: q.Get("prefix"), rawMarker: q.Get("marker"),
		delimiter: q.Get("delimiter"), max: DefaultMaxResults}
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errInvalidQuery("maxresults")
		}
		p.max = min(n, DefaultMaxResults)
	}
	if p.rawMarker != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.rawMarker)
		if err != nil {
			return p, errInvalidQuery("marker")
		}
		p.marker = string(b)
	}
	for _, inc := range strings.Split(q.Get("include"), ",") {
		if inc == "metadata" {
			p.metadata = true
		}
	}
	return p, nil
}

// encodeMarker makes a continuation marker from the key of the first item
// of the next page; clients treat it as opaque.
func encodeMarker(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

type xmlMetadata map[string]string

func (m xmlMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerXML struct {
	XMLName    xml.Name `xml:"Container"`
	Name       string   `xml:"Name"`
	Properties struct {
		LastModified string `xml:"Last-Modified"`
		ETag         string `xml:"Etag"`
		LeaseStatus  string `xml:"LeaseStatus"`
		LeaseState   string `xml:"LeaseState"`
		Immutability bool   `xml:"HasImmutabilityPolicy"`
		LegalHold    bool   `xml:"HasLegalHold"`
	} `xml:"Properties"`
	Metadata xmlMetadata `xml:"Metadata,omitempty"`
}

type containerListXML struct {
	XMLName         xml.Name       `xml:"EnumerationResults"`
	ServiceEndpoint string         `xml:"ServiceEndpoint,attr"`
	Prefix          string         `xml:"Prefix,omitempty"`
	Marker          string         `xml:"Marker,omitempty"`
	MaxResults      int            `xml:"MaxResults"`
	Containers      []containerXML `xml:"Containers>Container"`
	NextMarker      string         `xml:"NextMarker"`
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request, rq *request) error {
	p, err := parseListParams(r)
	if err != nil {
		return err
	}
	all, err := s.store.listContainers(rq.account)
	if err != nil {
		return err
	}
	out := containerListXML{ServiceEndpoint: endpointOf(r, rq.account) + "/",
		Prefix: p.prefix, Marker: p.rawMarker, MaxResults: p.max}
	for _, cm := range all {
		if !strings.HasPrefix(cm.Name, p.prefix) || cm.Name < p.marker {
			continue
		}
		if len(out.Containers) == p.max {
			out.NextMarker = encodeMarker(cm.Name)
			break
		}
		c := containerXML{Name: cm.Name}
		c.Properties.LastModified = cm.Modified.UTC().Format(http.TimeFormat)
		c.Properties.ETag = cm.ETag
		c.Properties.LeaseStatus, c.Properties.LeaseState = "unlocked", "available"
		if p.metadata {
			c.Metadata = cm.Metadata
		}
		out.Containers = append(out.Containers, c)
	}
	return writeXML(w, http.StatusOK, out)
}

func endpointOf(r *http.Request, acct string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + acct
}

func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

func setValidators(h http.Header, etag string, modified time.Time) {
	h.Set("ETag", etag)
	h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
}

// metadataOf collects the x-ms-meta-* headers. Go's HTTP server
// canonicalizes header names, so names come back as "Name" style rather than
// in the exact case the client sent.
func metadataOf(h http.Header) map[string]string {
	var md map[string]string
	for k, v := range h {
		if len(k) > len("x-ms-meta-") && strings.EqualFold(k[:len("x-ms-meta-")], "x-ms-meta-") {
			if md == nil {
				md = map[string]string{}
			}
			md[k[len("x-ms-meta-"):]] = strings.Join(v, ",")
		}
	}
	return md
}

func setMetadata(h http.Header, md map[string]string) {
	for k, v := range md {
		h.Set("x-ms-meta-"+k, v)
	}
}
