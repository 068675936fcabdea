package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	cases := []struct {
		name string
		in   richStatus
		want string
	}{
		{"queued", richStatus{Status: "Queued", Phase: "queued"},
			"[........................]    0.0%  queued"},
		{"moving rows", richStatus{Status: "Running", Phase: "data", CurrentTable: "dbo.Orders",
			Percent: 50, Rows: 1200, Bytes: 3 << 20, BytesPerSecond: 1 << 20, ETASeconds: 0.4},
			"[############............]   50.0%  data  dbo.Orders  1200 rows  3.0 MiB  1.0 MiB/s  ETA 1s"},
		{"held", richStatus{Status: "WaitingForApproval", Phase: "waitingForApproval"},
			"[........................]    0.0%  WaitingForApproval"},
		{"done", richStatus{Status: "Succeeded", Phase: "finished", CurrentTable: "dbo.Orders", Percent: 100,
			Rows: 5, Bytes: 10, ETASeconds: 3},
			"[########################]  100.0%  Succeeded  5 rows  10 B"},
		{"cancelling", richStatus{Status: "Running", Phase: "data", Percent: 10, CancelRequested: true},
			"[##......................]   10.0%  data  (cancelling)"},
	}
	for _, c := range cases {
		if got := describe(&c.in); got != c.want {
			t.Errorf("%s: describe(%+v)\n got %q\nwant %q", c.name, c.in, got, c.want)
		}
	}
}

// The hold advice lists every endpoint and one approve command for each
// pending one, and is repeated only when the pending set changes.
func TestProgressView_Advise(t *testing.T) {
	var out bytes.Buffer
	v := newProgressView(&out)
	srv := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/srv1"
	acct := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct1"
	held := richStatus{Status: statusWaiting, PrivateEndpointConnections: []endpointInfo{
		{Name: "importexport-1", ServiceID: srv, Status: "Pending"},
		{Name: "importexport-1", ServiceID: acct, Status: "Pending"},
	}}
	v.update(&held)
	v.update(&held)
	for _, want := range []string{
		"Pending   importexport-1 on SQL server " + srv,
		"Pending   importexport-1 on storage account " + acct,
		"  bacport private-link approve " + srv + "/privateEndpointConnections/importexport-1\n",
		"  bacport private-link approve " + acct + "/privateEndpointConnections/importexport-1\n",
	} {
		if n := strings.Count(out.String(), want); n != 1 {
			t.Errorf("advice shows %q %d times, want once:\n%s", want, n, out.String())
		}
	}
	held.PrivateEndpointConnections[0].Status = "Approved"
	out.Reset()
	v.update(&held)
	if strings.Contains(out.String(), "approve "+srv) || !strings.Contains(out.String(), "approve "+acct) {
		t.Errorf("after the server's approval the advice is:\n%s\nwant only the storage account's command", out.String())
	}
}

func TestProgressView_FitsTheTerminal(t *testing.T) {
	v := &progressView{width: 20}
	if got := v.fit("[####....] 50.0% data dbo.Orders"); got != "[####....] 50.0% d…" {
		t.Errorf("fit to 20 columns = %q", got)
	}
	if got := v.fit("short"); got != "short" {
		t.Errorf("fit(short) = %q", got)
	}
	if got := (&progressView{}).fit("no width known"); got != "no width known" {
		t.Errorf("fit without a width = %q", got)
	}
}
