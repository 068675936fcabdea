package embedded

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// level is the resource type an operation works on, as account SAS scopes
// it (srt=s, c, o).
type level int

const (
	levelService level = iota
	levelContainer
	levelObject
)

// operation describes one REST operation for authorization.
type operation struct {
	name  string
	level level
	perms string // any one of these SAS permission letters grants it
	// serviceSAS says whether a service (container or blob) SAS can grant
	// it at all; container management needs a key or an account SAS.
	serviceSAS bool
}

// authorize checks the request's SharedKey signature or SAS token against
// the account's keys, then the token's scope and permissions. Anonymous
// requests are refused: the embedded service has no public containers.
func (s *Server) authorize(r *http.Request, a *account, rq *request, op operation) *apiError {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return s.checkSharedKey(r, a, auth)
	}
	q := r.URL.Query()
	if q.Get("sig") == "" {
		return errNoAuth
	}
	return s.checkSAS(r, q, a, rq, op)
}

func (s *Server) checkSharedKey(r *http.Request, a *account, auth string) *apiError {
	scheme, cred, _ := strings.Cut(auth, " ")
	name, sig, ok := strings.Cut(cred, ":")
	if scheme != "SharedKey" || !ok || name != a.Name {
		return errAuthFailed
	}
	date := r.Header.Get("x-ms-date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return errAuthFailed
	}
	if skew := s.now().Sub(t); skew > s.cfg.MaxClockSkew || -skew > s.cfg.MaxClockSkew {
		return errAuthFailed
	}
	// Path-style clients (the azblob SDK, Azurite's own tools) sign
	// "/account" + the whole path, which repeats the account; Azurite also
	// accepts the path alone. Accept both forms.
	path := rawPath(r)
	for _, canon := range []string{"/" + a.Name + path, path} {
		if signatureMatches(sig, sharedKeyStringToSign(r, canon), a.Key1, a.Key2) {
			return nil
		}
	}
	s.log.Debug("shared key signature mismatch", "account", a.Name, "method", r.Method)
	return errAuthFailed
}

// rawPath is the request path as the client sent it, still escaped, which
// is what the client signed.
func rawPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath()
}

func (s *Server) checkSAS(r *http.Request, q url.Values, a *account, rq *request, op operation) *apiError {
	account := q.Has("ss") || q.Has("srt")
	var sts string
	var ok bool
	if account {
		sts, ok = accountSASStringToSign(a.Name, q)
	} else {
		sts, ok = serviceSASStringToSign(a.Name, rq, q)
	}
	if !ok || !signatureMatches(q.Get("sig"), sts, a.Key1, a.Key2) {
		return errAuthFailed
	}

	now := s.now()
	expiry, err := parseSASTime(q.Get("se"))
	if err != nil || !now.Before(expiry) {
		return errAuthFailed
	}
	if st := q.Get("st"); st != "" {
		start, err := parseSASTime(st)
		if err != nil || now.Before(start) {
			return errAuthFailed
		}
	}
	if !s.protocolAllowed(q.Get("spr"), r) {
		return errProtocolMismatch
	}
	if sip := q.Get("sip"); sip != "" && !ipAllowed(sip, r.RemoteAddr) {
		return errSourceIPMismatch
	}

	if account {
		if !strings.Contains(q.Get("ss"), "b") {
			return errServiceMismatch
		}
		if !strings.ContainsRune(q.Get("srt"), rune("sco"[op.level])) {
			return errResourceTypeMismatch
		}
	} else if !op.serviceSAS || (q.Get("sr") == "b" && op.level != levelObject) {
		return errAuthorizationFailure
	}
	sp := q.Get("sp")
	if op.perms != "" && !strings.ContainsAny(sp, op.perms) {
		return errPermissionMismatch
	}
	// Create without write may add blobs but never overwrite one.
	rq.createOnly = op.perms == "cw" && !strings.Contains(sp, "w")
	return nil
}

// serviceSASStringToSign builds the string a service SAS is signed over;
// its canonical resource is the container or blob the request addresses,
// so a token used outside its scope fails the signature check, as on Azure.
func serviceSASStringToSign(acct string, rq *request, q url.Values) (string, bool) {
	sv := q.Get("sv")
	if sv < "2015-04-05" || q.Get("si") != "" {
		return "", false // shared access policies and old versions are not supported
	}
	canon := "/blob/" + acct + "/" + rq.container
	switch q.Get("sr") {
	case "c":
	case "b":
		if rq.blob == "" {
			return "", false
		}
		canon += "/" + rq.blob
	default:
		return "", false // snapshot, version and directory scopes are not supported
	}
	f := []string{q.Get("sp"), q.Get("st"), q.Get("se"), canon, q.Get("si"),
		q.Get("sip"), q.Get("spr"), sv}
	if sv >= "2018-11-09" {
		f = append(f, q.Get("sr"), "")
		if sv >= "2020-12-06" {
			f = append(f, q.Get("ses"))
		}
	}
	f = append(f, q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"))
	return strings.Join(f, "\n"), true
}

// accountSASStringToSign builds the string an account SAS is signed over.
func accountSASStringToSign(acct string, q url.Values) (string, bool) {
	sv := q.Get("sv")
	if sv < "2015-04-05" {
		return "", false
	}
	f := []string{acct, q.Get("sp"), q.Get("ss"), q.Get("srt"), q.Get("st"), q.Get("se"),
		q.Get("sip"), q.Get("spr"), sv}
	if sv >= "2020-12-06" {
		f = append(f, q.Get("ses"))
	}
	return strings.Join(f, "\n") + "\n", true
}

// parseSASTime accepts the ISO 8601 UTC forms Azure accepts for st and se.
func parseSASTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// ipAllowed reports whether the client address is the single IP or within
// the "from-to" range of sip.
func ipAllowed(sip, remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	from, to, isRange := strings.Cut(sip, "-")
	lo, hi := net.ParseIP(from), net.ParseIP(from)
	if isRange {
		hi = net.ParseIP(to)
	}
	if ip == nil || lo == nil || hi == nil {
		return false
	}
	ip16, lo16, hi16 := ip.To16(), lo.To16(), hi.To16()
	return string(ip16) >= string(lo16) && string(ip16) <= string(hi16)
}

// protocolAllowed applies a SAS's spr: "https" alone refuses plain HTTP.
func (s *Server) protocolAllowed(spr string, r *http.Request) bool {
	if spr == "" || r.TLS != nil || s.cfg.AssumeHTTPS {
		return true
	}
	for _, p := range strings.Split(spr, ",") {
		if strings.TrimSpace(p) == "http" {
			return true
		}
	}
	return false
}
