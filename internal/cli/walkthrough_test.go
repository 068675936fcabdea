//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/testenv"
)

// scripts/private-link-walkthrough.sh tells the whole Private Link story
// with the CLI alone against a fresh `bacport serve`; it must run to its
// end.
func TestWalkthrough_PrivateLink(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Missing(t, "bash", "install bash to run scripts/private-link-walkthrough.sh")
	}
	work := t.TempDir()
	seed := filepath.Join(work, "seed.bacpac")
	writeSeed(t, seed, 4, 5000)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	script := filepath.Join(testenv.RepoRoot(), "scripts", "private-link-walkthrough.sh")
	cmd := exec.CommandContext(ctx, bash, script)
	cmd.Env = append(os.Environ(),
		"PATH="+bacportBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"WORK="+filepath.Join(work, "w"), "SEED_BACPAC="+seed)
	// The script starts bacport serve; a timeout must end it too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	text := out.String()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "w", "serve.log"))
		t.Fatalf("%s: %v\n%s\nbacport serve log:\n%s", script, err, text, log)
	}
	t.Logf("%s:\n%s", script, text)
	if strings.Contains(text, "PRIVATE LINK PART SKIPPED") {
		testenv.Missing(t, "the Private Link API in bacport serve",
			"the walkthrough ran only its public-path part; wire internal/privatelink into serve")
	}
	if !strings.Contains(text, "walkthrough complete") {
		t.Fatalf("%s exited 0 without finishing", script)
	}
	if strings.Contains(text, "--storage-key") || strings.Contains(text, "--administrator-login-password") {
		t.Error("the walkthrough put a secret on a command line it printed")
	}
}
