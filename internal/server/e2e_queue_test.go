package server_test

import (
	"github.com/bacport/bacport/internal/servetest"

	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// queueStatus is the part of the rich status about waiting: the queue
// position and the stalled flag.
type queueStatus struct {
	Status           string     `json:"status"`
	QueuePosition    int        `json:"queuePosition"`
	QueuedTime       time.Time  `json:"queuedTime"`
	StartedTime      *time.Time `json:"startedTime"`
	LastProgressTime *time.Time `json:"lastProgressTime"`
	Stalled          bool       `json:"stalled"`
}

func (e *env) queueStatus(id string) queueStatus {
	e.t.Helper()
	var st queueStatus
	if code := e.p.call(e.rec, e.p.token, "GET", "/bacport/operations/"+id, nil, &st); code != 200 {
		e.t.Fatalf("GET status of %s: HTTP %d", id, code)
	}
	return st
}

// newEnvFlags is newEnv with serve flags from the first start.
func newEnvFlags(t *testing.T, flags ...string) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	p := &proc{t: t, dir: t.TempDir(), api: servetest.FreeAddr(t), blob: servetest.FreeAddr(t), log: &servetest.LockedBuffer{},
		flags: flags}
	p.start()
	t.Cleanup(func() { p.stop() })
	e := &env{t: t, p: p, rec: p.recorder(), ctx: context.Background(), password: "Pw-" + randHex(12) + "!"}
	e.clients(p.token)
	return e
}

// TestServe_QueueAndStall shows the answers to "my job sits pending": with
// one worker, a job blocked on a database lock is Running and, after
// --stall-after without progress, stalled; the jobs behind it are Queued
// with positions 1 and 2 in the order they were queued. The CLI prints
// both, and its --wait follower says them as they happen.
func TestServe_QueueAndStall(t *testing.T) {
	e := newEnvFlags(t, "--workers", "1", "--stall-after", "1s")
	e.setup()
	for _, name := range []string{"q1", "q2"} {
		e.createDB(name)
		db := openSQLite(t, e.p.sqliteFile(rg, srv, name))
		if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO t VALUES (1, 'a'), (2, 'b')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}

	// An exclusive lock on db1 holds its export still: SQLite waits for
	// the lock (30 s busy timeout) and the job reports nothing meanwhile.
	lockDB := openSQLite(t, e.p.sqliteFile(rg, srv, "db1"))
	lock, err := lockDB.Conn(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(e.ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatalf("lock db1: %v", err)
	}
	locked := true
	unlock := func() {
		if locked {
			locked = false
			if _, err := lock.ExecContext(e.ctx, `COMMIT`); err != nil {
				t.Errorf("unlock db1: %v", err)
			}
		}
	}
	defer unlock()

	dbs := e.v2.NewDatabasesClient()
	export := func(db string) string {
		t.Helper()
		poller, err := dbs.BeginExport(e.ctx, rg, srv, db, e.exportDef(db+"-queue.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin export of %s: %v", db, err)
		}
		return opID(t, mustToken(t, poller))
	}
	held := export("db1")
	e.p.waitStatus(e.rec, held, "the export of db1 to start", func(st opStatus) bool {
		return st.Status == "Running"
	})
	q1 := export("q1")
	q2 := export("q2")

	cli := func(args ...string) *exec.Cmd {
		cmd := exec.Command(servetest.Binary(t), args...)
		cmd.Env = append(os.Environ(), "BACPORT_PROFILE="+filepath.Join(t.TempDir(), "profile.json"),
			"BACPORT_ENDPOINT="+e.p.ep.API, "BACPORT_TOKEN="+e.p.token, "BACPORT_CA_FILE="+e.p.ep.CertFile,
			"BACPORT_SUBSCRIPTION="+e.p.ep.Subscription)
		return cmd
	}
	var heldWait, q2Wait bytes.Buffer
	followers := map[string]*exec.Cmd{}
	for id, out := range map[string]*bytes.Buffer{held: &heldWait, q2: &q2Wait} {
		cmd := cli("sql", "db", "import-export-status", id, "--wait")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start import-export-status --wait: %v", err)
		}
		followers[id] = cmd
	}

	// Stalled after 1 s without progress; the times are separate fields.
	var st queueStatus
	deadline := time.Now().Add(20 * time.Second)
	for st = e.queueStatus(held); !st.Stalled; st = e.queueStatus(held) {
		if st.Status != "Running" || time.Now().After(deadline) {
			t.Fatalf("export of locked db1 never shown stalled: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.QueuePosition != 0 || st.StartedTime == nil || st.LastProgressTime == nil ||
		time.Since(*st.LastProgressTime) < time.Second || st.QueuedTime.IsZero() ||
		st.StartedTime.Before(st.QueuedTime) {
		t.Fatalf("stalled running job: want no queue position, queued ≤ started, progress ≥ 1s ago: %+v", st)
	}
	for want, id := range []string{q1, q2} {
		st := e.queueStatus(id)
		if st.Status != "Queued" || st.QueuePosition != want+1 || st.Stalled || st.StartedTime != nil ||
			st.QueuedTime.IsZero() {
			t.Fatalf("job %d behind the held one: want Queued at position %d, no start: %+v", want+1, want+1, st)
		}
	}

	code, out := runCLI(cli("sql", "db", "import-export-status", q2))
	if code != 0 || !strings.Contains(out, "QueuePosition                : 2\n") {
		t.Fatalf("import-export-status of the second queued job (exit %d) lacks its position:\n%s", code, out)
	}
	code, out = runCLI(cli("sql", "db", "import-export-status", held))
	if code != 0 || !strings.Contains(out, "Stalled                      : no progress since ") ||
		!strings.Contains(out, "StartedTime                  : ") {
		t.Fatalf("import-export-status of the stalled job (exit %d) does not say so:\n%s", code, out)
	}

	// Released, the held job moves again and the line advances.
	unlock()
	q2Positions := []int{}
	deadline = time.Now().Add(60 * time.Second)
	for {
		s1, s2 := e.queueStatus(held), e.queueStatus(q2)
		if s2.Status == "Queued" {
			q2Positions = append(q2Positions, s2.QueuePosition)
		}
		if s1.Stalled && s1.Status == "Running" && time.Since(*s1.LastProgressTime) < 500*time.Millisecond {
			t.Fatalf("job shown stalled with progress %v ago: %+v", time.Since(*s1.LastProgressTime), s1)
		}
		if s2.Status == "Succeeded" {
			break
		}
		if s2.Status == "Failed" || s2.Status == "Cancelled" || time.Now().After(deadline) {
			t.Fatalf("second queued job did not succeed: %+v\n%s", s2, e.p.logText())
		}
		time.Sleep(30 * time.Millisecond)
	}
	for i, p := range q2Positions {
		if p < 1 || p > 2 || i > 0 && p > q2Positions[i-1] {
			t.Fatalf("queue positions of the second job went %v; want 2 then 1, never back", q2Positions)
		}
	}
	for _, id := range []string{held, q1} {
		if st := e.queueStatus(id); st.Status != "Succeeded" || st.Stalled || st.QueuePosition != 0 {
			t.Fatalf("job %s: want Succeeded, not stalled, not queued: %+v", id, st)
		}
	}

	for id, cmd := range followers {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("import-export-status %s --wait: %v", id, err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("import-export-status %s --wait did not end with its job", id)
		}
	}
	if !strings.Contains(heldWait.String(), "— stalled?") {
		t.Errorf("--wait on the locked export never said it stalled:\n%s", heldWait.String())
	}
	if !strings.Contains(q2Wait.String(), "queued, position 2") {
		t.Errorf("--wait on the second queued job never said its position:\n%s", q2Wait.String())
	}
}

// runCLI runs a CLI command and returns its exit code and output.
func runCLI(cmd *exec.Cmd) (int, string) {
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}
