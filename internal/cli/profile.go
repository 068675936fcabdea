package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Profile is what the client commands need to reach a bacport server: the
// API endpoint, the bearer token, the certificate to trust and the default
// subscription. `bacport login` writes it.
type Profile struct {
	Endpoint     string `json:"endpoint"`
	Token        string `json:"token,omitempty"`
	CAFile       string `json:"caFile,omitempty"`
	Subscription string `json:"subscription,omitempty"`
}

// endpointsFile is the shape of <data-dir>/endpoints.json that
// `bacport serve` writes, so a local client needs no copy and paste.
type endpointsFile struct {
	API            string `json:"api"`
	Blob           string `json:"blob"`
	Portal         string `json:"portal"`
	CertFile       string `json:"certFile"`
	Subscription   string `json:"subscriptionId"`
	AdminTokenFile string `json:"adminTokenFile"`
}

// profilePath returns where the profile lives: $BACPORT_PROFILE, else the
// user's config directory.
func profilePath() (string, error) {
	if p := os.Getenv("BACPORT_PROFILE"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "bacport", "profile.json"), nil
}

// loadProfile reads the profile. Environment variables override it:
// BACPORT_ENDPOINT, BACPORT_TOKEN, BACPORT_CA_FILE, BACPORT_SUBSCRIPTION.
func loadProfile() (Profile, error) {
	var p Profile
	path, err := profilePath()
	if err != nil {
		return p, err
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &p); err != nil {
			return p, fmt.Errorf("read profile %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return p, fmt.Errorf("read profile: %w", err)
	}
	override(&p.Endpoint, "BACPORT_ENDPOINT")
	override(&p.Token, "BACPORT_TOKEN")
	override(&p.CAFile, "BACPORT_CA_FILE")
	override(&p.Subscription, "BACPORT_SUBSCRIPTION")
	if p.Endpoint == "" {
		return p, usageError{errors.New("no bacport server configured: run `bacport login --data-dir DIR` " +
			"for a local server or `bacport login --endpoint URL --token TOKEN`")}
	}
	return p, nil
}

func override(field *string, env string) {
	if v := os.Getenv(env); v != "" {
		*field = v
	}
}

// saveProfile writes the profile readable only by its owner, since it
// holds a token.
func saveProfile(p Profile) (string, error) {
	path, err := profilePath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("save profile: %w", err)
	}
	data, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("save profile: %w", err)
	}
	return path, nil
}

// profileFromDataDir builds a profile from a local server's endpoints.json
// and its admin token file.
func profileFromDataDir(dir string) (Profile, error) {
	data, err := os.ReadFile(filepath.Join(dir, "endpoints.json"))
	if err != nil {
		return Profile{}, fmt.Errorf("read endpoints of the server in %s (is `bacport serve --data-dir %s` running?): %w",
			dir, dir, err)
	}
	var ep endpointsFile
	if err := json.Unmarshal(data, &ep); err != nil {
		return Profile{}, fmt.Errorf("read %s/endpoints.json: %w", dir, err)
	}
	p := Profile{Endpoint: ep.API, CAFile: ep.CertFile, Subscription: ep.Subscription}
	if ep.AdminTokenFile != "" {
		tok, err := os.ReadFile(ep.AdminTokenFile)
		if err != nil {
			return Profile{}, fmt.Errorf("read admin token: %w", err)
		}
		p.Token = string(trimSpace(tok))
	}
	return p, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
