package privatelink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/postgres"
	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
	"github.com/bacport/bacport/internal/testenv"
)

const (
	testSub    = "/subscriptions/s1/resourceGroups/rg"
	testServer = testSub + "/providers/Microsoft.Sql/servers/srv"
	testAcct   = testSub + "/providers/Microsoft.Storage/storageAccounts/acct"
	pgAddr     = "127.0.0.1:5432"
)

// setupService returns a service over a fresh store holding a PostgreSQL
// server with public access off and an external storage account.
func setupService(t *testing.T) (*Service, *store.Store) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	sealer, err := store.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "state.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	put := func(id, parent, doc, secret string) {
		r := &store.Resource{ID: id, Parent: parent, Doc: json.RawMessage(doc)}
		if secret != "" {
			r.Secret = json.RawMessage(secret)
		}
		var head struct{ Type string }
		json.Unmarshal(r.Doc, &head)
		r.Type = head.Type
		if _, err := st.PutResource(ctx, st.Writer(), r); err != nil {
			t.Fatal(err)
		}
	}
	put(testServer, testSub, `{"id":"`+testServer+`","name":"srv","type":"Microsoft.Sql/servers",
		"properties":{"publicNetworkAccess":"Disabled","cloud":"AzureCloud","engine":{"type":"postgres"},
		"privateEndpointConnections":[]}}`, `{"engineDsn":"postgres://`+pgAddr+`/"}`)
	put(testAcct, testSub, `{"id":"`+testAcct+`","name":"acct","type":"Microsoft.Storage/storageAccounts",
		"properties":{"mode":"external","cloud":"AzureCloud","primaryEndpoints":{"blob":"http://127.0.0.1:1/acct/"},
		"networkAcls":{"defaultAction":"Deny","bypass":"None"},"privateEndpointConnections":[]}}`, "")
	s, err := New(ctx, Config{Store: st, HoldInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Gateway().Close)
	return s, st
}

func addOperation(t *testing.T, st *store.Store, isolated bool) *store.Operation {
	t.Helper()
	now := time.Now().UTC()
	id := "op-" + time.Now().Format("150405.000000000")
	op := &store.Operation{ID: id, Kind: store.KindExport,
		Subscription: "s1", ResourceGroup: "rg", ServerID: testServer, ServerName: "srv",
		DatabaseName: id, Status: store.StatusQueued, QueuedAt: now, ModifiedAt: now,
		Request: store.OperationRequest{StorageURI: "http://127.0.0.1:1/acct/c/db.bacpac"}}
	if isolated {
		op.Request.NetworkIsolation = &store.NetworkIsolation{
			SQLServerResourceID: testServer, StorageAccountResourceID: testAcct}
	}
	err := st.InTx(t.Context(), func(tx *sql.Tx) error {
		return st.InsertOperation(t.Context(), tx, op, store.OperationSecret{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// TestService_JobHasNoOtherRoute shows that an isolated job reaches the
// engine only through its endpoint: a job without isolation is refused
// while public access is off, the job's dialer refuses every address but
// its endpoints' and reaches the engine through the gateway's listener,
// and a rejection cuts the route.
func TestService_JobHasNoOtherRoute(t *testing.T) {
	s, st := setupService(t)
	ctx := t.Context()
	pg := postgres.New()
	cfg := engine.Config{DSN: "postgres://" + pgAddr + "/postgres", Login: "postgres"}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pg.Ping(pctx, cfg); err != nil {
		testenv.Missing(t, "PostgreSQL at "+pgAddr+" ("+err.Error()+")", "start it with .ci/services.sh")
	}

	var je *jobs.Error
	if err := s.Admit(ctx, addOperation(t, st, false)); !errors.As(err, &je) || je.Code != CodeBlockedByNetworkRules {
		t.Fatalf("Admit of a job without isolation = %v, want %s", err, CodeBlockedByNetworkRules)
	}

	op := addOperation(t, st, true)
	if err := s.Admit(ctx, op); err != nil {
		t.Fatalf("Admit of an isolated job: %v", err)
	}
	if wait, err := s.Hold(ctx, op); err != nil || wait <= 0 {
		t.Fatalf("Hold before approval = %v, %v; want a wait", wait, err)
	}
	conns, err := connsOfOperation(ctx, st.Reader(), op.ID)
	if err != nil || len(conns) != 2 {
		t.Fatalf("connections after Hold: %d, %v; want 2", len(conns), err)
	}
	sortConns(conns)
	sqlConn := conns[0].ID

	// Before approval the job has no route, not even through Route.
	dial := s.gw.Dialer(op.ID)
	if _, err := dial(ctx, "tcp", pgAddr); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("dial before approval: %v, want ErrNoRoute", err)
	}
	for _, c := range conns {
		if _, err := s.Decide(ctx, c.ID, Approved, "ok", "owner"); err != nil {
			t.Fatal(err)
		}
	}
	if wait, err := s.Hold(ctx, op); err != nil || wait != 0 {
		t.Fatalf("Hold after both approvals = %v, %v; want to run", wait, err)
	}
	task := &jobs.Task{Op: op, Engine: jobs.EngineRef{Driver: "postgres", Config: cfg}}
	if err := s.Route(ctx, task); err != nil {
		t.Fatal(err)
	}

	// The engine is reached through the gateway's listener, never
	// directly; any other address is refused.
	var remotes []string
	counted := task.Engine.Config
	counted.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := task.Engine.Config.Dial(ctx, network, addr)
		if err == nil {
			remotes = append(remotes, c.RemoteAddr().String())
		}
		return c, err
	}
	if err := pg.Ping(ctx, counted); err != nil {
		t.Fatalf("ping through the endpoint: %v", err)
	}
	if len(remotes) == 0 {
		t.Fatal("the engine was reached without the job's dialer")
	}
	for _, r := range remotes {
		if r == pgAddr {
			t.Fatalf("a connection went straight to the engine at %s", r)
		}
	}
	for _, addr := range []string{"127.0.0.1:3306", "10.0.0.1:5432", "localhost:5433"} {
		if _, err := task.Engine.Config.Dial(ctx, "tcp", addr); !errors.Is(err, ErrNoRoute) {
			t.Fatalf("dial %s: %v, want ErrNoRoute", addr, err)
		}
	}
	got := s.gw.Stats(sqlConn)
	if got.Conns != int64(len(remotes)) || got.BytesIn == 0 || got.BytesOut == 0 {
		t.Fatalf("endpoint counters %+v after %d connections, want all of them and their bytes", got, len(remotes))
	}

	// A rejection cuts the route and stops the run.
	var stopped error
	task.Stop = func(err error) { stopped = err }
	if err := s.Route(ctx, task); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, sqlConn, Rejected, "no", "owner"); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(stopped, ErrNoRoute) {
		t.Fatalf("run stopped with %v, want ErrNoRoute", stopped)
	}
	if err := pg.Ping(ctx, task.Engine.Config); err == nil {
		t.Fatal("ping after rejection succeeded")
	}
	s.Done(ctx, task, errors.New("cut"))
	end, err := st.GetOperation(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != store.StatusFailed || end.Error.Code != CodeRejected {
		t.Fatalf("operation after the cut: %s %+v, want Failed with %s", end.Status, end.Error, CodeRejected)
	}
	if live, _ := connsOfResource(ctx, st.Reader(), testServer); len(live) != 0 {
		t.Fatalf("%d connections left on the server after the job ended", len(live))
	}
}
