package privatelink_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsql "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/bacport/bacport/internal/servetest"
	"github.com/bacport/bacport/internal/testenv"
)

const (
	rg       = "plrg"
	acctName = "placct"
)

var pollFast = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// world is a bacport serve with a storage account, seen through the SDKs.
type world struct {
	s      *serve
	ctx    context.Context
	sub    string
	sqlc   *armsql.ClientFactory
	stc    *armstorage.ClientFactory
	key    string
	blobEP string
	acctID string
}

func newWorld(t *testing.T, extra ...string) *world {
	t.Helper()
	s := startServe(t, extra...)
	w := &world{s: s, ctx: t.Context(), sub: s.ep.Subscription}
	var err error
	if w.sqlc, err = armsql.NewClientFactory(w.sub, servetest.Token(s.token), s.arm()); err != nil {
		t.Fatal(err)
	}
	if w.stc, err = armstorage.NewClientFactory(w.sub, servetest.Token(s.token), s.arm()); err != nil {
		t.Fatal(err)
	}
	w.blobEP, w.key = w.createAccount(t, acctName, nil)
	w.acctID = w.rgID() + "/providers/Microsoft.Storage/storageAccounts/" + acctName
	return w
}

func (w *world) rgID() string { return "/subscriptions/" + w.sub + "/resourceGroups/" + rg }

func (w *world) serverID(name string) string {
	return w.rgID() + "/providers/Microsoft.Sql/servers/" + name
}

// createAccount creates an embedded storage account and returns its blob
// endpoint and first key.
func (w *world) createAccount(t *testing.T, name string, acls map[string]any) (string, string) {
	t.Helper()
	props := map[string]any{}
	if acls != nil {
		props["networkAcls"] = acls
	}
	var doc struct {
		Properties struct {
			PrimaryEndpoints map[string]string `json:"primaryEndpoints"`
		} `json:"properties"`
	}
	w.s.mustCall(t, "PUT", w.rgID()+"/providers/Microsoft.Storage/storageAccounts/"+name,
		map[string]any{"location": "local", "kind": "StorageV2", "sku": map[string]string{"name": "Standard_LRS"},
			"properties": props}, 200, &doc)
	keys, err := w.stc.NewAccountsClient().ListKeys(w.ctx, rg, name, nil)
	if err != nil {
		t.Fatalf("list keys of %s: %v", name, err)
	}
	return doc.Properties.PrimaryEndpoints["blob"], *keys.Keys[0].Value
}

// engine is a database engine the tests run on.
type engine struct {
	name  string
	login string
	pw    string
	body  map[string]any // properties.engine of a server; nil for the default
	// server is the tests' own administration of an external server
	// (PostgreSQL, MySQL); nil for the embedded SQLite engine.
	server *externalServer
	tag    string // unique per run, for database names on shared servers
}

// externalServer reaches a database server as its administrator, through
// database/sql.
type externalServer struct {
	driver string                 // "pgx" or "mysql"
	dsn    func(db string) string // the DSN of database db
	quote  func(name string) string
	// seed fills items with n rows.
	seed string
	// dropDB drops a database even while the service is connected to it.
	dropDB string
	// exists counts databases of a name.
	exists string
}

func sqliteEngine() *engine {
	return &engine{name: "sqlite", login: "pladmin", pw: "Pw-" + randHex(8) + "!", tag: randHex(3)}
}

func postgresEngine(t *testing.T) *engine {
	srv := &externalServer{driver: "pgx",
		dsn:    func(db string) string { return "postgres://postgres@127.0.0.1:5432/" + db },
		quote:  func(n string) string { return `"` + n + `"` },
		seed:   `INSERT INTO items SELECT g, 'name-' || g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, %d) g`,
		dropDB: `DROP DATABASE IF EXISTS %s WITH (FORCE)`,
		exists: `SELECT count(*) FROM pg_database WHERE datname = $1`,
	}
	if err := srv.ping(t, "postgres"); err != nil {
		testenv.Missing(t, "PostgreSQL at 127.0.0.1:5432 ("+err.Error()+")", "start it with .ci/services.sh")
		return nil
	}
	return &engine{name: "postgres", login: "postgres", pw: "unused", server: srv, tag: randHex(3),
		body: map[string]any{"type": "postgres", "dsn": "postgres://127.0.0.1:5432/"}}
}

// mysqlEngine binds servers to the local MariaDB through a login of their
// own, with a password, as a user's would be.
func mysqlEngine(t *testing.T) *engine {
	srv := &externalServer{driver: "mysql",
		dsn:   func(db string) string { return "root@tcp(127.0.0.1:3306)/" + db },
		quote: func(n string) string { return "`" + n + "`" },
		// seq_1_to_N is MariaDB's Sequence engine.
		seed: `INSERT INTO items SELECT seq, concat('name-', seq), concat(md5(seq), md5(seq * 7), md5(seq * 13))
			FROM seq_1_to_%d`,
		dropDB: "DROP DATABASE IF EXISTS %s",
		exists: "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?",
	}
	if err := srv.ping(t, ""); err != nil {
		testenv.Missing(t, "MariaDB at 127.0.0.1:3306 ("+err.Error()+")", "start it with .ci/services.sh")
		return nil
	}
	login, pw := "bacport_pl", "Pw-"+randHex(8)+"!"
	srv.exec(t, "", "CREATE USER IF NOT EXISTS '"+login+"'@'%' IDENTIFIED BY '"+pw+"'",
		"ALTER USER '"+login+"'@'%' IDENTIFIED BY '"+pw+"'",
		"GRANT ALL PRIVILEGES ON *.* TO '"+login+"'@'%'")
	t.Cleanup(func() {
		if d, err := srv.open(""); err == nil {
			d.Exec("DROP USER IF EXISTS '" + login + "'@'%'")
			d.Close()
		}
	})
	return &engine{name: "mysql", login: login, pw: pw, server: srv, tag: randHex(3),
		body: map[string]any{"type": "mysql", "dsn": "mysql://127.0.0.1:3306/"}}
}

func (s *externalServer) open(db string) (*sql.DB, error) { return sql.Open(s.driver, s.dsn(db)) }

func (s *externalServer) ping(t *testing.T, db string) error {
	d, err := s.open(db)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return d.PingContext(ctx)
}

func (s *externalServer) exec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	d, err := s.open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, st := range stmts {
		if _, err := d.ExecContext(t.Context(), st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

func (s *externalServer) count(t *testing.T, db, query string, args ...any) int {
	t.Helper()
	d, err := s.open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s in %s: %v", query, db, err)
	}
	return n
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// createServer creates a server on the engine with the given public
// network access and cloud, without any firewall rule.
func (w *world) createServer(t *testing.T, e *engine, name, publicAccess, cloud string) {
	t.Helper()
	props := map[string]any{"administratorLogin": e.login, "administratorLoginPassword": e.pw,
		"publicNetworkAccess": publicAccess, "cloud": cloud}
	if e.body != nil {
		props["engine"] = e.body
	}
	w.s.mustCall(t, "PUT", w.serverID(name), map[string]any{"location": "local", "properties": props}, 201, nil)
}

// dbName is a database name unique to this run.
func (e *engine) dbName(base string) string { return "pl" + e.tag + base }

// seed creates database db on server srv with a table of n rows.
func (w *world) seed(t *testing.T, e *engine, srv, db string, n int) {
	t.Helper()
	if s := e.server; s != nil {
		s.exec(t, "", "CREATE DATABASE "+s.quote(db))
		t.Cleanup(func() { e.drop(db) })
		s.exec(t, db, `CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, payload text)`,
			fmt.Sprintf(s.seed, n))
		w.s.mustCall(t, "PUT", w.serverID(srv)+"/databases/"+db, map[string]any{"location": "local"}, 201, nil)
		return
	}
	w.s.mustCall(t, "PUT", w.serverID(srv)+"/databases/"+db, map[string]any{"location": "local"}, 201, nil)
	db2, err := sql.Open("sqlite", "file:"+w.sqliteFile(srv, db)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db2.Exec(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?)
		INSERT INTO items SELECT i, 'name-' || i, hex(randomblob(48)) FROM g`, n); err != nil {
		t.Fatal(err)
	}
}

func (w *world) sqliteFile(srv, db string) string {
	return filepath.Join(w.s.dir, "engines", "sqlite", strings.ToLower(w.sub), strings.ToLower(rg),
		strings.ToLower(srv), db+".sqlite")
}

// count returns the rows of items in a database.
func (w *world) count(t *testing.T, e *engine, srv, db string) int {
	t.Helper()
	if e.server != nil {
		return e.server.count(t, db, `SELECT count(*) FROM items`)
	}
	d, err := sql.Open("sqlite", "file:"+w.sqliteFile(srv, db))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatalf("count rows of %s: %v", db, err)
	}
	return n
}

// dbExists reports whether the engine holds a database.
func (w *world) dbExists(t *testing.T, e *engine, srv, db string) bool {
	t.Helper()
	if s := e.server; s != nil {
		return s.count(t, "", s.exists, db) > 0
	}
	_, err := os.Stat(w.sqliteFile(srv, db))
	return err == nil
}

// drop drops a database of an external server, after the test.
func (e *engine) drop(db string) {
	s := e.server
	d, err := s.open("")
	if err != nil {
		return
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d.ExecContext(ctx, fmt.Sprintf(s.dropDB, s.quote(db)))
}

// job is what a test asks of the service.
type job struct {
	srv, db, blob string
	isolated      bool
	importNew     bool
	token         string
}

func (w *world) body(e *engine, j job) map[string]any {
	b := map[string]any{
		"storageKeyType": "StorageAccessKey", "storageKey": w.key,
		"storageUri": w.blobEP + "bacpacs/" + j.blob, "administratorLogin": e.login,
		"administratorLoginPassword": e.pw, "authenticationType": "Sql",
	}
	if j.isolated {
		b["networkIsolation"] = map[string]string{
			"sqlServerResourceId": w.serverID(j.srv), "storageAccountResourceId": w.acctID}
	}
	if j.importNew {
		b["databaseName"] = j.db
		b["edition"], b["serviceObjectiveName"] = "Hyperscale", "HS_Gen5_2"
		b["requestedBackupStorageRedundancy"] = "Local"
	}
	return b
}

// submit posts an export or an import into a new database and returns the
// raw answer.
func (w *world) submit(t *testing.T, e *engine, j job) reply {
	t.Helper()
	path := w.serverID(j.srv) + "/databases/" + j.db + "/export"
	if j.importNew {
		path = w.serverID(j.srv) + "/import"
	}
	token := j.token
	if token == "" {
		token = w.s.token
	}
	return w.s.call(t, token, "POST", path, w.body(e, j))
}

// start submits a job that must be accepted and returns its operation id.
func (w *world) start(t *testing.T, e *engine, j job) string {
	t.Helper()
	r := w.submit(t, e, j)
	if r.code != http.StatusAccepted {
		t.Fatalf("submit %+v: HTTP %d %s, want 202", j, r.code, r.body)
	}
	link := r.header.Get("Azure-AsyncOperation")
	id := link[strings.LastIndex(link, "/")+1:]
	if i := strings.IndexByte(id, '?'); i >= 0 {
		id = id[:i]
	}
	return id
}

type endpointInfo struct {
	Name      string `json:"privateEndpointConnectionName"`
	ServiceID string `json:"privateLinkServiceId"`
	Status    string `json:"status"`
}

type opStatus struct {
	Status string `json:"status"`
	Phase  string `json:"phase"`
	Rows   int64  `json:"rows"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Endpoints []endpointInfo `json:"privateEndpointConnections"`
}

func (w *world) status(t *testing.T, id string) opStatus {
	t.Helper()
	var st opStatus
	w.s.mustCall(t, "GET", "/bacport/operations/"+id, nil, 200, &st)
	return st
}

// wait polls an operation until ok accepts its status.
func (w *world) wait(t *testing.T, id, what string, ok func(opStatus) bool) opStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := w.status(t, id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s: waited 90s for %s; last status %+v", id, what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) waitHeld(t *testing.T, id string) opStatus {
	t.Helper()
	st := w.wait(t, id, "WaitingForApproval", func(s opStatus) bool {
		return s.Status == "WaitingForApproval" || s.Status == "Failed" || s.Status == "Succeeded"
	})
	if st.Status != "WaitingForApproval" || len(st.Endpoints) != 2 {
		t.Fatalf("operation %s: status %+v, want WaitingForApproval with two connections", id, st)
	}
	for _, ep := range st.Endpoints {
		if ep.Status != "Pending" {
			t.Fatalf("operation %s: connection %+v, want Pending", id, ep)
		}
	}
	return st
}

func (w *world) waitEnd(t *testing.T, id string) opStatus {
	t.Helper()
	return w.wait(t, id, "the end", func(s opStatus) bool {
		return s.Status == "Succeeded" || s.Status == "Failed" || s.Status == "Cancelled"
	})
}

func (w *world) wantFailed(t *testing.T, id, code string, mentions ...string) opStatus {
	t.Helper()
	st := w.waitEnd(t, id)
	if st.Status != "Failed" || st.Error == nil || st.Error.Code != code {
		t.Fatalf("operation %s ended %+v, want Failed with %s", id, st, code)
	}
	for _, m := range mentions {
		if !strings.Contains(st.Error.Message, m) {
			t.Fatalf("operation %s: error %q does not mention %q", id, st.Error.Message, m)
		}
	}
	return st
}

// connName is the name of an operation's connections.
func connName(opID string) string { return "importexport-" + opID }

// conn is a connection as the Private Link Center shows it.
type conn struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		OperationID string `json:"operationId"`
		State       struct {
			Status string `json:"status"`
		} `json:"privateLinkServiceConnectionState"`
	} `json:"properties"`
}

func (w *world) center(t *testing.T, token, query string) []conn {
	t.Helper()
	var out struct {
		Value []conn `json:"value"`
	}
	r := w.s.call(t, token, "GET", "/subscriptions/"+w.sub+"/providers/Bacport/privateEndpointConnections"+query, nil)
	if r.code != 200 {
		t.Fatalf("Private Link Center: HTTP %d %s", r.code, r.body)
	}
	r.decode(t, &out)
	return out.Value
}

// approveSQL approves or rejects the server side with the armsql client.
func (w *world) decideSQL(t *testing.T, f *armsql.ClientFactory, srv, opID, status string) error {
	t.Helper()
	p, err := f.NewPrivateEndpointConnectionsClient().BeginCreateOrUpdate(w.ctx, rg, srv, connName(opID),
		armsql.PrivateEndpointConnection{Properties: &armsql.PrivateEndpointConnectionProperties{
			PrivateLinkServiceConnectionState: &armsql.PrivateLinkServiceConnectionStateProperty{
				Status:      to.Ptr(armsql.PrivateLinkServiceConnectionStateStatus(status)),
				Description: to.Ptr(status + " in a test")}}}, nil)
	if err != nil {
		return err
	}
	res, err := p.PollUntilDone(w.ctx, pollFast)
	if err != nil {
		t.Fatalf("armsql poller of %s: %v", status, err)
	}
	if got := *res.Properties.PrivateLinkServiceConnectionState.Status; string(got) != status {
		t.Fatalf("armsql %s: connection is %s", status, got)
	}
	return nil
}

// decideStorage approves or rejects the storage side with armstorage.
func (w *world) decideStorage(t *testing.T, f *armstorage.ClientFactory, opID, status string) error {
	t.Helper()
	res, err := f.NewPrivateEndpointConnectionsClient().Put(w.ctx, rg, acctName, connName(opID),
		armstorage.PrivateEndpointConnection{Properties: &armstorage.PrivateEndpointConnectionProperties{
			PrivateLinkServiceConnectionState: &armstorage.PrivateLinkServiceConnectionState{
				Status:      to.Ptr(armstorage.PrivateEndpointServiceConnectionStatus(status)),
				Description: to.Ptr(status + " in a test")}}}, nil)
	if err != nil {
		return err
	}
	if got := *res.Properties.PrivateLinkServiceConnectionState.Status; string(got) != status {
		t.Fatalf("armstorage %s: connection is %s", status, got)
	}
	return nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks an SDK error's status and code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
}

// noConnections checks that no live connection is left on the server and
// the storage account.
func (w *world) noConnections(t *testing.T, srv string) {
	t.Helper()
	page, err := w.sqlc.NewPrivateEndpointConnectionsClient().NewListByServerPager(rg, srv, nil).NextPage(w.ctx)
	must(t, err)
	spage, err := w.stc.NewPrivateEndpointConnectionsClient().NewListPager(rg, acctName, nil).NextPage(w.ctx)
	must(t, err)
	if len(page.Value) != 0 || len(spage.Value) != 0 {
		t.Fatalf("%d connections left on server %s and %d on the storage account, want none",
			len(page.Value), srv, len(spage.Value))
	}
}

// traffic is a connection in an operation's history.
type traffic struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	DeletedTime string `json:"deletedTime"`
	Traffic     struct {
		Connections int64 `json:"connections"`
		BytesIn     int64 `json:"bytesIn"`
		BytesOut    int64 `json:"bytesOut"`
		Opens       int64 `json:"opens"`
	} `json:"traffic"`
}

func (w *world) history(t *testing.T, opID string) []traffic {
	t.Helper()
	var out struct {
		Value []traffic `json:"value"`
	}
	w.s.mustCall(t, "GET", "/bacport/operations/"+opID+"/privateEndpointConnections", nil, 200, &out)
	if len(out.Value) != 2 {
		t.Fatalf("operation %s: %d connections in its history, want 2", opID, len(out.Value))
	}
	return out.Value
}

// blobSize returns the size of a blob in the account, or -1 when absent.
func (w *world) blobSize(t *testing.T, name string) int64 {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(acctName, w.key)
	must(t, err)
	c, err := azblob.NewClientWithSharedKeyCredential(w.blobEP, cred, nil)
	must(t, err)
	props, err := c.ServiceClient().NewContainerClient("bacpacs").NewBlobClient(name).GetProperties(w.ctx, nil)
	if err != nil {
		return -1
	}
	return *props.ContentLength
}

// serveHas reports whether `bacport serve` knows a flag.
func serveHas(t *testing.T, flag string) bool {
	out, _ := exec.Command(servetest.Binary(t), "serve", "--help").CombinedOutput()
	return strings.Contains(string(out), flag)
}
