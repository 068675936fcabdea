package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/server"
	"github.com/bacport/bacport/internal/servetest"
	"github.com/bacport/bacport/internal/testenv"
)

// walkthrough returns the ```sh blocks of the README's Walkthrough section,
// in order.
func walkthrough(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Walkthrough\n")
	if !ok {
		t.Fatalf("README.md has no \"## Walkthrough\" section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "\n```sh\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			t.Fatalf("README Walkthrough: a ```sh block is not closed")
		}
		blocks = append(blocks, block)
		section = after
	}
}

// TestReadmeWalkthrough runs the README's Walkthrough as a new user would:
// the first block (bacport serve) in the background, then every other
// block in one bash, in a fresh directory. Only the addresses differ: a
// `bacport` wrapper on PATH adds free --listen and --blob-listen ports so
// that the test never meets a bacport already running on the defaults.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	for _, tool := range []string{"bash", "curl", "jq", "sqlite3", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool, "apt-get install "+tool)
		}
	}
	blocks := walkthrough(t)
	if len(blocks) < 3 || !strings.HasPrefix(blocks[0], "bacport serve") {
		t.Fatalf("README Walkthrough: want a first block running bacport serve and more; got %d blocks", len(blocks))
	}

	bin := t.TempDir()
	wrapper := "#!/bin/sh\nif [ \"$1\" = serve ]; then shift; exec " + servetest.Binary(t) +
		" serve --listen " + servetest.FreeAddr(t) + " --blob-listen " + servetest.FreeAddr(t) + " \"$@\"; fi\nexec " +
		servetest.Binary(t) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "bacport"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	serveOut := &proc{log: &servetest.LockedBuffer{}} // only for its log
	w := serveOut.log
	serve := exec.Command("bash", "-c", blocks[0])
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = work, env, w, w
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := serve.Start(); err != nil {
		t.Fatalf("start %q: %v", blocks[0], err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-serve.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-serve.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	waitEndpoints(t, filepath.Join(work, "bacport-data", "endpoints.json"), exited, serveOut)

	script := "set -euo pipefail\n" + strings.Join(blocks[1:], "\n")
	run := exec.Command("bash", "-c", script)
	run.Dir, run.Env = work, env
	out, err := run.CombinedOutput()
	t.Logf("walkthrough output:\n%s", out)
	if err != nil {
		t.Fatalf("the README walkthrough failed: %v\nbacport serve said:\n%s", err, serveOut.logText())
	}
	for _, want := range []string{
		"customers: every row is equal", "orders: every row is equal",
		"Import shop2 Completed", "Export shop Completed",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	if n := bytes.Count(out, []byte("Succeeded")); n != 2 {
		t.Errorf("walkthrough output shows %d jobs Succeeded, want 2", n)
	}
}

func waitEndpoints(t *testing.T, path string, exited chan struct{}, out *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ep server.Endpoints
		data, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(data, &ep) == nil && ep.API != "" {
			return
		}
		select {
		case <-exited:
			t.Fatalf("bacport serve exited at start:\n%s", out.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bacport serve did not write %s within 60s", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
