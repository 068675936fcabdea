package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
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

// A queued job says where it stands in the line; a running job with no
// progress for the server's stall-after says for how long.
func TestDescribe_QueuedAndStalled(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	last := now.Add(-12*time.Minute - 30*time.Second)
	cases := []struct {
		name string
		in   richStatus
		want string
	}{
		{"queued third", richStatus{Status: "Queued", Phase: "queued", QueuePosition: 3},
			"[........................]    0.0%  queued, position 3"},
		{"stalled", richStatus{Status: "Running", Phase: "data", CurrentTable: "dbo.Orders", Percent: 50,
			Stalled: true, LastProgressTime: &last},
			"[############............]   50.0%  data  dbo.Orders  no progress for 12m — stalled?"},
		{"not stalled", richStatus{Status: "Running", Phase: "data", Percent: 50, LastProgressTime: &last},
			"[############............]   50.0%  data"},
	}
	for _, c := range cases {
		if got := describeAt(&c.in, now); got != c.want {
			t.Errorf("%s: describe(%+v)\n got %q\nwant %q", c.name, c.in, got, c.want)
		}
	}
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 90 * time.Second: "1m", 2*time.Hour + 5*time.Minute + 7*time.Second: "2h5m",
	} {
		if got := sinceText(d); got != want {
			t.Errorf("sinceText(%v) = %q, want %q", d, got, want)
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
