//go:build linux

package cli_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/bacport/bacport/internal/testenv"
)

// openPTY opens a pseudo-terminal pair with the kernel's /dev/ptmx, so the
// test needs neither tmux nor a new dependency.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("get pty number: %w", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// runInPTY runs bacport with a terminal as stdin, stdout and stderr, and
// returns everything it drew.
func (e *env) runInPTY(args ...string) (int, string) {
	e.t.Helper()
	return e.answerInPTY("", "", args...)
}

// answerInPTY runs bacport on a terminal and, once it has drawn prompt,
// types answer.
func (e *env) answerInPTY(prompt, answer string, args ...string) (int, string) {
	e.t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		testenv.Missing(e.t, "a pseudo-terminal (/dev/ptmx: "+err.Error()+")",
			"run the tests where /dev/ptmx and /dev/pts are mounted")
	}
	defer master.Close()
	cmd := e.command(nil, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	slave.Close()
	var out lockedWriter
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once the child closes the terminal
		close(copied)
	}()
	if prompt != "" {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), prompt) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				e.t.Fatalf("bacport %s never prompted %q; drew %q", strings.Join(args, " "), prompt, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		master.Write([]byte(answer + "\r"))
	}
	cmd.Wait()
	<-copied
	return cmd.ProcessState.ExitCode(), out.String()
}

var percentRE = regexp.MustCompile(`\]\s+(\d+\.\d)%`)

// On a terminal, --wait draws one progress line and redraws it in place
// (carriage return, erase line) as the percentage moves, ending at 100%.
func TestFollow_DrawsProgressBarOnTerminal(t *testing.T) {
	// The job must outlast a few progress updates: the server paces jobs,
	// and should the machine still be quicker than the pace, the package
	// grows until the job outlasts them.
	e := startServe(t, "--job-bandwidth", "1MiB")
	key := e.setup("rg1", "srv1", "acct1")

	rows := 20000
	for attempt := 1; ; attempt++ {
		seed := filepath.Join(e.dir, fmt.Sprintf("seed%d.bacpac", attempt))
		writeSeed(t, seed, 8, rows)
		name := fmt.Sprintf("seed%d.bacpac", attempt)
		e.must("storage", "blob", "upload", "-g", "rg1", "-n", "acct1", "--container", "bacpacs",
			"--name", name, "--file", seed)
		code, drawn := e.runInPTY("sql", "db", "import", "-g", "rg1", "-s", "srv1",
			"-d", fmt.Sprintf("shop%d", attempt), "--storage-uri", e.ep.Blob+"/acct1/bacpacs/"+name,
			"--storage-key", key, "--administrator-login", "admin1",
			"--administrator-login-password", "Pa55w0rd!", "--wait")
		if code != 0 {
			t.Fatalf("import --wait under a terminal: exit %d; drew:\n%q", code, drawn)
		}

		redraws := strings.Split(drawn, "\r\x1b[2K")
		seen := map[string]bool{}
		var order []string
		for _, frame := range redraws[1:] {
			if m := percentRE.FindStringSubmatch(frame); m != nil && !seen[m[1]] {
				seen[m[1]] = true
				order = append(order, m[1])
			}
		}
		if len(redraws) < 3 || !seen["100.0"] {
			t.Fatalf("import --wait under a terminal drew %d frames, percentages %v; want several "+
				"redrawn frames ending at 100.0%%:\n%q", len(redraws)-1, order, drawn)
		}
		between := 0
		for p := range seen {
			if p != "0.0" && p != "100.0" {
				between++
			}
		}
		if between > 0 {
			t.Logf("attempt %d (%d rows per table): percentages drawn %v", attempt, rows, order)
			for _, want := range []string{"[#", "  data  ", " rows  ", "iB/s"} {
				if !strings.Contains(drawn, want) {
					t.Errorf("the progress bar never showed %q:\n%q", want, drawn)
				}
			}
			if !strings.Contains(drawn, "Status                       : Completed") {
				t.Errorf("no final status after the bar:\n%q", drawn)
			}
			return
		}
		if attempt == 4 {
			t.Fatalf("after %d attempts up to %d rows per table the bar never showed a percentage "+
				"between 0 and 100 (drew %v):\n%q", attempt, rows, order, drawn)
		}
		rows *= 3
	}
}

// Without a terminal, --wait writes plain lines: no carriage returns and no
// escape sequences in a log.
func TestFollow_PlainLinesWhenPiped(t *testing.T) {
	e := startServe(t)
	key := e.setup("rg1", "srv1", "acct1")
	seed := filepath.Join(e.dir, "seed.bacpac")
	writeSeed(t, seed, 3, 2000)
	e.must("storage", "blob", "upload", "-g", "rg1", "-n", "acct1", "--container", "bacpacs",
		"--name", "seed.bacpac", "--file", seed)
	code, out, errs := e.run(nil, "sql", "db", "import", "-g", "rg1", "-s", "srv1", "-d", "shop",
		"--storage-uri", e.ep.Blob+"/acct1/bacpacs/seed.bacpac", "--storage-key", key,
		"--administrator-login", "admin1", "--administrator-login-password", "Pa55w0rd!", "--wait")
	if code != 0 {
		t.Fatalf("import --wait: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.ContainsAny(errs, "\r\x1b") {
		t.Errorf("piped progress has terminal control characters:\n%q", errs)
	}
	for _, want := range []string{"accepted:", "100.0%", "Succeeded"} {
		if !strings.Contains(errs, want) {
			t.Errorf("piped progress does not show %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(out, "Status                       : Completed") {
		t.Errorf("stdout lacks the final status:\n%s", out)
	}
}

// Without the flag or the environment variable, the administrator password
// is asked for on the terminal and never echoed.
func TestSecret_PromptedWithoutEcho(t *testing.T) {
	e := startServe(t)
	const pw = "Typed-In-Secret-9"
	code, drawn := e.answerInPTY("administrator login password: ", pw,
		"sql", "server", "create", "-g", "rg1", "-s", "srvp", "--administrator-login", "admin1")
	if code != 0 {
		t.Fatalf("server create with a typed password: exit %d; drew %q", code, drawn)
	}
	if strings.Contains(drawn, pw) {
		t.Errorf("the typed password was echoed: %q", drawn)
	}
	if !strings.Contains(drawn, "srvp") {
		t.Errorf("server create did not show the new server: %q", drawn)
	}
}
