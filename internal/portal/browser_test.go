package portal_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bacport/bacport/internal/testenv"
)

const (
	rg       = "portal"
	srvName  = "portalsrv" // on the embedded SQLite engine
	pgServer = "portalpg"  // on PostgreSQL
	pgAddr   = "127.0.0.1:5432"
	acctName = "portalacct"
	rows     = 300
)

// TestPortal_Browser drives the portal in a real browser against a real
// bacport server: sign in, create a storage account, a server and a
// database, let Azure services in, export from the form and watch the
// history reach Completed, import the package into a new database and
// into an empty existing one; the same export and import on a server
// bound to PostgreSQL from the form; and, when this bacport serves
// private endpoint connections, isolated jobs that hold until their
// endpoints are approved in the Private Link Center.
func TestPortal_Browser(t *testing.T) {
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium", "apt-get install chromium")
	}
	e := &portalEnv{t: t, dir: t.TempDir(), srv: srvName, engine: "sqlite"}
	e.startServer()
	e.startBrowser(chrome)

	e.signIn()
	e.createAccount()
	e.createServer()
	e.createDatabase("sales")
	e.fillDatabase("sales")
	e.allowAzure()

	exportID := e.export("sales")
	st := e.richStatus(exportID)
	if st.Rows != rows {
		t.Fatalf("export %s copied %d rows, want %d", exportID, st.Rows, rows)
	}
	e.do("open the operation's details",
		click(fmt.Sprintf(`#history tr[data-id=%q] a.details-link`, exportID)),
		until(fmt.Sprintf(`document.querySelector("#view").innerText.includes("%d rows")`, rows), 10*time.Second),
		until(`!!document.querySelector("#view .status-Succeeded")`, 5*time.Second),
	)
	e.importNew("sales_copy", st.BlobURI)
	e.importExisting("sales_empty", st.BlobURI)
	e.filterHistory()

	t.Run("PostgreSQL", func(t *testing.T) {
		parent := e.t
		e.t, e.srv, e.engine = t, pgServer, "postgres"
		defer func() { e.t, e.srv, e.engine = parent, srvName, "sqlite" }()
		e.postgres()
	})

	t.Run("PrivateLink", func(t *testing.T) {
		if !e.servesPrivateLink() {
			t.Skip("this bacport serves no privateEndpointConnections on servers; the isolated export needs internal/privatelink's routes")
		}
		parent := e.t
		e.t = t
		defer func() { e.t = parent }()
		e.privateLink()
	})
}

// postgres does the same on a server bound to PostgreSQL from the form:
// create a database, export it, import it into a new one.
func (e *portalEnv) postgres() {
	t := e.t
	conn, err := net.DialTimeout("tcp", pgAddr, 2*time.Second)
	if err != nil {
		testenv.Missing(t, "PostgreSQL on "+pgAddr, "start it (see .ci/services.sh)")
	}
	conn.Close()
	db := "portal_" + randHex(4)
	t.Cleanup(func() { dropPostgres(t, db, db+"_copy") })
	e.createServer()
	e.createDatabase(db)
	e.fillDatabase(db)
	e.allowAzure()
	id := e.export(db)
	e.importNew(db+"_copy", e.richStatus(id).BlobURI)
}

// privateLink runs the isolated jobs in the order the settings they need
// come and go: allow-Azure-services off, then the account's rules closed.
func (e *portalEnv) privateLink() {
	e.setAllowAzure("Yes", "No")
	e.refusedWithoutIsolation("allow Azure services is off")
	exp := e.approvedInCenter()
	e.isolatedImport(exp)
	e.rejectedOnServerPage()
	e.closeAccount()
	e.setAllowAzure("No", "Yes")
	e.refusedWithoutIsolation("storage account " + acctName)
	e.cancelHeld()
}

// setAllowAzure flips the server's allow-Azure-services setting on its
// page from one state to the other.
func (e *portalEnv) setAllowAzure(from, to string) {
	e.do("turn allow Azure services "+to,
		goTo(fmt.Sprintf("#/server/%s/%s", rg, e.srv)),
		until(fmt.Sprintf(`document.querySelector("#allow-azure")?.textContent === %q`, from), 5*time.Second),
		click("#toggle-allow"),
		until(fmt.Sprintf(`document.querySelector("#allow-azure")?.textContent === %q`, to), 10*time.Second),
	)
}

// refusedWithoutIsolation submits a plain export that the network rules
// keep out, and sees the form say why.
func (e *portalEnv) refusedWithoutIsolation(why string) {
	e.openExport("sales", false)
	e.do("see a plain export refused: "+why,
		click("#export-form-submit"),
		until(fmt.Sprintf(`document.querySelector("#messages .error")?.textContent.includes(%q)`, why), 15*time.Second),
	)
}

// approvedInCenter runs an isolated export that holds until both of its
// endpoints are approved in the Private Link Center, and returns its id.
func (e *portalEnv) approvedInCenter() string {
	id := e.startExport("sales", true)
	e.waitHeld(id)
	e.approveAll(2)
	e.waitEnded(id, "Completed")
	if st := e.richStatus(id); st.Rows != rows {
		e.t.Fatalf("isolated export %s copied %d rows, want %d", id, st.Rows, rows)
	}
	e.do("see the endpoints on the operation page",
		goTo("#/operation/"+id),
		until(`document.querySelectorAll("#op-endpoints .status-Approved").length === 2`, 10*time.Second),
	)
	return id
}

// rejectedOnServerPage approves an isolated export's endpoint on the
// account's page, rejects the other on the server's, and sees it fail.
func (e *portalEnv) rejectedOnServerPage() {
	id := e.startExport("sales", true)
	e.waitHeld(id)
	e.decideOnPage(fmt.Sprintf("#/account/%s/%s", rg, acctName), id, "approve")
	e.decideOnPage(fmt.Sprintf("#/server/%s/%s", rg, e.srv), id, "reject")
	if msg := e.waitEnded(id, "Failed"); !strings.Contains(msg, "rejected") {
		e.t.Fatalf("rejected export failed with %q; want the rejection named", msg)
	}
}

// closeAccount denies the storage account to every network and to
// trusted services, from its page.
func (e *portalEnv) closeAccount() {
	e.do("close the storage account to Azure services",
		goTo(fmt.Sprintf("#/account/%s/%s", rg, acctName)),
		until(`document.querySelector("#default-action")?.textContent === "Allow"`, 10*time.Second),
		click("#toggle-default-action"),
		until(`document.querySelector("#default-action")?.textContent === "Deny"`, 10*time.Second),
		click("#toggle-bypass"),
		until(`document.querySelector("#bypass")?.textContent === "No"`, 10*time.Second),
	)
}

// cancelHeld presses Cancel on a held isolated export, sees it end
// Cancelled, and sees its connections leave the Private Link Center.
func (e *portalEnv) cancelHeld() {
	id := e.startExport("sales", true)
	e.waitHeld(id)
	e.do("cancel the held export",
		click(fmt.Sprintf(`#history tr[data-id=%q] button.cancel`, id)),
		until(historyRow(id)+`?.dataset.status === "Cancelled"`, 15*time.Second),
		navTo("#/privatelink"),
		until(fmt.Sprintf(`!document.querySelector('table.pecs tr[data-id$="importexport-%s"]')`, id), 15*time.Second),
	)
}

func (e *portalEnv) signIn() {
	e.do("open the portal", chromedp.Navigate(e.ep.Portal))
	e.signInAs(e.token, "admin")
	e.do("see the servers", chromedp.WaitVisible(chromedp.CSS("table#servers")))
}

// signInAs signs in with token on the sign-in page, signing out first if
// someone is signed in.
func (e *portalEnv) signInAs(token, name string) {
	if evalIn[bool](e, `!document.querySelector("#signout").hidden`) {
		e.do("sign out", click("#signout"))
	}
	e.do("sign in as "+name,
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		click("#signin"),
		until(fmt.Sprintf(`document.querySelector("#who").textContent === "Signed in as %s"`, name), 10*time.Second),
	)
}

func (e *portalEnv) createAccount() {
	e.do("create a storage account",
		navTo("#/storage"),
		chromedp.WaitVisible(chromedp.CSS("table#accounts")),
		click("details > summary"),
		set("#new-account-name", acctName),
		set("#new-account-rg", rg),
		click("#new-account-form button[type=submit]"),
		until(fmt.Sprintf(`[...document.querySelectorAll("#accounts a.account-link")].some(a => a.textContent === %q)`, acctName), 15*time.Second),
	)
}

// createServer creates e.srv on e.engine from the servers page.
func (e *portalEnv) createServer() {
	login, engine := []chromedp.Action[chromedp.Void]{set("#new-server-login", "portaladmin")}, []chromedp.Action[chromedp.Void]{}
	if e.engine == "postgres" {
		login = []chromedp.Action[chromedp.Void]{set("#new-server-login", "postgres")} // trust authentication
		engine = []chromedp.Action[chromedp.Void]{set("#new-server-engine", "postgres"), set("#new-server-dsn", "postgres://"+pgAddr+"/")}
	}
	steps := []chromedp.Action[chromedp.Void]{
		navTo("#/"),
		chromedp.WaitVisible(chromedp.CSS("table#servers")),
		click("details > summary"),
		set("#new-server-name", e.srv),
		set("#new-server-rg", rg),
	}
	steps = append(append(append(steps, login...), engine...),
		set("#new-server-password", "Portal-pass-1"),
		click("#new-server-form button[type=submit]"),
		until(fmt.Sprintf(`location.hash === "#/server/%s/%s" && !!document.querySelector("#allow-azure")`, rg, e.srv), 15*time.Second),
	)
	e.do("create SQL server "+e.srv, steps...)
}

func (e *portalEnv) createDatabase(name string) {
	e.do("create database "+name,
		click("details > summary"),
		set("#new-db-name", name),
		click("#new-db-form button[type=submit]"),
		until(fmt.Sprintf(`!!document.querySelector('#databases a.export-link[data-db=%q]')`, name), 15*time.Second),
	)
}

// filterHistory shows only exports in the history, then all requests
// again.
func (e *portalEnv) filterHistory() {
	choose := func(value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(s => { s.value = %q; s.dispatchEvent(new Event("change")); })(document.querySelector("#history-type"))`, value))
	}
	types := `[...document.querySelectorAll("#history tbody tr[data-id]")].map(r => r.children[0].textContent).join(",")`
	e.do("filter the history",
		goTo(fmt.Sprintf("#/history/%s/%s", rg, e.srv)),
		until(types+` === "Import,Import,Export"`, 10*time.Second),
		choose("export"),
		until(types+` === "Export"`, 10*time.Second),
		choose(""),
		until(types+` === "Import,Import,Export"`, 10*time.Second),
	)
}

// fillDatabase creates the orders table with its rows.
func (e *portalEnv) fillDatabase(name string) {
	db := e.openDB(name)
	defer db.Close()
	float := "REAL"
	if e.engine == "postgres" {
		float = "double precision"
	}
	values := make([]string, rows)
	for i := range values {
		values[i] = fmt.Sprintf("(%d, 'customer-%03d', %g)", i, i%17, float64(i)*2.5)
	}
	for _, q := range []string{
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount ` + float + `)`,
		`INSERT INTO orders VALUES ` + strings.Join(values, ", "),
	} {
		if _, err := db.Exec(q); err != nil {
			e.t.Fatalf("fill database %s: %v", name, err)
		}
	}
}

func (e *portalEnv) allowAzure() {
	e.do("allow Azure services",
		until(`document.querySelector("#allow-azure").textContent === "No"`, 5*time.Second),
		click("#toggle-allow"),
		until(`document.querySelector("#allow-azure").textContent === "Yes"`, 10*time.Second),
	)
}

// openExport opens the export form of db, with Private Link if isolated.
func (e *portalEnv) openExport(db string, isolated bool) {
	e.do("open the export form",
		goTo(fmt.Sprintf("#/server/%s/%s", rg, e.srv)),
		click(fmt.Sprintf(`#databases a.export-link[data-db=%q]`, db)),
		chromedp.WaitVisible(chromedp.CSS("#export-form")),
		until(`document.querySelector("#storageUri")?.value.includes("/`+acctName+`/bacpacs/")`, 5*time.Second),
	)
	if isolated {
		e.do("choose Private Link",
			click("#usePrivateLink"),
			chromedp.WaitVisible(chromedp.CSS("#pl-fields")),
			until(`document.querySelector("#storageAccountResourceId")?.value.endsWith("/storageAccounts/`+acctName+`")`, 5*time.Second),
		)
	}
}

// startExport submits an export of db from the form and returns the id of
// the operation the history shows on top.
func (e *portalEnv) startExport(db string, isolated bool) string {
	e.openExport(db, isolated)
	e.do("submit the export",
		click("#export-form-submit"),
		until(fmt.Sprintf(`location.hash === "#/history/%s/%s" && !!document.querySelector("#history tbody tr[data-id]")`, rg, e.srv), 15*time.Second),
	)
	return evalIn[string](e, `document.querySelector("#history tbody tr[data-id]").dataset.id`)
}

func historyRow(id string) string {
	return fmt.Sprintf(`document.querySelector('#history tr[data-id=%q]')`, id)
}

// waitHeld waits in the history until an isolated operation holds for
// the approval of its two endpoints.
func (e *portalEnv) waitHeld(id string) {
	row := historyRow(id)
	e.do("see the isolated export held",
		goTo(fmt.Sprintf("#/history/%s/%s", rg, e.srv)),
		until(row+`?.dataset.phase === "waitingForApproval"`, 20*time.Second),
		until(row+`.querySelectorAll(".pe .status-Pending").length === 2`, 10*time.Second),
	)
}

// waitEnded waits in the history until the operation ends, checks it
// ended as want, and returns the row's error text.
func (e *portalEnv) waitEnded(id, want string) string {
	row := historyRow(id)
	e.do("watch the operation end",
		goTo(fmt.Sprintf("#/history/%s/%s", rg, e.srv)),
		until(row+` && `+row+`.dataset.status !== "InProgress"`, 40*time.Second))
	if got := evalIn[string](e, row+`.dataset.status`); got != want {
		e.t.Fatalf("operation %s ended %s, want %s\npage:\n%s", id, got, want, e.pageText())
	}
	return evalIn[string](e, row+`.querySelector(".op-error").textContent`)
}

// export runs an export of db without isolation to completion.
func (e *portalEnv) export(db string) string {
	id := e.startExport(db, false)
	e.waitEnded(id, "Completed")
	return id
}

// approveAll approves n pending connections in the Private Link Center.
func (e *portalEnv) approveAll(n int) {
	e.do("open the Private Link Center",
		navTo("#/privatelink"),
		until(fmt.Sprintf(`document.querySelectorAll("table.pecs tr[data-state=Pending] button.approve").length === %d`, n), 15*time.Second),
	)
	for left := n; left > 0; left-- {
		e.do("approve a connection",
			click("table.pecs tr[data-state=Pending] button.approve"),
			until(fmt.Sprintf(`document.querySelectorAll("table.pecs tr[data-state=Pending]").length === %d`, left-1), 20*time.Second),
		)
	}
}

// decideOnPage approves or rejects (button "approve" or "reject") the
// pending connection of operation id on a resource's own page.
func (e *portalEnv) decideOnPage(page, id, button string) {
	row := fmt.Sprintf(`table.pecs tr[data-id$="/privateEndpointConnections/importexport-%s"]`, id)
	e.do(button+" on "+page,
		goTo(page),
		until(fmt.Sprintf(`!!document.querySelector('%s[data-state=Pending]')`, row), 15*time.Second),
		click(row+" button."+button),
		until(fmt.Sprintf(`!document.querySelector('%s[data-state=Pending]')`, row), 20*time.Second),
	)
}

// openImport opens the form that imports the newest exported package into
// a new database db.
func (e *portalEnv) openImport(db, blobURI string) {
	e.do("open the import form",
		goTo(fmt.Sprintf("#/server/%s/%s", rg, e.srv)),
		click("#import-link"),
		chromedp.WaitVisible(chromedp.CSS("#import-form")),
		until(fmt.Sprintf(`document.querySelector("#storageUri")?.value === %q`, blobURI), 5*time.Second),
		set("#databaseName", db),
		set("#backupStorageRedundancy", "Local"),
	)
}

// submitImport submits the import form and returns the id of the
// operation the history shows on top.
func (e *portalEnv) submitImport() string {
	e.do("submit the import",
		click("#import-form-submit"),
		until(fmt.Sprintf(`location.hash === "#/history/%s/%s" && !!document.querySelector("#history tbody tr[data-id]")`, rg, e.srv), 15*time.Second),
	)
	return evalIn[string](e, `document.querySelector("#history tbody tr[data-id]").dataset.id`)
}

func (e *portalEnv) importNew(db, blobURI string) {
	e.openImport(db, blobURI)
	e.waitEnded(e.submitImport(), "Completed")
	e.checkImported(db)
}

// importExisting creates an empty database from the server page and
// imports the package into it with its "Import into" link.
func (e *portalEnv) importExisting(db, blobURI string) {
	e.createDatabase(db)
	e.do("open the import-into form",
		click(fmt.Sprintf(`#databases a.importinto-link[data-db=%q]`, db)),
		chromedp.WaitVisible(chromedp.CSS("#import-form")),
		until(fmt.Sprintf(`document.querySelector("#storageUri")?.value === %q`, blobURI), 5*time.Second),
	)
	e.waitEnded(e.submitImport(), "Completed")
	e.checkImported(db)
}

// checkImported compares the imported database with the source and looks
// for it on the server page.
func (e *portalEnv) checkImported(db string) {
	var n int
	var sum float64
	conn := e.openDB(db)
	defer conn.Close()
	if err := conn.QueryRow(`SELECT count(*), sum(amount) FROM orders`).Scan(&n, &sum); err != nil {
		e.t.Fatalf("read imported database %s: %v", db, err)
	}
	if want := 2.5 * float64(rows*(rows-1)/2); n != rows || sum != want {
		e.t.Fatalf("imported %d rows summing to %v into %s, want %d summing to %v", n, sum, db, rows, want)
	}
	e.do("see the imported database on the server page",
		goTo(fmt.Sprintf("#/server/%s/%s", rg, e.srv)),
		until(fmt.Sprintf(`!!document.querySelector('#databases a.export-link[data-db=%q]')`, db), 10*time.Second),
	)
}

// isolatedImport imports the package of export over Private Link into a
// new database; while it holds, a Reader signed in to the portal tries to
// approve on the server's page and is refused.
func (e *portalEnv) isolatedImport(export string) {
	st := e.richStatus(export)
	e.openImport("sales_pl", st.BlobURI)
	e.do("choose Private Link",
		click("#usePrivateLink"),
		chromedp.WaitVisible(chromedp.CSS("#pl-fields")),
	)
	id := e.submitImport()
	e.waitHeld(id)

	e.signInAs(e.principal("viewer", "Reader"), "viewer")
	row := fmt.Sprintf(`table.pecs tr[data-id$="/privateEndpointConnections/importexport-%s"]`, id)
	e.do("try to approve as a Reader",
		goTo(fmt.Sprintf("#/server/%s/%s", rg, e.srv)),
		click(row+" button.approve"),
		until(`document.querySelector("#messages .error")?.textContent.startsWith("AuthorizationFailed")`, 10*time.Second),
	)
	e.signInAs(e.token, "admin")

	e.approveAll(2)
	e.waitEnded(id, "Completed")
	e.checkImported("sales_pl")
}
