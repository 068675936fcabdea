package privatelink_test

import (
	"github.com/bacport/bacport/internal/servetest"

	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsqlv1 "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	armsql "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
)

// TestPrivateLink runs every private link flow against one bacport serve,
// on the embedded SQLite engine and on PostgreSQL.
func TestPrivateLink(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	var extra []string
	if serveHas(t, "--job-bandwidth") {
		// Slow enough that a transfer is still running when it is cut.
		extra = append(extra, "--job-bandwidth", "2MB")
	}
	w := newWorld(t, extra...)
	engines := []func(t *testing.T) *engine{
		func(*testing.T) *engine { return sqliteEngine() },
		postgresEngine,
		mysqlEngine,
	}
	for i, name := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			e := engines[i](t)
			flows(t, w, e)
		})
	}
}

// flows runs the private link flows on one engine. The isolated server
// has public network access off and no allow-Azure rule: its jobs have no
// route but their endpoints.
func flows(t *testing.T, w *world, e *engine) {
	iso, pub, gov := e.name+"iso", e.name+"pub", e.name+"gov"
	w.createServer(t, e, iso, "Disabled", "AzureCloud")
	w.createServer(t, e, pub, "Enabled", "AzureCloud")
	w.createServer(t, e, gov, "Disabled", "AzureUSGovernment")
	src, big := e.dbName("src"), e.dbName("big")
	const rows, bigRows = 2000, 150000
	w.seed(t, e, iso, src, rows)

	t.Run("isolated export and import hold, are approved on both sides and complete", func(t *testing.T) {
		isolatedRoundTrip(t, w, e, iso, src, rows)
	})
	t.Run("rejection on the server side fails the job naming the connection", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-rej-sql.bacpac", isolated: true})
		w.waitHeld(t, id)
		must(t, w.decideSQL(t, w.sqlc, iso, id, "Rejected"))
		st := w.wantFailed(t, id, "PrivateEndpointConnectionRejected", connName(id), "server "+iso)
		wantFinal(t, st, "Rejected", "Pending")
		w.noConnections(t, iso)
	})
	t.Run("rejection on the storage side fails the job naming the connection", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-rej-st.bacpac", isolated: true})
		w.waitHeld(t, id)
		must(t, w.decideStorage(t, w.stc, id, "Approved"))
		must(t, w.decideStorage(t, w.stc, id, "Rejected"))
		st := w.wantFailed(t, id, "PrivateEndpointConnectionRejected", "storage account "+acctName)
		wantFinal(t, st, "Pending", "Rejected")
		w.noConnections(t, iso)
	})
	t.Run("deleting the storage side with armstorage fails the job", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-sdel.bacpac", isolated: true})
		w.waitHeld(t, id)
		_, err := w.stc.NewPrivateEndpointConnectionsClient().Delete(w.ctx, rg, acctName, connName(id), nil)
		must(t, err)
		w.wantFailed(t, id, "PrivateEndpointConnectionDeleted", "storage account "+acctName)
		w.noConnections(t, iso)
	})
	t.Run("a held job survives a restart and runs once approved", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-restart.bacpac", isolated: true})
		w.waitHeld(t, id)
		must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
		w.s.restart(t)
		st := w.wait(t, id, "held after the restart", func(s opStatus) bool { return s.Status != "" })
		if st.Status != "WaitingForApproval" {
			t.Fatalf("operation %s after a restart: %+v, want WaitingForApproval", id, st)
		}
		must(t, w.decideStorage(t, w.stc, id, "Approved"))
		if st := w.waitEnd(t, id); st.Status != "Succeeded" {
			t.Fatalf("operation %s ended %+v after a restart and approval", id, st)
		}
		w.noConnections(t, iso)
	})
	t.Run("deleting a connection fails the job", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-del.bacpac", isolated: true})
		w.waitHeld(t, id)
		p, err := w.sqlc.NewPrivateEndpointConnectionsClient().BeginDelete(w.ctx, rg, iso, connName(id), nil)
		must(t, err)
		if _, err := p.PollUntilDone(w.ctx, pollFast); err != nil {
			t.Fatalf("armsql delete poller: %v", err)
		}
		w.wantFailed(t, id, "PrivateEndpointConnectionDeleted", "server "+iso)
		w.noConnections(t, iso)
	})
	t.Run("a job cancelled while held loses its connections", func(t *testing.T) {
		id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-cancel.bacpac", isolated: true})
		w.waitHeld(t, id)
		w.s.mustCall(t, "POST", "/bacport/operations/"+id+"/cancel", nil, 200, nil)
		if st := w.waitEnd(t, id); st.Status != "Cancelled" {
			t.Fatalf("operation %s ended %+v, want Cancelled", id, st)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			var list struct{ Value []conn }
			w.s.mustCall(t, "GET", w.serverID(iso)+"/privateEndpointConnections", nil, 200, &list)
			if len(list.Value) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the connections of cancelled operation %s are still there after 20s", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.noConnections(t, iso)
	})
	t.Run("rejection during the transfer cuts it", func(t *testing.T) {
		w.seed(t, e, iso, big, bigRows)
		rejectMidTransfer(t, w, e, iso, big)
	})
	t.Run("approval by a non-owner is refused", func(t *testing.T) {
		nonOwner(t, w, e, iso, src)
	})
	t.Run("crossing clouds and wrong resources are refused", func(t *testing.T) {
		w.seed(t, e, gov, e.dbName("gov"), 10)
		r := w.submit(t, e, job{srv: gov, db: e.dbName("gov"), blob: "gov.bacpac", isolated: true})
		wantRefused(t, r, "NetworkIsolationCrossCloud", "AzureUSGovernment", "AzureCloud")

		b := w.body(e, job{srv: iso, db: src, blob: "x.bacpac", isolated: true})
		b["networkIsolation"].(map[string]string)["sqlServerResourceId"] = w.serverID(pub)
		r = w.s.call(t, w.s.token, "POST", w.serverID(iso)+"/databases/"+src+"/export", b)
		wantRefused(t, r, "InvalidNetworkIsolationResource", "sqlServerResourceId")
	})
	t.Run("without isolation a server that keeps the service out fails at once", func(t *testing.T) {
		withoutIsolation(t, w, e, iso, pub)
	})
}

func wantRefused(t *testing.T, r reply, code string, mentions ...string) {
	t.Helper()
	if r.code != http.StatusBadRequest || !strings.Contains(string(r.body), `"`+code+`"`) {
		t.Fatalf("HTTP %d %s, want 400 %s", r.code, r.body, code)
	}
	for _, m := range mentions {
		if !strings.Contains(string(r.body), m) {
			t.Fatalf("error %s does not mention %q", r.body, m)
		}
	}
}

// wantFinal checks the final states the operation result keeps.
func wantFinal(t *testing.T, st opStatus, server, storage string) {
	t.Helper()
	if len(st.Endpoints) != 2 || st.Endpoints[0].Status != server || st.Endpoints[1].Status != storage ||
		!strings.Contains(st.Endpoints[0].ServiceID, "Microsoft.Sql/servers/") ||
		!strings.Contains(st.Endpoints[1].ServiceID, "Microsoft.Storage/storageAccounts/") {
		t.Fatalf("connections in the result: %+v, want server %s and storage %s", st.Endpoints, server, storage)
	}
}

func isolatedRoundTrip(t *testing.T, w *world, e *engine, iso, src string, rows int) {
	blob := e.name + "-iso.bacpac"
	poller, err := w.sqlc.NewDatabasesClient().BeginExport(w.ctx, rg, iso, src, armsql.ExportDatabaseDefinition{
		StorageKeyType: to.Ptr(armsql.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(w.key),
		StorageURI: to.Ptr(w.blobEP + "bacpacs/" + blob), AdministratorLogin: to.Ptr(e.login),
		AdministratorLoginPassword: to.Ptr(e.pw), AuthenticationType: to.Ptr("Sql"),
		NetworkIsolation: &armsql.NetworkIsolationSettings{
			SQLServerResourceID: to.Ptr(w.serverID(iso)), StorageAccountResourceID: to.Ptr(w.acctID)},
	}, nil)
	must(t, err)

	// The Private Link Center lists both connections, Pending, with the
	// operation they serve.
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" {
		var mine []conn
		ops := map[string]int{}
		for _, c := range w.center(t, w.s.token, "?status=Pending") {
			mine = append(mine, c)
			ops[c.Properties.OperationID]++
			if strings.Contains(strings.ToLower(c.ID), "/servers/"+iso+"/") {
				id = c.Properties.OperationID
			}
		}
		if id != "" && ops[id] != 2 {
			id = ""
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Private Link Center never listed the export's two Pending connections: %+v", mine)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.waitHeld(t, id)

	// Each resource lists its connection, through the SDKs and embedded
	// in the resource itself.
	page, err := w.sqlc.NewPrivateEndpointConnectionsClient().NewListByServerPager(rg, iso, nil).NextPage(w.ctx)
	must(t, err)
	if len(page.Value) != 1 || *page.Value[0].Name != connName(id) ||
		*page.Value[0].Properties.PrivateLinkServiceConnectionState.Status != "Pending" {
		t.Fatalf("armsql list: %d connections, want the export's, Pending", len(page.Value))
	}
	spage, err := w.stc.NewPrivateEndpointConnectionsClient().NewListPager(rg, acctName, nil).NextPage(w.ctx)
	must(t, err)
	if len(spage.Value) != 1 || *spage.Value[0].Properties.PrivateLinkServiceConnectionState.Status != "Pending" {
		t.Fatalf("armstorage list: %d connections, want the export's, Pending", len(spage.Value))
	}
	srvDoc, err := w.sqlc.NewServersClient().Get(w.ctx, rg, iso, nil)
	must(t, err)
	if n := len(srvDoc.Properties.PrivateEndpointConnections); n != 1 {
		t.Fatalf("server GET embeds %d connections, want 1", n)
	}
	var acctDoc struct {
		Properties struct{ PrivateEndpointConnections []conn }
	}
	w.s.mustCall(t, "GET", w.acctID, nil, 200, &acctDoc)
	if n := len(acctDoc.Properties.PrivateEndpointConnections); n != 1 {
		t.Fatalf("storage account GET embeds %d connections, want 1", n)
	}
	got, err := w.sqlc.NewPrivateEndpointConnectionsClient().Get(w.ctx, rg, iso, connName(id), nil)
	must(t, err)
	sgot, err := w.stc.NewPrivateEndpointConnectionsClient().Get(w.ctx, rg, acctName, connName(id), nil)
	must(t, err)
	if *got.Type != "Microsoft.Sql/servers/privateEndpointConnections" || *got.Properties.GroupIDs[0] != "sqlServer" ||
		*sgot.Type != "Microsoft.Storage/storageAccounts/privateEndpointConnections" ||
		*sgot.Properties.PrivateEndpoint.ID == "" {
		t.Fatalf("SDK Get: %s %v, %s", *got.Type, got.Properties.GroupIDs, *sgot.Type)
	}

	// The armsql v1 client, on its older api-version, reads them too.
	v1, err := armsqlv1.NewPrivateEndpointConnectionsClient(w.sub, servetest.Token(w.s.token), w.s.arm())
	must(t, err)
	v1page, err := v1.NewListByServerPager(rg, iso, nil).NextPage(w.ctx)
	must(t, err)
	if len(v1page.Value) != 1 || *v1page.Value[0].Properties.ProvisioningState != "Ready" {
		t.Fatalf("armsql v1 list: %d connections, want 1 in provisioning state Ready", len(v1page.Value))
	}

	// One approval is not enough.
	must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if st := w.status(t, id); st.Status != "WaitingForApproval" {
			t.Fatalf("operation %s is %s with only the server's approval, want WaitingForApproval", id, st.Status)
		}
	}
	must(t, w.decideStorage(t, w.stc, id, "Approved"))
	res, err := poller.PollUntilDone(w.ctx, pollFast)
	if err != nil {
		t.Fatalf("export poller: %v", err)
	}
	if *res.Properties.Status != "Completed" || len(res.Properties.PrivateEndpointConnections) != 2 {
		t.Fatalf("export result: status %s, %d connections", *res.Properties.Status,
			len(res.Properties.PrivateEndpointConnections))
	}
	st := w.waitEnd(t, id)
	wantFinal(t, st, "Approved", "Approved")
	w.noConnections(t, iso)

	// Everything went through the endpoints.
	size := w.blobSize(t, blob)
	h := w.history(t, id)
	sqlSide, stSide := h[0], h[1]
	if sqlSide.DeletedTime == "" || stSide.DeletedTime == "" {
		t.Fatalf("connections not deleted at the end: %+v", h)
	}
	if e.name == "sqlite" && sqlSide.Traffic.Opens == 0 ||
		e.name != "sqlite" && (sqlSide.Traffic.Connections == 0 || sqlSide.Traffic.BytesOut == 0) {
		t.Fatalf("server endpoint traffic %+v: the engine was not reached through it", sqlSide.Traffic)
	}
	if stSide.Traffic.Connections == 0 || stSide.Traffic.BytesIn < size {
		t.Fatalf("storage endpoint traffic %+v for a %d-byte package: not all of it went through the endpoint",
			stSide.Traffic, size)
	}

	// Import into a new database over private link, with a backup
	// redundancy and a Hyperscale objective, approved with plain PUTs as
	// the CLI sends them.
	dst := e.dbName("imp")
	if e.server != nil {
		t.Cleanup(func() { e.drop(dst) })
	}
	imp := w.start(t, e, job{srv: iso, db: dst, blob: blob, isolated: true, importNew: true})
	held := w.waitHeld(t, imp)
	for _, ep := range held.Endpoints {
		approveRaw(t, w, ep.ServiceID+"/privateEndpointConnections/"+ep.Name)
	}
	if st := w.waitEnd(t, imp); st.Status != "Succeeded" {
		t.Fatalf("isolated import ended %+v", st)
	}
	if n := w.count(t, e, iso, dst); n != rows {
		t.Fatalf("imported %d rows, want %d", n, rows)
	}
	w.noConnections(t, iso)
}

// approveRaw approves a connection with a plain PUT, following the SQL
// API's Azure-AsyncOperation link when it answers 202.
func approveRaw(t *testing.T, w *world, id string) {
	t.Helper()
	body := map[string]any{"properties": map[string]any{
		"privateLinkServiceConnectionState": map[string]string{"status": "Approved", "description": "ok"}}}
	r := w.s.call(t, w.s.token, "PUT", id, body)
	switch r.code {
	case http.StatusOK:
	case http.StatusAccepted:
		var st struct {
			Status string `json:"status"`
		}
		w.s.call(t, w.s.token, "GET", r.header.Get("Azure-AsyncOperation"), nil).decode(t, &st)
		if st.Status != "Succeeded" {
			t.Fatalf("approve %s: async status %q", id, st.Status)
		}
	default:
		t.Fatalf("approve %s: HTTP %d %s", id, r.code, r.body)
	}
}

func rejectMidTransfer(t *testing.T, w *world, e *engine, iso, big string) {
	blob := e.name + "-cut.bacpac"
	id := w.start(t, e, job{srv: iso, db: big, blob: blob, isolated: true})
	w.waitHeld(t, id)
	must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
	must(t, w.decideStorage(t, w.stc, id, "Approved"))
	st := w.wait(t, id, "rows moving", func(s opStatus) bool { return s.Rows > 0 || s.Status == "Failed" })
	if st.Status != "Running" {
		t.Fatalf("operation %s: %+v, want Running with rows moving", id, st)
	}
	// SQLite has no connection to cut on the server side: rejecting it
	// stops the job by cutting its other routes (the storage account's).
	// PostgreSQL loses its engine connection.
	must(t, w.decideSQL(t, w.sqlc, iso, id, "Rejected"))
	w.wantFailed(t, id, "PrivateEndpointConnectionRejected", "during the job")
	if n := w.blobSize(t, blob); n >= 0 {
		t.Fatalf("a %d-byte package is visible after the cut", n)
	}
	w.noConnections(t, iso)

	// An import cut on the storage side leaves no database behind.
	blob = e.name + "-big.bacpac"
	id = w.start(t, e, job{srv: iso, db: big, blob: blob, isolated: true})
	w.waitHeld(t, id)
	must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
	must(t, w.decideStorage(t, w.stc, id, "Approved"))
	if st := w.waitEnd(t, id); st.Status != "Succeeded" {
		t.Fatalf("export of %s ended %+v", big, st)
	}
	// An import cut on either side leaves no database behind: a stopped
	// import still reaches its server to remove what it loaded.
	for _, side := range []string{"storage", "server"} {
		dst := e.dbName("cut" + side[:2])
		if e.server != nil {
			t.Cleanup(func() { e.drop(dst) })
		}
		id = w.start(t, e, job{srv: iso, db: dst, blob: blob, isolated: true, importNew: true})
		w.waitHeld(t, id)
		must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
		must(t, w.decideStorage(t, w.stc, id, "Approved"))
		st = w.wait(t, id, "rows moving", func(s opStatus) bool { return s.Rows > 0 || s.Status == "Failed" })
		if st.Status != "Running" {
			t.Fatalf("import %s: %+v, want Running with rows moving", id, st)
		}
		want := "storage account " + acctName
		if side == "storage" {
			must(t, w.decideStorage(t, w.stc, id, "Rejected"))
		} else {
			must(t, w.decideSQL(t, w.sqlc, iso, id, "Rejected"))
			want = "server " + iso
		}
		w.wantFailed(t, id, "PrivateEndpointConnectionRejected", want, "during the job", "was removed")
		if w.dbExists(t, e, iso, dst) {
			t.Fatalf("database %s exists after its import was cut on the %s side", dst, side)
		}
		w.noConnections(t, iso)
	}
}

func nonOwner(t *testing.T, w *world, e *engine, iso, src string) {
	// The requester may export the database and owns the storage account,
	// but not the server.
	name := "plreq" + e.name
	var p struct {
		Token string `json:"token"`
	}
	w.s.mustCall(t, "POST", "/bacport/principals", map[string]string{"name": name, "role": "Contributor",
		"scope": w.serverID(iso) + "/databases/" + src}, 201, &p)
	w.s.mustCall(t, "POST", "/bacport/roleAssignments", map[string]string{"principal": name,
		"role": "Contributor", "scope": w.acctID}, 201, nil)

	id := w.start(t, e, job{srv: iso, db: src, blob: e.name + "-req.bacpac", isolated: true, token: p.Token})
	w.waitHeld(t, id)
	sqlc, err := armsql.NewClientFactory(w.sub, servetest.Token(p.Token), w.s.arm())
	must(t, err)
	stc, err := armstorage.NewClientFactory(w.sub, servetest.Token(p.Token), w.s.arm())
	must(t, err)
	wantCode(t, w.decideSQL(t, sqlc, iso, id, "Approved"), 403, "AuthorizationFailed")
	seen := w.center(t, p.Token, "?status=Pending")
	if len(seen) != 1 || !strings.Contains(seen[0].ID, "/storageAccounts/") {
		t.Fatalf("the requester's Private Link Center shows %+v, want only the storage account's", seen)
	}
	must(t, w.decideStorage(t, stc, id, "Approved"))
	if st := w.status(t, id); st.Status != "WaitingForApproval" {
		t.Fatalf("operation %s is %s after a refused approval, want WaitingForApproval", id, st.Status)
	}
	must(t, w.decideSQL(t, w.sqlc, iso, id, "Approved"))
	if st := w.waitEnd(t, id); st.Status != "Succeeded" {
		t.Fatalf("operation %s ended %+v after the owner approved", id, st)
	}
}

func withoutIsolation(t *testing.T, w *world, e *engine, iso, pub string) {
	db := e.dbName("pub")
	w.seed(t, e, pub, db, 100)

	// Public network access off: no route for a job without isolation.
	r := w.submit(t, e, job{srv: iso, db: e.dbName("src"), blob: "direct.bacpac"})
	wantRefused(t, r, "BlockedByNetworkRules", "server "+iso, "publicNetworkAccess is Disabled")

	// Allow Azure services off, then on.
	r = w.submit(t, e, job{srv: pub, db: db, blob: e.name + "-pub.bacpac"})
	wantRefused(t, r, "BlockedByNetworkRules", "server "+pub, "0.0.0.0")
	_, err := w.sqlc.NewFirewallRulesClient().CreateOrUpdate(w.ctx, rg, pub, "AllowAllWindowsAzureIps",
		armsql.FirewallRule{Properties: &armsql.ServerFirewallRuleProperties{
			StartIPAddress: to.Ptr("0.0.0.0"), EndIPAddress: to.Ptr("0.0.0.0")}}, nil)
	must(t, err)
	id := w.start(t, e, job{srv: pub, db: db, blob: e.name + "-pub.bacpac"})
	if st := w.waitEnd(t, id); st.Status != "Succeeded" || len(st.Endpoints) != 0 {
		t.Fatalf("export with allow-Azure on ended %+v, want Succeeded without connections", st)
	}

	// A storage account whose network rules keep trusted services out.
	acct := "pldeny" + e.name[:2]
	ep, key := w.createAccount(t, acct, map[string]any{"defaultAction": "Deny", "bypass": "None"})
	b := w.body(e, job{srv: pub, db: db})
	b["storageUri"], b["storageKey"] = ep+"bacpacs/deny.bacpac", key
	r = w.s.call(t, w.s.token, "POST", w.serverID(pub)+"/databases/"+db+"/export", b)
	wantRefused(t, r, "BlockedByNetworkRules", "storage account "+acct, "AzureServices")
}

// TestPrivateLink_ApprovalTimeout runs a bacport whose approval timeout
// is short: a job nobody approves fails, and its connections go.
func TestPrivateLink_ApprovalTimeout(t *testing.T) {
	w := newWorld(t, "--approval-timeout", "4s")
	engines := []func(t *testing.T) *engine{
		func(*testing.T) *engine { return sqliteEngine() },
		postgresEngine,
		mysqlEngine,
	}
	for i, name := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			e := engines[i](t)
			srv, db := e.name+"iso", e.dbName("src")
			w.createServer(t, e, srv, "Disabled", "AzureCloud")
			w.seed(t, e, srv, db, 10)
			id := w.start(t, e, job{srv: srv, db: db, blob: e.name + "-late.bacpac", isolated: true})
			w.waitHeld(t, id)
			must(t, w.decideStorage(t, w.stc, id, "Approved"))
			st := w.wantFailed(t, id, "PrivateEndpointApprovalTimedOut", "4s", "server "+srv+" is Pending")
			wantFinal(t, st, "Pending", "Approved")
			w.noConnections(t, srv)
		})
	}
}
