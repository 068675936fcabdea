package server_test

import (
	"github.com/bacport/bacport/internal/servetest"

	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsql "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	armsqlv2 "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

const (
	rg    = "rg1"
	srv   = "srv1"
	login = "admin1"
)

var pollEvery = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// env is one running bacport serve with SDK clients pointed at it.
type env struct {
	t        *testing.T
	p        *proc
	rec      *recorder
	ctx      context.Context
	v2       *armsqlv2.ClientFactory
	v1       *armsql.ClientFactory
	storage  *armstorage.ClientFactory
	password string
	key      string
	key2     string
	blobEP   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	p := startServe(t)
	e := &env{t: t, p: p, rec: p.recorder(), ctx: context.Background(), password: "Pw-" + randHex(12) + "!"}
	e.clients(p.token)
	return e
}

// run runs a subtest whose failures in e's helpers fail the subtest, not
// the parent test (FailNow on a parent from a subtest panics).
func (e *env) run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		parent, procT := e.t, e.p.t
		e.t, e.p.t = t, t
		defer func() { e.t, e.p.t = parent, procT }()
		fn(t)
	})
}

func (e *env) clients(token string) {
	e.t.Helper()
	sub, cred, opts := e.p.ep.Subscription, servetest.Token(token), e.p.armOptions(e.rec)
	var err error
	if e.v2, err = armsqlv2.NewClientFactory(sub, cred, opts); err != nil {
		e.t.Fatal(err)
	}
	if e.v1, err = armsql.NewClientFactory(sub, cred, opts); err != nil {
		e.t.Fatal(err)
	}
	if e.storage, err = armstorage.NewClientFactory(sub, cred, opts); err != nil {
		e.t.Fatal(err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setup creates the storage account, the server, the allow-Azure-services
// rule and the source database db1 with data, all through the SDKs.
func (e *env) setup() {
	t := e.t
	t.Helper()
	ap, err := e.storage.NewAccountsClient().BeginCreate(e.ctx, rg, "acct1", armstorage.AccountCreateParameters{
		Location: to.Ptr("local"), Kind: to.Ptr(armstorage.KindStorageV2),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	if err != nil {
		t.Fatalf("create storage account: %v", err)
	}
	acct, err := ap.PollUntilDone(e.ctx, pollEvery)
	if err != nil {
		t.Fatalf("create storage account: %v", err)
	}
	e.blobEP = *acct.Properties.PrimaryEndpoints.Blob
	keys, err := e.storage.NewAccountsClient().ListKeys(e.ctx, rg, "acct1", nil)
	if err != nil || len(keys.Keys) != 2 {
		t.Fatalf("list keys: %v (%d keys)", err, len(keys.Keys))
	}
	e.key, e.key2 = *keys.Keys[0].Value, *keys.Keys[1].Value

	sp, err := e.v2.NewServersClient().BeginCreateOrUpdate(e.ctx, rg, srv, armsqlv2.Server{
		Location: to.Ptr("local"),
		Properties: &armsqlv2.ServerProperties{AdministratorLogin: to.Ptr(login),
			AdministratorLoginPassword: to.Ptr(e.password)},
	}, nil)
	if err != nil {
		t.Fatalf("create server: %v", err)
	}
	s, err := sp.PollUntilDone(e.ctx, pollEvery)
	if err != nil || *s.Properties.AdministratorLogin != login {
		t.Fatalf("create server: %v", err)
	}
	if _, err := e.v2.NewFirewallRulesClient().CreateOrUpdate(e.ctx, rg, srv, "AllowAllWindowsAzureIps",
		armsqlv2.FirewallRule{Properties: &armsqlv2.ServerFirewallRuleProperties{
			StartIPAddress: to.Ptr("0.0.0.0"), EndIPAddress: to.Ptr("0.0.0.0")}}, nil); err != nil {
		t.Fatalf("create firewall rule: %v", err)
	}
	e.createDB("db1")
	db := openSQLite(t, e.p.sqliteFile(rg, srv, "db1"))
	stmts := []string{
		`CREATE TABLE t1 (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL, data BLOB, note TEXT)`,
		`CREATE TABLE t2 (code TEXT PRIMARY KEY, qty INTEGER NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	tx, _ := db.Begin()
	for i := range 2000 {
		var note any
		if i%7 != 0 {
			note = fmt.Sprintf("note %d é ü 漢", i)
		}
		if _, err := tx.Exec(`INSERT INTO t1 VALUES (?, ?, ?, ?, ?)`, i, fmt.Sprintf("name-%05d", i),
			float64(i)*1.25, []byte{byte(i), byte(i >> 8), 0, 255}, note); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		tx.Exec(`INSERT INTO t2 VALUES (?, ?)`, fmt.Sprintf("c%04d", i), i*3)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func (e *env) createDB(name string) {
	e.t.Helper()
	dp, err := e.v2.NewDatabasesClient().BeginCreateOrUpdate(e.ctx, rg, srv, name,
		armsqlv2.Database{Location: to.Ptr("local")}, nil)
	if err != nil {
		e.t.Fatalf("create database %s: %v", name, err)
	}
	if _, err := dp.PollUntilDone(e.ctx, pollEvery); err != nil {
		e.t.Fatalf("create database %s: %v", name, err)
	}
}

func (e *env) uri(name string) string { return e.blobEP + "bacpacs/" + name }

func (e *env) exportDef(name string) armsqlv2.ExportDatabaseDefinition {
	return armsqlv2.ExportDatabaseDefinition{
		StorageKeyType: to.Ptr(armsqlv2.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
		StorageURI: to.Ptr(e.uri(name)), AdministratorLogin: to.Ptr(login),
		AdministratorLoginPassword: to.Ptr(e.password), AuthenticationType: to.Ptr("Sql"),
	}
}

func (e *env) importNewDef(db, pkg string) armsqlv2.ImportNewDatabaseDefinition {
	return armsqlv2.ImportNewDatabaseDefinition{
		DatabaseName: to.Ptr(db), Edition: to.Ptr("Hyperscale"), ServiceObjectiveName: to.Ptr("HS_Gen5_2"),
		MaxSizeBytes:   to.Ptr("1073741824"),
		StorageKeyType: to.Ptr(armsqlv2.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
		StorageURI: to.Ptr(e.uri(pkg)), AdministratorLogin: to.Ptr(login),
		AdministratorLoginPassword: to.Ptr(e.password),
	}
}

func (e *env) importExistingDef(pkg string) armsqlv2.ImportExistingDatabaseDefinition {
	return armsqlv2.ImportExistingDatabaseDefinition{
		StorageKeyType: to.Ptr(armsqlv2.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
		StorageURI: to.Ptr(e.uri(pkg)), AdministratorLogin: to.Ptr(login),
		AdministratorLoginPassword: to.Ptr(e.password),
	}
}

func (e *env) blobClient() *azblob.Client {
	e.t.Helper()
	cred, err := azblob.NewSharedKeyCredential("acct1", e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(e.blobEP, cred, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) blobExists(name string) bool {
	e.t.Helper()
	_, err := e.blobClient().ServiceClient().NewContainerClient("bacpacs").NewBlobClient(name).GetProperties(e.ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatalf("get blob %s: %v", name, err)
	}
	return true
}

var opIDRE = regexp.MustCompile(`importExport(?:AzureAsyncOperation|OperationResults)/([0-9a-f-]{36})`)

// opID reads the operation id from a poller's resume token.
func opID(t *testing.T, tok string) string {
	t.Helper()
	m := opIDRE.FindStringSubmatch(tok)
	if m == nil {
		t.Fatalf("no operation id in resume token %s", tok)
	}
	return m[1]
}

func wantCode(t *testing.T, err error, status int, code string) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want ResponseError %d %s, got %v", status, code, err)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
	return re
}

// TestServe_SDK drives bacport serve, started as a process, with the
// official SDKs unmodified: armsql/v2 beta.9 and armsql v1.2.0,
// armstorage/v2 and azblob.
func TestServe_SDK(t *testing.T) {
	e := newEnv(t)
	e.setup()
	dbs := e.v2.NewDatabasesClient()
	src := e.p.sqliteFile(rg, srv, "db1")

	e.run(t, "export with status polling", func(t *testing.T) {
		poller, err := dbs.BeginExport(e.ctx, rg, srv, "db1", e.exportDef("db1.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin export: %v", err)
		}
		polls := 0
		for !poller.Done() {
			if _, err := poller.Poll(e.ctx); err != nil {
				t.Fatalf("poll export: %v", err)
			}
			polls++
			time.Sleep(100 * time.Millisecond)
		}
		res, err := poller.Result(e.ctx)
		if err != nil {
			t.Fatalf("export result: %v", err)
		}
		p := res.Properties
		if *p.Status != "Completed" || *p.RequestType != "Export" || *p.DatabaseName != "db1" ||
			*p.BlobURI != e.uri("db1.bacpac") {
			t.Fatalf("export result: status %s type %s db %s blob %s", *p.Status, *p.RequestType,
				*p.DatabaseName, *p.BlobURI)
		}
		props, err := e.blobClient().ServiceClient().NewContainerClient("bacpacs").
			NewBlobClient("db1.bacpac").GetProperties(e.ctx, nil)
		if err != nil || *props.ContentLength < 100 {
			t.Fatalf("exported blob: %v", err)
		}
		t.Logf("export done after %d polls, package %d bytes", polls, *props.ContentLength)
	})

	e.run(t, "import into a new database", func(t *testing.T) {
		poller, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("db2", "db1.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin import: %v", err)
		}
		res, err := poller.PollUntilDone(e.ctx, pollEvery)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if *res.Properties.Status != "Completed" || *res.Properties.RequestType != "Import" {
			t.Fatalf("import result status %s type %s", *res.Properties.Status, *res.Properties.RequestType)
		}
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db2"), "t1")
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db2"), "t2")
		db, err := dbs.Get(e.ctx, rg, srv, "db2", nil)
		if err != nil {
			t.Fatalf("get imported database: %v", err)
		}
		if *db.SKU.Name != "HS_Gen5_2" || *db.SKU.Tier != "Hyperscale" || *db.Properties.MaxSizeBytes != 1<<30 {
			t.Fatalf("imported database sku %s/%s size %d", *db.SKU.Name, *db.SKU.Tier, *db.Properties.MaxSizeBytes)
		}
	})

	e.run(t, "import into an existing database by POST", func(t *testing.T) {
		e.createDB("db3")
		poller, err := dbs.BeginImport(e.ctx, rg, srv, "db3", e.importExistingDef("db1.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin import: %v", err)
		}
		if _, err := poller.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("import: %v", err)
		}
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db3"), "t1")
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db3"), "t2")
	})

	e.run(t, "import into an existing database by extensions PUT (armsql v2)", func(t *testing.T) {
		e.createDB("db4")
		poller, err := e.v2.NewDatabaseExtensionsClient().BeginCreateOrUpdate(e.ctx, rg, srv, "db4", "Import",
			armsqlv2.DatabaseExtensions{Properties: &armsqlv2.DatabaseExtensionsProperties{
				OperationMode:  to.Ptr(armsqlv2.OperationModeImport),
				StorageKeyType: to.Ptr(armsqlv2.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
				StorageURI: to.Ptr(e.uri("db1.bacpac")), AdministratorLogin: to.Ptr(login),
				AdministratorLoginPassword: to.Ptr(e.password),
			}}, nil)
		if err != nil {
			t.Fatalf("begin extension import: %v", err)
		}
		res, err := poller.PollUntilDone(e.ctx, pollEvery)
		if err != nil {
			t.Fatalf("extension import: %v", err)
		}
		if *res.Properties.Status != "Completed" {
			t.Fatalf("extension result status %s", *res.Properties.Status)
		}
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db4"), "t1")
	})

	e.run(t, "armsql v1.2.0: export, import new, extensions import", func(t *testing.T) {
		ep, err := e.v1.NewDatabasesClient().BeginExport(e.ctx, rg, srv, "db1", armsql.ExportDatabaseDefinition{
			StorageKeyType: to.Ptr(armsql.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
			StorageURI: to.Ptr(e.uri("db1-v1.bacpac")), AdministratorLogin: to.Ptr(login),
			AdministratorLoginPassword: to.Ptr(e.password),
		}, nil)
		if err != nil {
			t.Fatalf("v1 begin export: %v", err)
		}
		if res, err := ep.PollUntilDone(e.ctx, pollEvery); err != nil || *res.Properties.Status != "Completed" {
			t.Fatalf("v1 export: %v", err)
		}
		ip, err := e.v1.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, armsql.ImportNewDatabaseDefinition{
			DatabaseName: to.Ptr("db5"), StorageKeyType: to.Ptr(armsql.StorageKeyTypeStorageAccessKey),
			StorageKey: to.Ptr(e.key), StorageURI: to.Ptr(e.uri("db1-v1.bacpac")),
			AdministratorLogin: to.Ptr(login), AdministratorLoginPassword: to.Ptr(e.password),
		}, nil)
		if err != nil {
			t.Fatalf("v1 begin import: %v", err)
		}
		if _, err := ip.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("v1 import: %v", err)
		}
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db5"), "t1")

		// v1.2.0's extensions body carries no administrator credentials:
		// the server's own are used for an authorized caller.
		e.createDB("db6")
		xp, err := e.v1.NewDatabaseExtensionsClient().BeginCreateOrUpdate(e.ctx, rg, srv, "db6", "Import",
			armsql.DatabaseExtensions{Properties: &armsql.DatabaseExtensionsProperties{
				OperationMode:  to.Ptr(armsql.OperationMode("Import")),
				StorageKeyType: to.Ptr(armsql.StorageKeyTypeStorageAccessKey), StorageKey: to.Ptr(e.key),
				StorageURI: to.Ptr(e.uri("db1-v1.bacpac")),
			}}, nil)
		if err != nil {
			t.Fatalf("v1 begin extension import: %v", err)
		}
		if _, err := xp.PollUntilDone(e.ctx, pollEvery); err != nil {
			t.Fatalf("v1 extension import: %v", err)
		}
		sameRows(t, src, e.p.sqliteFile(rg, srv, "db6"), "t2")
	})

	e.run(t, "validation before work", func(t *testing.T) {
		_, err := dbs.BeginExport(e.ctx, rg, srv, "db1", e.exportDef("db1.bacpac"), nil)
		wantCode(t, err, 400, "BlobAlreadyExist")

		bad := e.exportDef("other.bacpac")
		bad.AdministratorLoginPassword = to.Ptr("wrong-password")
		_, err = dbs.BeginExport(e.ctx, rg, srv, "db1", bad, nil)
		wantCode(t, err, 400, "InvalidSqlCredentials")

		bad = e.exportDef("other.bacpac")
		bad.StorageKey = to.Ptr(e.key2[:20] + strings.Repeat("A", len(e.key2)-24) + "AA==")
		_, err = dbs.BeginExport(e.ctx, rg, srv, "db1", bad, nil)
		wantCode(t, err, 400, "InvalidImportExportStorageCredentials")

		_, err = e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("db2", "db1.bacpac"), nil)
		wantCode(t, err, 409, "DatabaseAlreadyExists")

		_, err = e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("master", "db1.bacpac"), nil)
		wantCode(t, err, 400, "CannotUseReservedDatabaseName")

		_, err = e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("dbx", "missing.bacpac"), nil)
		wantCode(t, err, 400, "ImportExportPackageNotFound")

		_, err = dbs.BeginImport(e.ctx, rg, srv, "db2", e.importExistingDef("db1.bacpac"), nil)
		wantCode(t, err, 400, "DatabaseNotEmpty")

		_, err = dbs.BeginExport(e.ctx, rg, srv, "nodb", e.exportDef("x.bacpac"), nil)
		wantCode(t, err, 404, "DatabaseDoesNotExist")
	})

	e.run(t, "a job that fails at run time: the poller reports the failure, nothing is left", func(t *testing.T) {
		e.uploadDamaged("db1.bacpac", "damaged.bacpac")
		poller, err := e.v2.NewServersClient().BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("dbbad", "damaged.bacpac"), nil)
		if err != nil {
			t.Fatalf("begin import of damaged package: %v", err)
		}
		id := opID(t, mustToken(t, poller))
		_, err = poller.PollUntilDone(e.ctx, pollEvery)
		re := wantCode(t, err, 200, "ImportExportJobError")
		t.Logf("failure as the SDK reports it: %s", re.ErrorCode)
		st := e.p.status(e.rec, id)
		if st.Status != "Failed" || st.Error == nil {
			t.Fatalf("damaged import status %+v", st)
		}
		if _, err := os.Stat(e.p.sqliteFile(rg, srv, "dbbad")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a failed import left database file dbbad (stat: %v)", err)
		}
		if _, err := dbs.Get(e.ctx, rg, srv, "dbbad", nil); err == nil {
			t.Fatalf("a failed import left database resource dbbad")
		}
	})

	e.contractTests(t)
	e.moreValidation(t)
	e.keyTests(t)
	e.accessTests(t)
	e.secretTests(t)
}

type tokenPoller interface{ ResumeToken() (string, error) }

func mustToken(t *testing.T, p tokenPoller) string {
	t.Helper()
	tok, err := p.ResumeToken()
	if err != nil {
		t.Fatalf("resume token: %v", err)
	}
	return tok
}

// uploadDamaged copies a package with the second half of every data part
// cut off: model.xml and its checksum stay valid, so the package passes
// the checks before work and fails while loading.
func (e *env) uploadDamaged(from, to string) {
	t := e.t
	t.Helper()
	ctx := e.ctx
	resp, err := e.blobClient().DownloadStream(ctx, "bacpacs", from, nil)
	if err != nil {
		t.Fatalf("download %s: %v", from, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("read %s: %v", from, err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasPrefix(f.Name, "Data/") {
			body = body[:len(body)/2]
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		w.Write(body)
	}
	zw.Close()
	if _, err := e.blobClient().UploadBuffer(ctx, "bacpacs", to, out.Bytes(), nil); err != nil {
		t.Fatalf("upload %s: %v", to, err)
	}
}

func (e *env) historyEvents(id string) []string {
	e.t.Helper()
	var out struct {
		Value []struct {
			Event   string `json:"event"`
			Message string `json:"message"`
		} `json:"value"`
	}
	e.p.call(e.rec, e.p.token, "GET", "/bacport/operations/"+id+"/history", nil, &out)
	var ev []string
	for _, v := range out.Value {
		ev = append(ev, v.Event)
	}
	return ev
}
