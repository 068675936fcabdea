package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsqlv2 "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
)

// bigRows is the size of the database the cancel and restart tests use.
// They do not rely on it being slow: the process runs them with
// --job-bandwidth set so that each job lasts a few seconds.
const bigRows = 40_000

// jobSeconds is about how long a job lasts under the bandwidth cap.
const jobSeconds = 4

func (e *env) fillBig() string {
	t := e.t
	t.Helper()
	e.createDB("big")
	path := e.p.sqliteFile(rg, srv, "big")
	db := openSQLite(t, path)
	if _, err := db.Exec(`CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin()
	stmt, _ := tx.Prepare(`INSERT INTO big VALUES (?, ?, ?)`)
	for i := range bigRows {
		// Random text, so the package does not compress to nothing.
		if _, err := stmt.Exec(i, fmt.Sprintf("%08d-%s", i, randHex(24)), i%1000); err != nil {
			t.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

// waitRunning waits until the job moves rows.
func (e *env) waitRunning(id string) opStatus {
	e.t.Helper()
	return e.p.waitStatus(e.rec, id, "the job to move rows", func(st opStatus) bool {
		if st.Status == "Succeeded" || st.Status == "Failed" || st.Status == "Cancelled" {
			e.t.Fatalf("operation %s ended (%s) before the test could act on it", id, st.Status)
		}
		return st.Status == "Running" && st.Rows > 0
	})
}

// blobRun returns the run number bacport tagged a committed package with.
func (e *env) blobRun(name string) string {
	e.t.Helper()
	props, err := e.blobClient().ServiceClient().NewContainerClient("bacpacs").NewBlobClient(name).
		GetProperties(e.ctx, nil)
	if err != nil {
		e.t.Fatalf("get blob %s: %v", name, err)
	}
	for k, v := range props.Metadata {
		if strings.EqualFold(k, "bacportrun") && v != nil {
			return *v
		}
	}
	return ""
}

// TestServe_Durability covers what happens to running jobs: the 409 on a
// busy database, the operations list, cancel, kill -9 of the process during
// an export and during an import, and the history that records it all.
func TestServe_Durability(t *testing.T) {
	e := newEnv(t)
	e.setup()
	bigSrc := e.fillBig()
	dbs := e.v2.NewDatabasesClient()
	ops := e.v2.NewDatabaseOperationsClient()

	// The package every import below reads; its size sets the cap.
	poller, err := dbs.BeginExport(e.ctx, rg, srv, "big", e.exportDef("big.bacpac"), nil)
	if err != nil {
		t.Fatalf("begin export: %v", err)
	}
	if _, err := poller.PollUntilDone(e.ctx, pollEvery); err != nil {
		t.Fatalf("export: %v", err)
	}
	props, err := e.blobClient().ServiceClient().NewContainerClient("bacpacs").NewBlobClient("big.bacpac").
		GetProperties(e.ctx, nil)
	if err != nil {
		t.Fatalf("exported package: %v", err)
	}
	rate := max(*props.ContentLength/jobSeconds, 16<<10)
	capped := []string{"--job-bandwidth", strconv.FormatInt(rate, 10)}
	t.Logf("package of %d rows: %d bytes; jobs capped at %d bytes/s", bigRows, *props.ContentLength, rate)
	certBefore, err := os.ReadFile(e.p.ep.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	e.p.restart(capped...)
	e.serveFiles(t, certBefore)

	e.run(t, "second job on a busy database gets 409; cancel stops a running export", func(t *testing.T) {
		poller, err := dbs.BeginExport(e.ctx, rg, srv, "big", e.exportDef("big-cancelled.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin export: %v", err)
		}
		id := opID(t, mustToken(t, poller))
		st := e.waitRunning(id)
		if st.Phase == "" || len(st.Tables) == 0 || st.QueuedTime == "" || st.StartedTime == "" || !st.Cancellable {
			t.Fatalf("rich status of a running export lacks phase, tables or times: %+v", st)
		}

		_, err = dbs.BeginExport(e.ctx, rg, srv, "big", e.exportDef("big-second.bacpac"), nil)
		re := wantCode(t, err, 409, "ImportExportOperationInProgress")
		if !strings.Contains(re.Error(), id) {
			t.Fatalf("409 does not name the running operation %s: %v", id, re)
		}

		found, seen := false, ""
		for pager := ops.NewListByDatabasePager(rg, srv, "big", nil); pager.More(); {
			page, err := pager.NextPage(e.ctx)
			if err != nil {
				t.Fatalf("list operations: %v", err)
			}
			for _, op := range page.Value {
				seen += fmt.Sprintf(" %s state %v cancellable %v;", *op.Name, deref(op.Properties.State),
					deref(op.Properties.IsCancellable))
				if *op.Name == id && *op.Properties.State == armsqlv2.ManagementOperationStateInProgress &&
					*op.Properties.IsCancellable {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("operations list does not show %s in progress and cancellable:%s", id, seen)
		}

		start := time.Now()
		if _, err := ops.Cancel(e.ctx, rg, srv, "big", id, nil); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		_, err = poller.PollUntilDone(e.ctx, pollEvery)
		wantCode(t, err, 200, "OperationCancelled")
		st = e.p.status(e.rec, id)
		t.Logf("cancel took %v to end the job (status %s)", time.Since(start).Round(time.Millisecond), st.Status)
		if st.Status != "Cancelled" || st.FinishedTime == "" || st.Cancellable {
			t.Fatalf("after cancel: status %+v", st)
		}
		if e.blobExists("big-cancelled.bacpac") {
			t.Fatalf("a cancelled export left a committed blob")
		}
		if ev := e.historyEvents(id); !slices.Contains(ev, "cancelRequested") || !slices.Contains(ev, "cancelled") {
			t.Fatalf("history of the cancelled export: %v", ev)
		}
		_, err = ops.Cancel(e.ctx, rg, srv, "big", id, nil)
		wantCode(t, err, 409, "CannotCancelOperation")
		e.checkEvents(t, id)
	})

	e.run(t, "cancel stops a running import and removes the new database", func(t *testing.T) {
		poller, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("bigc", "big.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin import: %v", err)
		}
		id := opID(t, mustToken(t, poller))
		if st := e.waitRunning(id); st.Percent <= 0 || st.Percent >= 100 {
			t.Fatalf("a running import with %d of %d rows in reports %v%%", st.Rows, bigRows, st.Percent)
		}
		events := e.liveEvents(t, id)
		for ev := range events {
			if ev.kind == "progress" && strings.Contains(ev.data, `"status":"Running"`) {
				break
			}
		}
		if _, err := ops.Cancel(e.ctx, rg, srv, "bigc", id, nil); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		_, err = poller.PollUntilDone(e.ctx, pollEvery)
		wantCode(t, err, 200, "OperationCancelled")
		var seen []string
		for ev := range events {
			seen = append(seen, ev.kind)
			if ev.kind == "end" && !strings.Contains(ev.data, `"status":"Cancelled"`) {
				t.Fatalf("live event stream ended with %s", ev.data)
			}
		}
		if !slices.Contains(seen, "end") || !slices.Contains(seen, "history") {
			t.Fatalf("live event stream after the cancel: %v", seen)
		}
		if _, err := os.Stat(e.p.sqliteFile(rg, srv, "bigc")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a cancelled import left database file bigc (stat: %v)", err)
		}
		if _, err := dbs.Get(e.ctx, rg, srv, "bigc", nil); err == nil {
			t.Fatalf("a cancelled import left database resource bigc")
		}
	})

	e.run(t, "kill -9 during an export: resumed after restart, run 1 committed nothing", func(t *testing.T) {
		def := e.exportDef("big-killed.bacpac")
		poller, err := dbs.BeginExport(e.ctx, rg, srv, "big", def, nil)
		if err != nil {
			t.Fatalf("begin export: %v", err)
		}
		tok := mustToken(t, poller)
		id := opID(t, tok)
		e.waitRunning(id)
		e.p.kill9()
		e.p.restart() // without the cap: the resumed run may go at full speed
		resumed, err := dbs.BeginExport(e.ctx, rg, srv, "big", def,
			&armsqlv2.DatabasesClientBeginExportOptions{ResumeToken: tok})
		if err != nil {
			t.Fatalf("resume poller: %v", err)
		}
		if _, err := resumed.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("export after restart: %v", err)
		}
		st := e.p.status(e.rec, id)
		ev := e.historyEvents(id)
		t.Logf("killed export: status %s, runs %d, history %v", st.Status, st.Runs, ev)
		if st.Status != "Succeeded" || st.Runs != 2 || !slices.Contains(ev, "interrupted") {
			t.Fatalf("killed export: status %s, runs %d, history %v", st.Status, st.Runs, ev)
		}
		// Run 1 committed nothing: the package is the one run 2 wrote.
		if run := e.blobRun("big-killed.bacpac"); run != "2" {
			t.Fatalf("package written by run %q, want 2", run)
		}
		e.checkEvents(t, id)
	})

	e.run(t, "a graceful stop during an export: resumed on the next start", func(t *testing.T) {
		e.p.restart(capped...)
		def := e.exportDef("big-stopped.bacpac")
		poller, err := dbs.BeginExport(e.ctx, rg, srv, "big", def, nil)
		if err != nil {
			t.Fatalf("begin export: %v", err)
		}
		tok := mustToken(t, poller)
		id := opID(t, tok)
		e.waitRunning(id)
		e.p.restart()
		resumed, err := dbs.BeginExport(e.ctx, rg, srv, "big", def,
			&armsqlv2.DatabasesClientBeginExportOptions{ResumeToken: tok})
		if err != nil {
			t.Fatalf("resume poller: %v", err)
		}
		if _, err := resumed.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("export after restart: %v", err)
		}
		st := e.p.status(e.rec, id)
		ev := e.historyEvents(id)
		if st.Status != "Succeeded" || st.Runs != 2 || !slices.Contains(ev, "interrupted") {
			var lines []string
			for _, l := range strings.Split(e.p.logText(), "\n") {
				if strings.Contains(l, id) || strings.Contains(l, "stopping") || strings.Contains(l, "level=WARN") {
					lines = append(lines, l)
				}
			}
			t.Fatalf("stopped export: status %s, runs %d, history %v\n%s", st.Status, st.Runs, ev,
				strings.Join(lines, "\n"))
		}
		if run := e.blobRun("big-stopped.bacpac"); run != "2" {
			t.Fatalf("package written by run %q, want 2", run)
		}
	})

	e.run(t, "kill -9 during an import: resumed after restart, every row there once", func(t *testing.T) {
		e.p.restart(capped...)
		def := e.importNewDef("bigk", "big.bacpac")
		poller, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, def, nil)
		if err != nil {
			t.Fatalf("begin import: %v", err)
		}
		tok := mustToken(t, poller)
		id := opID(t, tok)
		e.waitRunning(id)
		e.p.kill9()
		e.p.restart()
		resumed, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, def,
			&armsqlv2.ServersClientBeginImportDatabaseOptions{ResumeToken: tok})
		if err != nil {
			t.Fatalf("resume poller: %v", err)
		}
		if _, err := resumed.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("import after restart: %v", err)
		}
		st := e.p.status(e.rec, id)
		ev := e.historyEvents(id)
		t.Logf("killed import: status %s, runs %d, history %v", st.Status, st.Runs, ev)
		if st.Runs != 2 || !slices.Contains(ev, "interrupted") {
			t.Fatalf("killed import: runs %d, history %v", st.Runs, ev)
		}
		sameRows(t, bigSrc, e.p.sqliteFile(rg, srv, "bigk"), "big")
	})

	e.run(t, "kill -9 during an import into an existing database (extensions PUT): resumed, rows there once", func(t *testing.T) {
		e.createDB("bigx")
		e.p.restart(capped...)
		ext := e.v2.NewDatabaseExtensionsClient()
		body := armsqlv2.DatabaseExtensions{Properties: &armsqlv2.DatabaseExtensionsProperties{
			OperationMode:  to.Ptr(armsqlv2.OperationModeImport),
			StorageKeyType: to.Ptr(armsqlv2.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
			StorageURI: to.Ptr(e.uri("big.bacpac")), AdministratorLogin: to.Ptr(login),
			AdministratorLoginPassword: to.Ptr(e.password),
		}}
		poller, err := ext.BeginCreateOrUpdate(e.ctx, rg, srv, "bigx", "Import", body, nil)
		if err != nil {
			t.Fatalf("begin extension import: %v", err)
		}
		tok := mustToken(t, poller)
		id := opID(t, tok)
		e.waitRunning(id)
		e.p.kill9()
		e.p.restart()
		resumed, err := ext.BeginCreateOrUpdate(e.ctx, rg, srv, "bigx", "Import", body,
			&armsqlv2.DatabaseExtensionsClientBeginCreateOrUpdateOptions{ResumeToken: tok})
		if err != nil {
			t.Fatalf("resume poller: %v", err)
		}
		res, err := resumed.PollUntilDone(e.ctx, pollEvery)
		if err != nil || *res.Properties.Status != "Completed" {
			t.Fatalf("extension import after restart: %v", err)
		}
		if st := e.p.status(e.rec, id); st.Runs != 2 {
			t.Fatalf("killed extension import ran %d times, want 2", st.Runs)
		}
		sameRows(t, bigSrc, e.p.sqliteFile(rg, srv, "bigx"), "big")
	})

	e.run(t, "an import killed on every run fails with the reason and leaves no database", func(t *testing.T) {
		e.p.restart(capped...)
		poller, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("bigf", "big.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin import: %v", err)
		}
		id := opID(t, mustToken(t, poller))
		for run := 1; run <= 3; run++ {
			e.p.waitStatus(e.rec, id, fmt.Sprintf("run %d to move rows", run), func(st opStatus) bool {
				return st.Runs == run && st.Status == "Running" && st.Rows > 0
			})
			e.p.kill9()
			e.p.restart(capped...)
		}
		st := e.p.waitStatus(e.rec, id, "the job to give up", func(st opStatus) bool { return st.Status != "Running" })
		ev := e.historyEvents(id)
		t.Logf("import killed 3 times: status %s, error %+v, history %v", st.Status, st.Error, ev)
		if st.Status != "Failed" || st.Error == nil || st.Error.Code != "OperationInterrupted" ||
			!strings.Contains(st.Error.Message, "interrupted 3 times") {
			t.Fatalf("import killed 3 times: %+v", st)
		}
		if _, err := os.Stat(e.p.sqliteFile(rg, srv, "bigf")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("an interrupted import left database file bigf (stat: %v)", err)
		}
		if _, err := dbs.Get(e.ctx, rg, srv, "bigf", nil); err == nil {
			t.Fatalf("an interrupted import left database resource bigf")
		}
		e.p.restart()
	})

	e.run(t, "history lists every request with filters and paging", func(t *testing.T) {
		path := "/subscriptions/" + e.p.ep.Subscription + "/resourceGroups/" + rg +
			"/providers/Microsoft.Sql/servers/" + srv + "/importExportHistory"
		type page struct {
			Value []struct {
				Properties struct {
					RequestID   string `json:"requestId"`
					RequestType string `json:"requestType"`
					Status      string `json:"status"`
					Database    string `json:"databaseName"`
					Events      []struct {
						Event string `json:"event"`
					} `json:"events"`
				} `json:"properties"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		var all []string
		var p page
		e.p.call(e.rec, e.p.token, "GET", path+"?top=2", nil, &p)
		if len(p.Value) != 2 || p.NextLink == "" {
			t.Fatalf("history page of 2: %d entries, nextLink %q", len(p.Value), p.NextLink)
		}
		for {
			for _, v := range p.Value {
				all = append(all, v.Properties.RequestID)
				if len(v.Properties.Events) == 0 || v.Properties.Events[0].Event != "accepted" {
					t.Fatalf("history of %s does not start with its acceptance: %+v",
						v.Properties.RequestID, v.Properties.Events)
				}
			}
			if p.NextLink == "" {
				break
			}
			next := strings.TrimPrefix(p.NextLink, e.p.ep.API)
			p = page{}
			e.p.call(e.rec, e.p.token, "GET", next, nil, &p)
		}
		slices.Sort(all)
		if len(all) != 8 || len(slices.Compact(all)) != 8 {
			t.Fatalf("paged history: %d requests (%v), want 8 distinct", len(all), all)
		}

		for _, f := range []struct {
			query, field, want string
			n                  int
		}{
			{"status=Cancelled", "status", "Cancelled", 2},
			{"status=Failed", "status", "Failed", 1},
			{"type=export", "type", "Export", 4},
			{"database=bigk", "database", "bigk", 1},
		} {
			p = page{}
			e.p.call(e.rec, e.p.token, "GET", path+"?"+f.query, nil, &p)
			for _, v := range p.Value {
				got := map[string]string{"status": v.Properties.Status, "type": v.Properties.RequestType,
					"database": v.Properties.Database}[f.field]
				if got != f.want {
					t.Fatalf("history ?%s returned %s %s", f.query, f.field, got)
				}
			}
			if len(p.Value) != f.n {
				t.Fatalf("history ?%s: %d requests, want %d", f.query, len(p.Value), f.n)
			}
		}
	})

	e.secretTests(t)
}

// checkEvents reads the server-sent event stream of a finished operation.
func (e *env) checkEvents(t *testing.T, id string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.p.ep.API+"/bacport/operations/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.p.token)
	resp, err := e.rec.client.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	kinds := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			kinds[k]++
		}
	}
	if kinds["history"] == 0 || kinds["progress"] == 0 || kinds["end"] != 1 {
		t.Fatalf("event stream: %v", kinds)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

type sseEvent struct{ kind, data string }

// liveEvents follows an operation's server-sent event stream; the channel
// closes when the stream ends.
func (e *env) liveEvents(t *testing.T, id string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.p.ep.API+"/bacport/operations/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.p.token)
	resp, err := e.rec.client.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sseEvent, 1000)
	go func() {
		defer close(ch)
		var ev sseEvent
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.kind = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	return ch
}
