package embedded

import (
	"net/http"
	"strings"
	"time"
)

// conditions are the HTTP conditional headers of a request.
type conditions struct {
	createOnly           bool // the caller may not replace a blob
	ifMatch, ifNoneMatch string
	ifModifiedSince      time.Time
	ifUnmodifiedSince    time.Time
}

func parseConditions(h http.Header) (conditions, *apiError) {
	c := conditions{ifMatch: h.Get("If-Match"), ifNoneMatch: h.Get("If-None-Match")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"If-Modified-Since", &c.ifModifiedSince}, {"If-Unmodified-Since", &c.ifUnmodifiedSince}} {
		v := h.Get(t.name)
		if v == "" {
			continue
		}
		tm, err := http.ParseTime(v)
		if err != nil {
			return c, errInvalidHeader(t.name)
		}
		*t.dst = tm
	}
	return c, nil
}

// etagIn reports whether etag is in the comma-separated list, or the list
// is "*".
func etagIn(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || e == etag || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// checkWrite applies the conditions to a write over m (nil: no blob yet).
// "If-None-Match: *" on an existing blob is the "do not overwrite" case,
// which Azure answers with 409 BlobAlreadyExists.
func (c conditions) checkWrite(m *manifest) error {
	if c.createOnly && m != nil {
		return errPermissionMismatch
	}
	if c.ifMatch != "" && (m == nil || !etagIn(c.ifMatch, m.ETag)) {
		return errConditionNotMet
	}
	if c.ifNoneMatch != "" && m != nil && etagIn(c.ifNoneMatch, m.ETag) {
		if strings.TrimSpace(c.ifNoneMatch) == "*" {
			return errBlobExists
		}
		return errConditionNotMet
	}
	if m == nil {
		return nil
	}
	mod := m.Modified.Truncate(time.Second)
	if !c.ifModifiedSince.IsZero() && !mod.After(c.ifModifiedSince) {
		return errConditionNotMet
	}
	if !c.ifUnmodifiedSince.IsZero() && mod.After(c.ifUnmodifiedSince) {
		return errConditionNotMet
	}
	return nil
}

// errNotModified is the 304 answer to a read whose If-None-Match or
// If-Modified-Since says the client's copy is current.
var errNotModified = errorf(http.StatusNotModified, "ConditionNotMet",
	"The condition specified using HTTP conditional header(s) is not met.")

// checkRead applies the conditions to a read of m.
func (c conditions) checkRead(m *manifest) error {
	if c.ifMatch != "" && !etagIn(c.ifMatch, m.ETag) {
		return errConditionNotMet
	}
	mod := m.Modified.Truncate(time.Second)
	if !c.ifUnmodifiedSince.IsZero() && mod.After(c.ifUnmodifiedSince) {
		return errConditionNotMet
	}
	if c.ifNoneMatch != "" && etagIn(c.ifNoneMatch, m.ETag) {
		return errNotModified
	}
	if !c.ifModifiedSince.IsZero() && !mod.After(c.ifModifiedSince) {
		return errNotModified
	}
	return nil
}
