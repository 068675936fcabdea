package embedded

import (
	"slices"
	"sort"
	"testing"
)

// TestHeaderLess checks the SharedKey header order against the order the
// azblob SDK's signer produced for the same names (recorded from SDK
// v1.8.3): underscores and dots before digits, digits before letters,
// hyphens ignored at first.
func TestHeaderLess(t *testing.T) {
	want := []string{
		"x-ms-blob-content-md5",
		"x-ms-blob-type",
		"x-ms-client-request-id",
		"x-ms-date",
		"x-ms-meta-_x",
		"x-ms-meta-a.b",
		"x-ms-meta-a_b",
		"x-ms-meta-a+b",
		"x-ms-meta-a1",
		"x-ms-meta-a2",
		"x-ms-meta-ab",
		"x-ms-meta-b",
		"x-ms-meta-z9",
		"x-ms-version",
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	sort.Slice(got, func(i, j int) bool { return headerLess(got[i], got[j]) })
	if !slices.Equal(got, want) {
		t.Fatalf("header order:\n got %q\nwant %q", got, want)
	}
}

func TestCanonicalResource(t *testing.T) {
	for _, tc := range []struct{ path, query, want string }{
		{"/a/a/c", "", "/a/a/c"},
		{"/a/a/c", "restype=container&comp=list&prefix=x%2Fy&include=metadata&include=deleted",
			"/a/a/c\ncomp:list\ninclude:deleted,metadata\nprefix:x/y\nrestype:container"},
		{"/a/a/c/b%20c", "comp=block&blockid=QUJD%3D", "/a/a/c/b%20c\nblockid:QUJD=\ncomp:block"},
	} {
		if got := canonicalResource(tc.path, tc.query); got != tc.want {
			t.Errorf("canonicalResource(%q, %q) = %q, want %q", tc.path, tc.query, got, tc.want)
		}
	}
}

func TestParseSASTime(t *testing.T) {
	for _, s := range []string{"2026-12-03", "2026-12-03T10:11Z", "2026-12-03T10:11:12Z", "2026-12-03T10:11:12.1234567Z"} {
		if _, err := parseSASTime(s); err != nil {
			t.Errorf("parseSASTime(%q): %v", s, err)
		}
	}
	if _, err := parseSASTime("yesterday"); err == nil {
		t.Errorf("parseSASTime(yesterday) succeeded")
	}
}

func TestIPAllowed(t *testing.T) {
	for _, tc := range []struct {
		sip, remote string
		want        bool
	}{
		{"127.0.0.1", "127.0.0.1:5000", true},
		{"127.0.0.2", "127.0.0.1:5000", false},
		{"10.0.0.0-10.0.0.255", "10.0.0.7:1", true},
		{"10.0.0.0-10.0.0.255", "10.0.1.7:1", false},
	} {
		if got := ipAllowed(tc.sip, tc.remote); got != tc.want {
			t.Errorf("ipAllowed(%q, %q) = %v, want %v", tc.sip, tc.remote, got, tc.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		xms, std string
		want     *byteRange
		bad      bool
	}{
		{"bytes=0-9", "", &byteRange{0, 9}, false},
		{"bytes=5-", "", &byteRange{5, -1}, false},
		{"", "bytes=3-4", &byteRange{3, 4}, false},
		{"bytes=1-2", "bytes=3-4", &byteRange{1, 2}, false},
		{"bytes=9-1", "", nil, true},
		{"", "bytes=9-1", nil, false},
		{"", "items=1-2", nil, false},
		{"", "bytes=-5", nil, false},
	} {
		h := map[string][]string{}
		if tc.xms != "" {
			h["X-Ms-Range"] = []string{tc.xms}
		}
		if tc.std != "" {
			h["Range"] = []string{tc.std}
		}
		got, err := parseRange(h)
		if (err != nil) != tc.bad || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("parseRange(x-ms-range %q, Range %q) = %v, %v; want %v, bad=%v",
				tc.xms, tc.std, got, err, tc.want, tc.bad)
		}
	}
}
