package server_test

import (
	"github.com/bacport/bacport/internal/servetest"

	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armsqlv2 "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// raw sends a request as a script would, with the admin token, and returns
// the response with its body read.
func (e *env) raw(method, u string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+e.p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.rec.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}

// contractTests checks the long-running-operation answers field by field
// against api-contract.md §3.5–3.7 and §4.3, with api-versions the SDKs in
// the repository never send.
func (e *env) contractTests(t *testing.T) {
	e.run(t, "LRO headers and bodies as the contract describes, for any api-version", func(t *testing.T) {
		for _, ver := range []string{"2021-11-01", "2014-04-01", "2099-01-01-preview"} {
			dbPath := e.p.ep.API + "/subscriptions/" + e.p.ep.Subscription + "/resourceGroups/" + rg +
				"/providers/Microsoft.Sql/servers/" + srv + "/databases/db1"
			def := e.exportDef("contract-" + ver + ".bacpac")
			resp, body := e.raw("POST", dbPath+"/export?api-version="+ver, def)
			if resp.StatusCode != 202 {
				t.Fatalf("api-version %s: export answered %d %s", ver, resp.StatusCode, body)
			}
			loc, async := resp.Header.Get("Location"), resp.Header.Get("Azure-AsyncOperation")
			for name, link := range map[string]string{"Location": loc, "Azure-AsyncOperation": async} {
				u, err := url.Parse(link)
				if err != nil || !u.IsAbs() || u.Scheme != "https" || u.Query().Get("api-version") != ver {
					t.Fatalf("api-version %s: %s %q is not absolute HTTPS echoing the api-version", ver, name, link)
				}
			}
			if !strings.Contains(loc, "/importExportOperationResults/") ||
				!strings.Contains(async, "/importExportAzureAsyncOperation/") {
				t.Fatalf("api-version %s: Location %q, Azure-AsyncOperation %q", ver, loc, async)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("api-version %s: 202 without Retry-After", ver)
			}
			var accepted struct{ Operation, StartTime string }
			json.Unmarshal(body, &accepted)
			if accepted.Operation != "Export" || accepted.StartTime == "" {
				t.Fatalf("api-version %s: 202 body %s", ver, body)
			}

			var doc struct{ Name, Status, StartTime string }
			deadline := time.Now().Add(time.Minute)
			for {
				resp, body = e.raw("GET", async, nil)
				json.Unmarshal(body, &doc)
				if resp.StatusCode != 200 || doc.Name == "" || doc.StartTime == "" {
					t.Fatalf("api-version %s: status document %d %s", ver, resp.StatusCode, body)
				}
				if doc.Status != "InProgress" {
					break
				}
				if resp.Header.Get("Retry-After") == "" {
					t.Fatalf("api-version %s: InProgress status document without Retry-After", ver)
				}
				if time.Now().After(deadline) {
					t.Fatalf("api-version %s: export still InProgress after a minute", ver)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if doc.Status != "Succeeded" {
				t.Fatalf("api-version %s: final status document %s", ver, body)
			}

			resp, body = e.raw("GET", loc, nil)
			var res struct {
				ID, Name, Type string
				Properties     map[string]any
			}
			json.Unmarshal(body, &res)
			if resp.StatusCode != 200 || res.Type != "Microsoft.Sql/servers/databases/importExportOperationResults" {
				t.Fatalf("api-version %s: result %d %s", ver, resp.StatusCode, body)
			}
			for _, f := range []string{"requestId", "requestType", "queuedTime", "lastModifiedTime", "blobUri",
				"serverName", "databaseName", "status", "privateEndpointConnections"} {
				if _, ok := res.Properties[f]; !ok {
					t.Fatalf("api-version %s: result lacks properties.%s: %s", ver, f, body)
				}
			}
			if res.Properties["status"] != "Completed" || res.Properties["requestId"] != res.Name {
				t.Fatalf("api-version %s: result %s", ver, body)
			}
		}
	})
}

// moreValidation checks the refusals the SDK test does not: a package whose
// model.xml does not match its checksum, unusable SAS tokens, malformed
// requests. Each is refused before any work, with a stable code.
func (e *env) moreValidation(t *testing.T) {
	e.run(t, "more validation before work: checksum, SAS, request shape", func(t *testing.T) {
		e.uploadBadChecksum("db1.bacpac", "badsum.bacpac")
		srvs := e.v2.NewServersClient()
		_, err := srvs.BeginImportDatabase(e.ctx, rg, srv, e.importNewDef("dbsum", "badsum.bacpac"), nil)
		re := wantCode(t, err, 400, "InvalidBacpacPackage")
		if !strings.Contains(re.Error(), "checksum") {
			t.Fatalf("checksum refusal does not say so: %v", re)
		}

		// A SAS that only reads cannot be used for an export.
		cred, _ := azblob.NewSharedKeyCredential("acct1", e.key)
		readOnly, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
			Permissions:   to.Ptr(sas.ContainerPermissions{Read: true}).String(),
			ContainerName: "bacpacs",
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		def := e.exportDef("sas.bacpac")
		def.StorageKeyType, def.StorageKey = to.Ptr(armsqlv2.StorageKeyTypeSharedAccessKey), to.Ptr("?"+readOnly.Encode())
		_, err = e.v2.NewDatabasesClient().BeginExport(e.ctx, rg, srv, "db1", def, nil)
		wantCode(t, err, 400, "InvalidImportExportStorageCredentials")

		forged := e.importNewDef("dbsas", "db1.bacpac")
		forged.StorageKeyType = to.Ptr(armsqlv2.StorageKeyTypeSharedAccessKey)
		forged.StorageKey = to.Ptr("sv=2023-11-03&sr=c&sp=r&se=2099-01-01T00:00:00Z&sig=AAAA")
		_, err = srvs.BeginImportDatabase(e.ctx, rg, srv, forged, nil)
		wantCode(t, err, 400, "InvalidImportExportStorageCredentials")

		dbPath := e.p.ep.API + "/subscriptions/" + e.p.ep.Subscription + "/resourceGroups/" + rg +
			"/providers/Microsoft.Sql/servers/" + srv + "/databases/db1/export?api-version=2021-11-01"
		for _, c := range []struct {
			body map[string]string
			code string
		}{
			{map[string]string{"storageKeyType": "StorageAccessKey", "storageUri": e.uri("x.bacpac")},
				"MissingImportExportInputParameters"},
			{map[string]string{"storageKeyType": "ManagedIdentity", "storageKey": "x", "storageUri": e.uri("x.bacpac")},
				"InvalidImportExportStorageAuthType"},
			{map[string]string{"storageKeyType": "StorageAccessKey", "storageKey": e.key,
				"storageUri": e.uri("x.bacpac") + "?sv=1"}, "InvalidImportExportStorageURI"},
			{map[string]string{"storageKeyType": "StorageAccessKey", "storageKey": "not base64!",
				"storageUri": e.uri("x.bacpac")}, "InvalidImportExportStorageKeyFormat"},
			{map[string]string{"storageKeyType": "StorageAccessKey", "storageKey": e.key,
				"storageUri": e.uri("x.bacpac"), "authenticationType": "ADPassword",
				"administratorLogin": login, "administratorLoginPassword": e.password}, "InvalidSqlAuthType"},
		} {
			resp, body := e.raw("POST", dbPath, c.body)
			var out struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(body, &out)
			if resp.StatusCode != 400 || out.Error.Code != c.code || out.Error.Message == "" {
				t.Fatalf("export with %v: %d %s, want 400 %s", c.body["storageKeyType"], resp.StatusCode, body, c.code)
			}
		}
		if _, err := os.Stat(e.p.sqliteFile(rg, srv, "dbsum")); !os.IsNotExist(err) {
			t.Fatalf("a refused import created database file dbsum (stat: %v)", err)
		}
	})
}

// uploadBadChecksum copies a package with one byte of model.xml changed,
// so that it no longer matches the checksum in Origin.xml.
func (e *env) uploadBadChecksum(from, to string) {
	t := e.t
	t.Helper()
	resp, err := e.blobClient().DownloadStream(e.ctx, "bacpacs", from, nil)
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
		if f.Name == "model.xml" {
			body = bytes.Replace(body, []byte("<DataSchemaModel"), []byte("<DataSchemaModel "), 1)
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		w.Write(body)
	}
	zw.Close()
	if _, err := e.blobClient().UploadBuffer(e.ctx, "bacpacs", to, out.Bytes(), nil); err != nil {
		t.Fatalf("upload %s: %v", to, err)
	}
}

// keyTests regenerates a storage key through armstorage and checks that the
// old key stops working at once.
func (e *env) keyTests(t *testing.T) {
	e.run(t, "regenerating a storage key replaces it in the embedded account", func(t *testing.T) {
		accts := e.storage.NewAccountsClient()
		res, err := accts.RegenerateKey(e.ctx, rg, "acct1",
			armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key2")}, nil)
		if err != nil {
			t.Fatalf("regenerate key2: %v", err)
		}
		old := e.key2
		for _, k := range res.Keys {
			if *k.KeyName == "key2" {
				e.key2 = *k.Value
			}
		}
		if e.key2 == old {
			t.Fatalf("key2 did not change")
		}
		check := func(key string) error {
			cred, _ := azblob.NewSharedKeyCredential("acct1", key)
			c, _ := azblob.NewClientWithSharedKeyCredential(e.blobEP, cred, nil)
			_, err := c.ServiceClient().NewContainerClient("bacpacs").GetProperties(e.ctx, nil)
			return err
		}
		if err := check(old); err == nil {
			t.Fatalf("the old key2 still works")
		}
		if err := check(e.key2); err != nil {
			t.Fatalf("the new key2 does not work: %v", err)
		}
	})
}

// serveFiles checks what `bacport serve` leaves for scripts: endpoints.json
// with every URL and file, an admin token only its owner reads, and a
// certificate generated once and kept across restarts.
func (e *env) serveFiles(t *testing.T, certBefore []byte) {
	e.run(t, "endpoints.json, the admin token file and the kept certificate", func(t *testing.T) {
		ep := e.p.ep
		if ep.API == "" || ep.Blob == "" || ep.Portal == "" || ep.CertFile == "" || ep.Subscription == "" ||
			ep.AdminTokenFile == "" {
			t.Fatalf("endpoints.json lacks a field: %+v", ep)
		}
		fi, err := os.Stat(ep.AdminTokenFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("admin token file %s: mode %v, err %v; want 0600", ep.AdminTokenFile, fi.Mode().Perm(), err)
		}
		if filepath.Dir(ep.AdminTokenFile) != e.p.dir {
			t.Fatalf("admin token file %s is outside the data directory %s", ep.AdminTokenFile, e.p.dir)
		}
		banner := e.p.logText()
		for _, want := range []string{ep.API, ep.Blob, ep.Portal, ep.CertFile, ep.AdminTokenFile, "Sign in"} {
			if !strings.Contains(banner, want) {
				t.Fatalf("the start-up banner does not show %q", want)
			}
		}
		if n := strings.Count(banner, e.p.token); n != 1 {
			t.Fatalf("the admin token was shown %d times over two starts, want once (the first)", n)
		}
		cert, err := os.ReadFile(ep.CertFile)
		if err != nil || !bytes.Equal(cert, certBefore) {
			t.Fatalf("the certificate changed across a restart (err %v)", err)
		}
	})
}

// TestServe_OwnCertificate starts bacport serve with --tls-cert and
// --tls-key: endpoints.json names that certificate and the API presents it
// (the client trusts only it). It also checks the sign-in endpoints the CLI
// and the portal use.
func TestServe_OwnCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bacport and runs bacport serve as a process")
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	p := &proc{t: t, dir: t.TempDir(), api: servetest.FreeAddr(t), blob: servetest.FreeAddr(t), log: &servetest.LockedBuffer{},
		flags: []string{"--tls-cert", certFile, "--tls-key", keyFile}}
	p.start()
	t.Cleanup(p.stop)
	if p.ep.CertFile != certFile {
		t.Fatalf("endpoints.json certFile %q, want %q", p.ep.CertFile, certFile)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "tls")); !os.IsNotExist(err) {
		t.Fatalf("a certificate was generated although --tls-cert was given (stat tls/: %v)", err)
	}
	rec := p.recorder()

	var who struct {
		Principal struct{ Name string } `json:"principal"`
	}
	if code := p.call(rec, p.token, "GET", "/bacport/whoami", nil, &who); code != 200 || who.Principal.Name != "admin" {
		t.Fatalf("GET /bacport/whoami with the admin token: %d %+v", code, who)
	}
	var fail struct {
		Error struct{ Code, Message string }
	}
	if code := p.call(rec, "not-a-token", "GET", "/bacport/whoami", nil, &fail); code != 401 ||
		fail.Error.Code != "AuthenticationFailed" || !strings.Contains(fail.Error.Message, "adminTokenFile") {
		t.Fatalf("GET /bacport/whoami with a bad token: %d %+v", code, fail)
	}
	if code := p.call(rec, "", "GET", "/bacport/health", nil, nil); code != 200 {
		t.Fatalf("GET /bacport/health without a token: %d", code)
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "bacport test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}
