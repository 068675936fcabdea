// Package testenv decides what a test does when something it needs from
// outside the repository is missing: a database server, Azurite, a browser or
// the shared fixtures. Locally such a test skips and says how to enable it; in
// CI (CI=true) the same absence fails the test, so a green CI run always means
// the test really ran.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Missing reports that something the test needs is absent. It skips the test
// with why and how to enable it, or fails it when CI is set.
func Missing(t testing.TB, what, howToEnable string) {
	t.Helper()
	msg := what + " is not available; " + howToEnable
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true turns this skip into a failure)", msg)
	}
	t.Skip(msg)
}

// RepoRoot returns the repository root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns the ../shared folder beside the repository, or the folder
// named by BACPORT_SHARED. It calls Missing when the folder is absent.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BACPORT_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "the shared folder "+dir,
			"place the shared fixtures beside the repository or set BACPORT_SHARED")
	}
	return dir
}

// FixturesDir returns the folder of real BACPAC packages in ../shared.
func FixturesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(SharedDir(t), "fixtures", "bacpac")
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "the fixture folder "+dir,
			"place the shared fixtures beside the repository or set BACPORT_SHARED")
	}
	return dir
}
