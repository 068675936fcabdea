package server_test

import (
	"github.com/bacport/bacport/internal/servetest"

	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsqlv2 "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
)

func (e *env) principal(name, role, scope string) string {
	e.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	code := e.p.call(e.rec, e.p.token, "POST", "/bacport/principals",
		map[string]string{"name": name, "role": role, "scope": scope}, &out)
	if code != 201 || out.Token == "" {
		e.t.Fatalf("create principal %s: HTTP %d", name, code)
	}
	return out.Token
}

func (e *env) accessTests(t *testing.T) {
	sub := "/subscriptions/" + e.p.ep.Subscription

	e.run(t, "a Reader cannot start or cancel a job", func(t *testing.T) {
		tok := e.principal("reader1", "Reader", sub)
		f, _ := armsqlv2.NewClientFactory(e.p.ep.Subscription, servetest.Token(tok), e.p.armOptions(e.rec))
		if _, err := f.NewServersClient().Get(e.ctx, rg, srv, nil); err != nil {
			t.Fatalf("reader get server: %v", err)
		}
		_, err := f.NewDatabasesClient().BeginExport(e.ctx, rg, srv, "db1", e.exportDef("reader.bacpac"), nil)
		wantCode(t, err, 403, "AuthorizationFailed")
		_, err = f.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("readerdb", "db1.bacpac"), nil)
		wantCode(t, err, 403, "AuthorizationFailed")
		_, err = f.NewDatabaseOperationsClient().Cancel(e.ctx, rg, srv, "db1", "00000000-0000-0000-0000-000000000000", nil)
		if err == nil {
			t.Fatalf("reader cancel succeeded")
		}
		sf, _ := armstorage.NewClientFactory(e.p.ep.Subscription, servetest.Token(tok), e.p.armOptions(e.rec))
		_, err = sf.NewAccountsClient().ListKeys(e.ctx, rg, "acct1", nil)
		wantCode(t, err, 403, "AuthorizationFailed")
	})

	e.run(t, "a Contributor on one database can export it and touch nothing else", func(t *testing.T) {
		dbScope := sub + "/resourceGroups/" + rg + "/providers/Microsoft.Sql/servers/" + srv + "/databases/db1"
		tok := e.principal("db1contrib", "Contributor", dbScope)
		f, _ := armsqlv2.NewClientFactory(e.p.ep.Subscription, servetest.Token(tok), e.p.armOptions(e.rec))
		poller, err := f.NewDatabasesClient().BeginExport(e.ctx, rg, srv, "db1", e.exportDef("scoped.bacpac"), nil)
		if err != nil {
			t.Fatalf("export db1 with a token scoped to it: %v", err)
		}
		if _, err := poller.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("poll the export with a token scoped to db1: %v", err)
		}
		_, err = f.NewDatabasesClient().BeginExport(e.ctx, rg, srv, "db3", e.exportDef("scoped3.bacpac"), nil)
		wantCode(t, err, 403, "AuthorizationFailed")
		_, err = f.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("scopeddb", "db1.bacpac"), nil)
		wantCode(t, err, 403, "AuthorizationFailed")
		_, err = f.NewServersClient().Get(e.ctx, rg, srv, nil)
		wantCode(t, err, 403, "AuthorizationFailed")
	})

	e.run(t, "a token scoped to one resource group cannot see another's servers", func(t *testing.T) {
		sp, err := e.v2.NewServersClient().BeginCreateOrUpdate(e.ctx, "rg2", "srv2", armsqlv2.Server{
			Location: to.Ptr("local"), Properties: &armsqlv2.ServerProperties{
				AdministratorLogin: to.Ptr("admin2"), AdministratorLoginPassword: to.Ptr(e.password)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatal(err)
		}
		tok := e.principal("rg2owner", "Contributor", sub+"/resourceGroups/rg2")
		f, _ := armsqlv2.NewClientFactory(e.p.ep.Subscription, servetest.Token(tok), e.p.armOptions(e.rec))
		servers := f.NewServersClient()
		if _, err := servers.Get(e.ctx, "rg2", "srv2", nil); err != nil {
			t.Fatalf("get own server: %v", err)
		}
		_, err = servers.Get(e.ctx, rg, srv, nil)
		wantCode(t, err, 403, "AuthorizationFailed")
		_, err = servers.NewListByResourceGroupPager(rg, nil).NextPage(e.ctx)
		wantCode(t, err, 403, "AuthorizationFailed")
		var names []string
		for pager := servers.NewListPager(nil); pager.More(); {
			page, err := pager.NextPage(e.ctx)
			if err != nil {
				t.Fatalf("list servers: %v", err)
			}
			for _, s := range page.Value {
				names = append(names, *s.Name)
			}
		}
		if len(names) != 1 || names[0] != "srv2" {
			t.Fatalf("rg2 token lists servers %v, want [srv2]", names)
		}
	})
}

// secretTests looks for the password and the storage keys everywhere they
// must not be: every API response (listKeys aside, which returns keys by
// design), the process log, the history, and every file of the data
// directory outside the databases and blobs themselves.
func (e *env) secretTests(t *testing.T) {
	e.run(t, "no response, log line, history entry or state file holds a password or key", func(t *testing.T) {
		path := "/subscriptions/" + e.p.ep.Subscription + "/resourceGroups/" + rg +
			"/providers/Microsoft.Sql/servers/" + srv + "/importExportHistory?top=1000"
		e.p.call(e.rec, e.p.token, "GET", path, nil, nil)
		secrets := map[string]string{"password": e.password, "key1": e.key, "key2": e.key2}
		check := func(where string, data []byte) {
			for what, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds the %s", where, what)
				}
			}
		}
		e.rec.mu.Lock()
		seen := append([]recorded(nil), e.rec.seen...)
		e.rec.mu.Unlock()
		checked := 0
		for _, r := range seen {
			if strings.Contains(r.url, "/listKeys") || strings.Contains(r.url, "/regenerateKey") {
				continue
			}
			var hdr bytes.Buffer
			r.header.Write(&hdr)
			check(r.method+" "+r.url+" response", append(hdr.Bytes(), r.body...))
			checked++
		}
		check("the log of bacport serve", []byte(e.p.logText()))
		files := 0
		filepath.WalkDir(e.p.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(e.p.dir, path)
			if d.IsDir() && (rel == "engines" || rel == "blob") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				data, err := os.ReadFile(path)
				if err == nil {
					check("data file "+rel, data)
					files++
				}
			}
			return nil
		})
		t.Logf("checked %d responses, the log (%d bytes) and %d state files", checked, len(e.p.logText()), files)
		if checked < 50 {
			t.Fatalf("only %d responses recorded", checked)
		}
	})
}
