package cli_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/testenv"
)

// armDoc is the part of an ARM resource the tests look at.
type armDoc struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Sku        map[string]any `json:"sku"`
	Properties map[string]any `json:"properties"`
}

type armList struct {
	Value []armDoc `json:"value"`
}

func (l armList) names() []string {
	var out []string
	for _, d := range l.Value {
		out = append(out, d.Name)
	}
	return out
}

// Every resource command works against a real bacport serve, in table
// and JSON output.
func TestCommands_ResourcesAgainstServe(t *testing.T) {
	e := startServe(t)
	var d armDoc
	var l armList

	e.mustJSON(&d, "group", "create", "rg2")
	e.mustJSON(&l, "group", "list")
	if !slices.Contains(l.names(), "rg2") {
		t.Errorf("group list = %v, want rg2 in it", l.names())
	}

	e.must("sql", "server", "create", "-g", "rg2", "-s", "srv2", "--administrator-login", "admin2",
		"--administrator-login-password", "Pa55w0rd!")
	e.mustJSON(&d, "sql", "server", "show", "-g", "rg2", "-s", "srv2")
	if eng, _ := d.Properties["engine"].(map[string]any); eng["type"] != "sqlite" {
		t.Errorf("new server's engine = %v, want the embedded sqlite", d.Properties["engine"])
	}
	for _, args := range [][]string{{"sql", "server", "list"}, {"sql", "server", "list", "-g", "rg2"}} {
		e.mustJSON(&l, args...)
		if !slices.Contains(l.names(), "srv2") {
			t.Errorf("bacport %s = %v, want srv2 in it", strings.Join(args, " "), l.names())
		}
	}
	if out := e.must("sql", "server", "list", "-g", "rg2"); !strings.Contains(out, "srv2") ||
		!strings.Contains(out, "PUBLICNETWORKACCESS") {
		t.Errorf("server list table:\n%s", out)
	}

	srv := []string{"-g", "rg2", "-s", "srv2"}
	e.must(append([]string{"sql", "server", "firewall-rule", "create", "--name", "office",
		"--start-ip", "10.0.0.1", "--end-ip", "10.0.0.9"}, srv...)...)
	e.must(append([]string{"sql", "server", "allow-azure-services", "on"}, srv...)...)
	e.mustJSON(&l, append([]string{"sql", "server", "firewall-rule", "list"}, srv...)...)
	if got := l.names(); !slices.Contains(got, "office") || !slices.Contains(got, "AllowAllWindowsAzureIps") {
		t.Errorf("firewall rules = %v, want office and AllowAllWindowsAzureIps", got)
	}
	e.must(append([]string{"sql", "server", "allow-azure-services", "off"}, srv...)...)
	e.must(append([]string{"sql", "server", "firewall-rule", "delete", "--name", "office"}, srv...)...)
	e.mustJSON(&l, append([]string{"sql", "server", "firewall-rule", "list"}, srv...)...)
	if len(l.Value) != 0 {
		t.Errorf("firewall rules after deleting both = %v, want none", l.names())
	}
	e.mustJSON(&d, append([]string{"sql", "server", "public-network-access", "Disabled"}, srv...)...)
	if d.Properties["publicNetworkAccess"] != "Disabled" {
		t.Errorf("publicNetworkAccess = %v, want Disabled", d.Properties["publicNetworkAccess"])
	}
	e.must(append([]string{"sql", "server", "public-network-access", "Enabled"}, srv...)...)

	e.mustJSON(&d, append([]string{"sql", "db", "create", "-d", "db2", "--edition", "Standard",
		"--service-objective-name", "S1", "--max-size-bytes", "1073741824",
		"--backup-storage-redundancy", "Local"}, srv...)...)
	e.mustJSON(&d, append([]string{"sql", "db", "show", "-d", "db2"}, srv...)...)
	if d.Sku["name"] != "S1" || d.Properties["maxSizeBytes"] != float64(1<<30) ||
		d.Properties["requestedBackupStorageRedundancy"] != "Local" {
		t.Errorf("db2 = sku %v, properties %v; want S1, 1 GiB, Local", d.Sku, d.Properties)
	}

	e.must("storage", "account", "create", "-g", "rg2", "-n", "acct2")
	e.mustJSON(&d, "storage", "account", "show", "-g", "rg2", "-n", "acct2")
	blobURL, _ := d.Properties["primaryEndpoints"].(map[string]any)["blob"].(string)
	e.mustJSON(&l, "storage", "account", "list")
	if !slices.Contains(l.names(), "acct2") {
		t.Errorf("storage account list = %v, want acct2 in it", l.names())
	}
	var keys, renewed struct {
		Value []struct{ KeyName, Value string } `json:"value"`
	}
	e.mustJSON(&keys, "storage", "account", "keys", "list", "-g", "rg2", "-n", "acct2")
	e.mustJSON(&renewed, "storage", "account", "keys", "renew", "-g", "rg2", "-n", "acct2", "--key", "key2")
	if len(keys.Value) != 2 || len(renewed.Value) != 2 || renewed.Value[0] != keys.Value[0] ||
		renewed.Value[1] == keys.Value[1] {
		t.Errorf("keys renew --key key2: before %v, after %v; want key1 kept and key2 new", keys, renewed)
	}

	e.mustJSON(&d, "storage", "account", "update", "-g", "rg2", "-n", "acct2", "--default-action", "Deny",
		"--bypass", "None")
	if acl, _ := d.Properties["networkAcls"].(map[string]any); acl["defaultAction"] != "Deny" || acl["bypass"] != "None" {
		t.Errorf("network rules after update = %v, want Deny without bypass", d.Properties["networkAcls"])
	}
	e.must("storage", "account", "update", "-g", "rg2", "-n", "acct2", "--default-action", "Allow",
		"--bypass", "AzureServices")

	t.Run("blobs", func(t *testing.T) {
		e := e.with(t)
		acct := []string{"-g", "rg2", "-n", "acct2", "--container", "files"}
		src := filepath.Join(e.dir, "up.bin")
		data := bytes.Repeat([]byte("bacport blob "), 100000)
		os.WriteFile(src, data, 0o600)
		e.must(append([]string{"storage", "blob", "upload", "--name", "a/up.bin", "--file", src}, acct...)...)
		var blobs struct {
			Value []struct {
				Name string  `json:"name"`
				Size float64 `json:"size"`
			} `json:"value"`
		}
		e.mustJSON(&blobs, append([]string{"storage", "blob", "list", "--prefix", "a/"}, acct...)...)
		if len(blobs.Value) != 1 || blobs.Value[0].Size != float64(len(data)) {
			t.Errorf("blob list = %+v, want a/up.bin of %d bytes", blobs.Value, len(data))
		}
		dst := filepath.Join(e.dir, "down.bin")
		e.must(append([]string{"storage", "blob", "download", "--name", "a/up.bin", "--file", dst}, acct...)...)
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
			t.Errorf("downloaded %d bytes, want the %d uploaded", len(got), len(data))
		}
		e.must(append([]string{"storage", "blob", "delete", "--name", "a/up.bin"}, acct...)...)
		e.mustJSON(&blobs, append([]string{"storage", "blob", "list"}, acct...)...)
		if len(blobs.Value) != 0 {
			t.Errorf("blob list after delete = %+v, want none", blobs.Value)
		}
	})

	t.Run("external storage account", func(t *testing.T) {
		e := e.with(t)
		var ext armDoc
		e.mustJSON(&ext, "storage", "account", "create", "-g", "rg2", "-n", "ext2",
			"--external-endpoint", blobURL, "--external-key", keys.Value[0].Value)
		if ext.Properties["mode"] != "external" {
			t.Errorf("registered account mode = %v, want external", ext.Properties["mode"])
		}
		e.must("storage", "account", "delete", "-g", "rg2", "-n", "ext2")
	})

	t.Run("export, import into an existing database, operations and history", func(t *testing.T) {
		e := e.with(t)
		e.must(append([]string{"sql", "server", "allow-azure-services", "on"}, srv...)...)
		cred := []string{"--storage-key", keys.Value[0].Value, "--administrator-login", "admin2",
			"--administrator-login-password", "Pa55w0rd!"}
		uri := blobURL + "bacpacs/db2.bacpac"
		e.must(append(append([]string{"sql", "db", "export", "-d", "db2", "--storage-uri", uri, "--wait"},
			srv...), cred...)...)
		e.must(append([]string{"sql", "db", "create", "-d", "db3"}, srv...)...)
		var res struct {
			Link       string `json:"operationStatusLink"`
			Properties struct{ Status, RequestID string }
		}
		e.mustJSON(&res, append(append([]string{"sql", "db", "import", "--existing", "-d", "db3",
			"--storage-uri", uri, "--wait"}, srv...), cred...)...)
		if res.Properties.Status != "Completed" {
			t.Errorf("import --existing --wait ended %q, want Completed", res.Properties.Status)
		}
		e.mustJSON(&res, "sql", "db", "import-export-status", res.Link)
		if res.Properties.Status != "Completed" {
			t.Errorf("status by link = %q, want Completed", res.Properties.Status)
		}
		var ops struct {
			Value []struct {
				Name       string
				Properties struct{ Operation, State string }
			} `json:"value"`
		}
		e.mustJSON(&ops, append([]string{"sql", "db", "operation", "list", "-d", "db3", "--all"}, srv...)...)
		if len(ops.Value) != 1 || ops.Value[0].Name != res.Properties.RequestID ||
			ops.Value[0].Properties.State != "Succeeded" {
			t.Errorf("operation list --all of db3 = %+v, want the import, Succeeded", ops.Value)
		}
		var hist struct {
			Value []struct {
				Properties struct{ RequestType, DatabaseName, Status string }
			} `json:"value"`
		}
		e.mustJSON(&hist, append([]string{"sql", "server", "import-export-history", "--type", "export"},
			srv...)...)
		if len(hist.Value) != 1 || hist.Value[0].Properties.DatabaseName != "db2" {
			t.Errorf("history --type export = %+v, want the one export of db2", hist.Value)
		}
		if out := e.must(append([]string{"sql", "server", "import-export-history"}, srv...)...); strings.Count(out, "Completed") != 2 {
			t.Errorf("history table shows %d completed requests, want 2:\n%s", strings.Count(out, "Completed"), out)
		}
	})

	t.Run("completion of names", func(t *testing.T) {
		e := e.with(t)
		out := e.must(append(append([]string{"__complete", "sql", "db", "show"}, srv...), "-d", "")...)
		if !strings.Contains(out, "db2\n") || !strings.Contains(out, "db3\n") {
			t.Errorf("completing -d offered:\n%s\nwant db2 and db3", out)
		}
	})

	e.must(append([]string{"sql", "db", "delete", "-d", "db3"}, srv...)...)
	e.mustJSON(&l, append([]string{"sql", "db", "list"}, srv...)...)
	if slices.Contains(l.names(), "db3") {
		t.Errorf("db list after delete = %v", l.names())
	}
	e.must(append([]string{"sql", "server", "delete"}, srv...)...)
	e.must("storage", "account", "delete", "-g", "rg2", "-n", "acct2")
	e.must("group", "delete", "rg2")
	e.mustJSON(&l, "group", "list")
	if slices.Contains(l.names(), "rg2") {
		t.Errorf("group list after delete = %v", l.names())
	}
}

// A server can be bound to a PostgreSQL the operator brings; its databases
// are real databases there.
func TestCommands_PostgresServer(t *testing.T) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		testenv.Missing(t, "PostgreSQL on 127.0.0.1:5432", "start it (see .ci/services.sh)")
	}
	conn.Close()
	e := startServe(t)
	e.must("sql", "server", "create", "-g", "rg1", "-s", "pg1", "--engine", "postgres",
		"--dsn", "postgres://127.0.0.1:5432/", "--administrator-login", "postgres",
		"--administrator-login-password", "unused-with-trust")
	db := fmt.Sprintf("cli_%d", time.Now().UnixNano())
	var d armDoc
	e.mustJSON(&d, "sql", "db", "create", "-g", "rg1", "-s", "pg1", "-d", db)
	t.Cleanup(func() { e.run(nil, "sql", "db", "delete", "-g", "rg1", "-s", "pg1", "-d", db) })
	e.mustJSON(&d, "sql", "server", "show", "-g", "rg1", "-s", "pg1")
	if eng, _ := d.Properties["engine"].(map[string]any); eng["type"] != "postgres" {
		t.Errorf("engine = %v, want postgres", d.Properties["engine"])
	}
	code, _, errs := e.run(nil, "sql", "server", "create", "-g", "rg1", "-s", "pg2", "--engine", "postgres",
		"--dsn", "postgres://127.0.0.1:1/", "--administrator-login", "postgres",
		"--administrator-login-password", "x")
	if code != 1 || !strings.Contains(errs, "EngineUnreachable") {
		t.Errorf("server on an unreachable engine: exit %d, %q; want exit 1 and EngineUnreachable", code, errs)
	}
}

// login works with a data directory, or with an endpoint, a token and the
// certificate to trust; a certificate it cannot trust is one line saying
// how to log in.
func TestLogin_EndpointTokenAndCertificate(t *testing.T) {
	e := startServe(t)
	token, err := os.ReadFile(filepath.Join(e.dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(e.dataDir, "tls", "cert.pem")
	profile := []string{"BACPORT_PROFILE=" + filepath.Join(e.dir, "remote.json")}

	code, out, errs := e.run(profile, "login", "--endpoint", e.ep.API, "--token", strings.TrimSpace(string(token)),
		"--ca-file", cert, "--subscription", e.ep.Subscription)
	if code != 0 || !strings.Contains(out, "as admin") {
		t.Fatalf("login --endpoint --token --ca-file: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := e.run(profile, "group", "list"); code != 0 {
		t.Errorf("group list with the saved remote profile: exit %d\n%s%s", code, out, errs)
	}

	code, _, errs = e.run(profile, "login", "--endpoint", e.ep.API, "--token", "x")
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 ||
		!strings.Contains(errs, "not trusted") || !strings.Contains(errs, "--ca-file") {
		t.Errorf("login without the certificate: exit %d, %q; want one line saying to pass --ca-file", code, errs)
	}
	code, _, errs = e.run(profile, "login", "--endpoint", e.ep.API, "--token", "bpt_wrong", "--ca-file", cert)
	if code != 1 || !strings.Contains(errs, "AuthenticationFailed") {
		t.Errorf("login with a wrong token: exit %d, %q; want AuthenticationFailed", code, errs)
	}
	code, _, errs = e.run(profile, "login")
	if code != 2 || !strings.Contains(errs, "--data-dir") {
		t.Errorf("login without flags: exit %d, %q; want a usage error naming --data-dir", code, errs)
	}
}
