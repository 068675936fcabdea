package embedded

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// sharedKeyStringToSign builds the string a SharedKey request is signed
// over, as the Blob service defines it for versions since 2009-09-19:
// verb, eleven standard headers, the canonicalized x-ms- headers and the
// canonicalized resource. canonPath is the request path exactly as sent
// (still escaped), prefixed by "/" + account.
func sharedKeyStringToSign(r *http.Request, canonPath string) string {
	h := r.Header
	length := h.Get("Content-Length")
	if length == "0" {
		length = ""
	}
	date := h.Get("Date")
	if h.Get("x-ms-date") != "" {
		date = ""
	}
	var b strings.Builder
	for _, s := range []string{
		r.Method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		length,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		date,
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
	} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if ch := canonicalHeaders(h); ch != "" {
		b.WriteString(ch)
		b.WriteByte('\n')
	}
	b.WriteString(canonicalResource(canonPath, r.URL.RawQuery))
	return b.String()
}

// canonicalHeaders lists the x-ms- headers as "name:value" lines in the
// order Azure sorts them.
func canonicalHeaders(h http.Header) string {
	vals := map[string][]string{}
	for k, v := range h {
		name := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(name, "x-ms-") {
			vals[name] = append(vals[name], v...)
		}
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return headerLess(names[i], names[j]) })
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = n + ":" + strings.Join(vals[n], ",")
	}
	return strings.Join(lines, "\n")
}

// headerLess orders header names the way Azure's SharedKey scheme does: a
// culture-style collation in which hyphens and apostrophes are ignored at
// first, letters compare without case, digits sort before letters and most
// punctuation before digits. Names equal under that rule fall back to byte
// order; real header names never get there.
func headerLess(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && collationWeight(a[i]) == 0 {
			i++
		}
		for j < len(b) && collationWeight(b[j]) == 0 {
			j++
		}
		if i == len(a) || j == len(b) {
			if i == len(a) && j == len(b) {
				return a < b
			}
			return i == len(a)
		}
		wa, wb := collationWeight(a[i]), collationWeight(b[j])
		if wa != wb {
			return wa < wb
		}
		i++
		j++
	}
}

// collationWeight is the primary weight of an ASCII character; 0 means
// ignored at that level.
func collationWeight(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return 0x200 + int(c-'a')
	case c >= 'A' && c <= 'Z':
		return 0x200 + int(c-'A')
	case c >= '0' && c <= '9':
		return 0x100 + int(c-'0')
	case c == '-' || c == '\'' || c < '!' || c > '~':
		return 0
	case strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0:
		return 0
	case c == '+':
		return 0x7f // after the other punctuation, before digits
	}
	return int(c)
}

// canonicalResource appends the decoded query parameters, lower-cased and
// sorted, each with its sorted values joined by commas.
func canonicalResource(canonPath, rawQuery string) string {
	q, _ := url.ParseQuery(rawQuery)
	if len(q) == 0 {
		return canonPath
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(canonPath)
	for _, k := range names {
		v := append([]string(nil), q[k]...)
		sort.Strings(v)
		b.WriteString("\n" + strings.ToLower(k) + ":" + strings.Join(v, ","))
	}
	return b.String()
}

func sign(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// signatureMatches reports whether sig (base64) is the HMAC of s under
// either key, compared in constant time.
func signatureMatches(sig string, s string, keys ...[]byte) bool {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	ok := false
	for _, k := range keys {
		if hmac.Equal(want, sign(k, s)) {
			ok = true
		}
	}
	return ok
}
