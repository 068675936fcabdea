package embedded

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits Azure applies that matter here.
const (
	maxPutBlobSize    = 5000 << 20 // Put Blob, one request
	maxBlockSize      = 4000 << 20 // Put Block
	maxBlockListBody  = 16 << 20   // Put Block List XML
	maxBlocksPerBlob  = 50000
	maxRangeMD5Length = 4 << 20
)

func (s *Server) putBlob(w http.ResponseWriter, r *http.Request, rq *request) error {
	if t := r.Header.Get("x-ms-blob-type"); t != "BlockBlob" {
		if t == "" {
			return errorf(http.StatusBadRequest, "MissingRequiredHeader",
				"An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.")
		}
		return errNotImplemented(t + " blobs")
	}
	size, wantMD5, err := bodyChecks(r, maxPutBlobSize)
	if err != nil {
		return err
	}
	cond, aerr := parseConditions(r.Header)
	if aerr != nil {
		return aerr
	}
	cond.createOnly = rq.createOnly
	// Check the conditions before reading the body, so "do not overwrite"
	// fails fast; they are checked again at commit.
	old, err := s.store.readManifest(rq.account, rq.container, rq.blob)
	if err == nil {
		err = cond.checkWrite(old)
	}
	if err != nil {
		return err
	}
	spooled, n, sum, err := s.store.spool(rq.account, rq.container, r.Body, size, wantMD5)
	if err != nil {
		return err
	}
	next := s.newManifest(r, rq.blob)
	if next.Props.ContentMD5 == nil {
		next.Props.ContentMD5 = sum
	}
	m, err := s.store.putBlob(rq.account, rq.container, rq.blob, spooled, n, next, cond)
	if err != nil {
		return err
	}
	h := w.Header()
	setValidators(h, m.ETag, m.Modified)
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// bodyChecks requires a Content-Length within limit and decodes an
// optional Content-MD5.
func bodyChecks(r *http.Request, limit int64) (size int64, md5sum []byte, err error) {
	if r.ContentLength < 0 {
		return 0, nil, errorf(http.StatusLengthRequired, "MissingContentLengthHeader",
			"Content-Length HTTP header is missing.")
	}
	if r.ContentLength > limit {
		return 0, nil, errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit.")
	}
	if v := r.Header.Get("Content-MD5"); v != "" {
		md5sum, err = base64.StdEncoding.DecodeString(v)
		if err != nil || len(md5sum) != md5.Size {
			return 0, nil, errInvalidHeader("Content-MD5")
		}
	}
	return r.ContentLength, md5sum, nil
}

// newManifest starts the manifest of a blob being written, with the
// properties and metadata the request sets.
func (s *Server) newManifest(r *http.Request, name string) *manifest {
	now := s.now()
	h := r.Header
	pick := func(blobHeader, plain string) string {
		if v := h.Get(blobHeader); v != "" {
			return v
		}
		if plain != "" && r.URL.Query().Get("comp") == "" {
			return h.Get(plain)
		}
		return ""
	}
	m := &manifest{
		Name: name, ETag: s.store.newETag(now), Created: now, Modified: now,
		Metadata: metadataOf(h),
		Props: blobProps{
			ContentType:        pick("x-ms-blob-content-type", "Content-Type"),
			ContentEncoding:    pick("x-ms-blob-content-encoding", "Content-Encoding"),
			ContentLanguage:    pick("x-ms-blob-content-language", "Content-Language"),
			ContentDisposition: pick("x-ms-blob-content-disposition", ""),
			CacheControl:       pick("x-ms-blob-cache-control", ""),
		},
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		m.Props.ContentMD5, _ = base64.StdEncoding.DecodeString(v)
	}
	return m
}

func (s *Server) putBlock(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, ok := decodeBlockID(r.URL.Query().Get("blockid"))
	if !ok {
		return errInvalidQuery("blockid")
	}
	size, wantMD5, err := bodyChecks(r, maxBlockSize)
	if err != nil {
		return err
	}
	if _, err := s.store.container(rq.account, rq.container); err != nil {
		return err
	}
	spooled, _, sum, err := s.store.spool(rq.account, rq.container, r.Body, size, wantMD5)
	if err != nil {
		return err
	}
	if err := s.store.stageBlock(rq.account, rq.container, rq.blob, id, spooled); err != nil {
		return err
	}
	w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	w.Header().Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// parseBlockList reads a Put Block List body, keeping the order of its
// mixed Committed, Uncommitted and Latest entries.
func parseBlockList(body io.Reader) ([]blockListEntry, error) {
	d := xml.NewDecoder(io.LimitReader(body, maxBlockListBody))
	var list []blockListEntry
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidXmlDocument",
				"XML specified is not syntactically valid.")
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			if _, end := tok.(xml.EndElement); end {
				depth--
			}
			continue
		}
		depth++
		if depth == 1 {
			if se.Name.Local != "BlockList" {
				return nil, errInvalidBlockList
			}
			continue
		}
		switch se.Name.Local {
		case "Committed", "Uncommitted", "Latest":
		default:
			return nil, errInvalidBlockList
		}
		var id string
		if err := d.DecodeElement(&id, &se); err != nil {
			return nil, errInvalidBlockList
		}
		depth--
		list = append(list, blockListEntry{kind: se.Name.Local, id: strings.TrimSpace(id)})
		if len(list) > maxBlocksPerBlob {
			return nil, errorf(http.StatusConflict, "BlockCountExceedsLimit",
				"The committed block count cannot exceed the maximum limit of 50,000 blocks.")
		}
	}
	return list, nil
}

func (s *Server) putBlockList(w http.ResponseWriter, r *http.Request, rq *request) error {
	cond, aerr := parseConditions(r.Header)
	if aerr != nil {
		return aerr
	}
	cond.createOnly = rq.createOnly
	list, err := parseBlockList(r.Body)
	if err != nil {
		return err
	}
	next := s.newManifest(r, rq.blob)
	m, err := s.store.commitBlocks(rq.account, rq.container, rq.blob, list, next, cond)
	if err != nil {
		return err
	}
	h := w.Header()
	setValidators(h, m.ETag, m.Modified)
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
	return nil
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

type blockListXML struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   []blockXML `xml:"CommittedBlocks>Block"`
	Uncommitted []blockXML `xml:"UncommittedBlocks>Block"`
}

func (s *Server) getBlockList(w http.ResponseWriter, r *http.Request, rq *request) error {
	kind := strings.ToLower(r.URL.Query().Get("blocklisttype"))
	if kind == "" {
		kind = "committed"
	}
	if kind != "committed" && kind != "uncommitted" && kind != "all" {
		return errInvalidQuery("blocklisttype")
	}
	m, committed, uncommitted, err := s.store.blockLists(rq.account, rq.container, rq.blob)
	if err != nil {
		return err
	}
	var out blockListXML
	if kind != "uncommitted" {
		for _, b := range committed {
			out.Committed = append(out.Committed, blockXML{b.ID, b.Size})
		}
	}
	if kind != "committed" {
		for _, b := range uncommitted {
			out.Uncommitted = append(out.Uncommitted, blockXML{b.ID, b.Size})
		}
	}
	if m != nil {
		setValidators(w.Header(), m.ETag, m.Modified)
		w.Header().Set("x-ms-blob-content-length", strconv.FormatInt(m.Size, 10))
	}
	return writeXML(w, http.StatusOK, out)
}

func (s *Server) deleteBlob(w http.ResponseWriter, r *http.Request, rq *request) error {
	cond, aerr := parseConditions(r.Header)
	if aerr != nil {
		return aerr
	}
	if err := s.store.deleteBlob(rq.account, rq.container, rq.blob, cond); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Server) setBlobMetadata(w http.ResponseWriter, r *http.Request, rq *request) error {
	cond, aerr := parseConditions(r.Header)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	m, err := s.store.update(rq.account, rq.container, rq.blob, cond, func(m *manifest) {
		m.Metadata = metadataOf(r.Header)
		m.ETag, m.Modified = s.store.newETag(now), now
	})
	if err != nil {
		return err
	}
	setValidators(w.Header(), m.ETag, m.Modified)
	w.WriteHeader(http.StatusOK)
	return nil
}

// update changes the properties of a committed blob in place.
func (st *store) update(acct, c, name string, cond conditions, fn func(*manifest)) (*manifest, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old, err := st.readManifest(acct, c, name)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errBlobNotFound
	}
	if err := cond.checkWrite(old); err != nil {
		return nil, err
	}
	next := *old
	fn(&next)
	if err := st.replaceLocked(acct, c, name, old, &next); err != nil {
		return nil, fmt.Errorf("update blob: %w", err)
	}
	return &next, nil
}
