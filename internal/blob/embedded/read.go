package embedded

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// byteRange is a parsed range request; end is inclusive, -1 for open.
type byteRange struct{ start, end int64 }

// parseRange reads x-ms-range, which wins over Range as on Azure. A
// malformed x-ms-range is an error; a malformed Range is ignored, and the
// whole blob returned, as HTTP allows.
func parseRange(h http.Header) (*byteRange, *apiError) {
	v, strict := h.Get("x-ms-range"), true
	if v == "" {
		v, strict = h.Get("Range"), false
	}
	if v == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	from, to, dash := strings.Cut(spec, "-")
	start, err1 := strconv.ParseInt(from, 10, 64)
	end, err2 := int64(-1), error(nil)
	if to != "" {
		end, err2 = strconv.ParseInt(to, 10, 64)
	}
	if !ok || !dash || err1 != nil || err2 != nil || start < 0 || (end >= 0 && end < start) {
		if strict {
			return nil, errInvalidHeader("x-ms-range")
		}
		return nil, nil
	}
	return &byteRange{start, end}, nil
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, rq *request) error {
	cond, aerr := parseConditions(r.Header)
	if aerr != nil {
		return aerr
	}
	rng, aerr := parseRange(r.Header)
	if aerr != nil {
		return aerr
	}
	if r.Method == http.MethodHead {
		rng = nil
	}
	m, off, n, body, err := s.openRead(w.Header(), rq, cond, rng, r.Method != http.MethodHead)
	if err != nil {
		return err
	}
	if body != nil {
		defer body.Close()
	}

	h := w.Header()
	blobHeaders(h, m)
	sasOverrides(h, r)
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if rng != nil {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, m.Size))
		h.Del("Content-MD5")
		if m.Props.ContentMD5 != nil {
			h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(m.Props.ContentMD5))
		}
		if r.Header.Get("x-ms-range-get-content-md5") == "true" {
			if err := s.rangeMD5(h, rq, m, off, n); err != nil {
				return err
			}
		}
	}
	if body == nil {
		h.Set("x-ms-access-tier", "Hot")
		h.Set("x-ms-access-tier-inferred", "true")
		w.WriteHeader(status)
		return nil
	}
	w.WriteHeader(status)
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{body}, buf); err != nil {
		s.log.Warn("blob download cut short", "request_id", rq.id, "err", err)
	}
	return nil
}

// openRead finds the committed blob, applies the conditions and the range,
// and (when withBody) pins a reader over the range, all under the store
// lock so that a concurrent commit cannot slip in between.
func (s *Server) openRead(h http.Header, rq *request, cond conditions, rng *byteRange, withBody bool) (
	m *manifest, off, n int64, body *blobReader, err error) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	m, err = st.readManifest(rq.account, rq.container, rq.blob)
	if err == nil && m == nil {
		err = errBlobNotFound
	}
	if err == nil {
		err = cond.checkRead(m)
	}
	if err != nil {
		if err == errNotModified {
			setValidators(h, m.ETag, m.Modified)
		}
		return nil, 0, 0, nil, err
	}
	off, n = 0, m.Size
	if rng != nil {
		if rng.start >= m.Size {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", m.Size))
			return nil, 0, 0, nil, errorf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
				"The range specified is invalid for the current size of the resource.")
		}
		off, n = rng.start, m.Size-rng.start
		if rng.end >= 0 && rng.end < m.Size {
			n = rng.end - off + 1
		}
	}
	if withBody {
		body = st.openLocked(rq.account, rq.container, m, off, n)
	}
	return m, off, n, body, nil
}

// rangeMD5 sets Content-MD5 to the digest of the range, which Azure
// computes for ranges up to 4 MiB.
func (s *Server) rangeMD5(h http.Header, rq *request, m *manifest, off, n int64) error {
	if n > maxRangeMD5Length {
		return errorf(http.StatusBadRequest, "OutOfRangeInput",
			"The requested range for x-ms-range-get-content-md5 exceeds 4 MiB.")
	}
	s.store.mu.Lock()
	rd := s.store.openLocked(rq.account, rq.container, m, off, n)
	s.store.mu.Unlock()
	defer rd.Close()
	sum := md5.New()
	if _, err := io.Copy(sum, rd); err != nil {
		return fmt.Errorf("hash range: %w", err)
	}
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	return nil
}

// blobHeaders sets the properties Get Blob and Get Blob Properties return.
func blobHeaders(h http.Header, m *manifest) {
	setValidators(h, m.ETag, m.Modified)
	h.Set("x-ms-creation-time", m.Created.UTC().Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-server-encrypted", "true")
	ct := m.Props.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range map[string]string{
		"Content-Encoding":    m.Props.ContentEncoding,
		"Content-Language":    m.Props.ContentLanguage,
		"Content-Disposition": m.Props.ContentDisposition,
		"Cache-Control":       m.Props.CacheControl,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	if m.Props.ContentMD5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(m.Props.ContentMD5))
	}
	setMetadata(h, m.Metadata)
}

// sasOverrides applies the response headers a service SAS may fix (rscc,
// rscd, rsce, rscl, rsct); they are part of its signature.
func sasOverrides(h http.Header, r *http.Request) {
	q := r.URL.Query()
	if q.Get("sig") == "" || q.Get("sr") == "" {
		return
	}
	for param, header := range map[string]string{
		"rscc": "Cache-Control", "rscd": "Content-Disposition", "rsce": "Content-Encoding",
		"rscl": "Content-Language", "rsct": "Content-Type",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
}
