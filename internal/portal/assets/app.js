// bacport portal: a small single-page app over bacport's HTTP API, the same
// ARM-shaped API the CLI and the Azure SDKs call, with the signed-in user's
// token. Every value from the server is inserted as text, never as HTML.
"use strict";

const API_VERSION = "2026-08-01-preview";
const view = document.getElementById("view");

const state = {
  token: sessionStorage.getItem("bacport.token") || "",
  subscription: sessionStorage.getItem("bacport.subscription") || "",
  who: sessionStorage.getItem("bacport.who") || "",
};

// el builds an element: el("td", {class: "x"}, "text", childNode, …).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) { e.addEventListener(k.slice(2), v); e.bacportListens = true; }
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// stale reports whether the user has moved to another page since this one
// was asked for, so a late answer must not be drawn over it.
function stale() { return state.page !== undefined && location.hash !== state.page; }

// show replaces the page; null and undefined parts are left out.
function show(...nodes) {
  if (stale()) return;
  view.replaceChildren(el("div", { id: "messages" }), ...nodes.flat(Infinity).filter(n => n != null));
}

// redraw brings the page up to date with nodes in place, keeping every
// element that did not change, so that a page refreshing itself never
// replaces a button under the pointer (a click whose press and release
// land on different elements is lost). Messages stay.
function redraw(...nodes) {
  if (stale()) return;
  const next = nodes.flat(Infinity).filter(n => n != null);
  const cur = [...view.childNodes].slice(1);
  if (cur.length !== next.length) {
    view.replaceChildren(view.firstChild, ...next);
    return;
  }
  cur.forEach((c, i) => morph(c, next[i]));
}

// morph makes the node a look like b. An element with listeners is kept
// only when it equals b (its listener then does what b's would: elements
// that act on something carry it in a data- attribute); otherwise it is
// replaced by b.
function morph(a, b) {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return a.replaceWith(b);
  if (a.nodeType !== Node.ELEMENT_NODE) {
    if (a.nodeValue !== b.nodeValue) a.nodeValue = b.nodeValue;
    return;
  }
  if (a.isEqualNode(b)) return;
  if (a.bacportListens || b.bacportListens) return a.replaceWith(b);
  for (const { name } of [...a.attributes]) if (!b.hasAttribute(name)) a.removeAttribute(name);
  for (const { name, value } of [...b.attributes]) if (a.getAttribute(name) !== value) a.setAttribute(name, value);
  if ("value" in b && a.value !== b.value) a.value = b.value; // <progress>
  const ac = [...a.childNodes], bc = [...b.childNodes];
  if (ac.length !== bc.length) return a.replaceChildren(...bc);
  ac.forEach((c, i) => morph(c, bc[i]));
}

function errorBox(err) { return el("p", { class: "error", role: "alert" }, String(err.message || err)); }

// report shows an error above the current page without replacing it.
function report(err) {
  const box = document.getElementById("messages") || view;
  box.replaceChildren(errorBox(err));
  window.scrollTo(0, 0);
}

// ApiError keeps the HTTP status and the ARM error code of a failed call.
class ApiError extends Error {
  constructor(status, code, message) {
    super((code ? code + ": " : "") + message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  let url = path;
  if (/^https?:/i.test(url)) url = new URL(url).pathname + new URL(url).search; // links the API returns
  if (!/[?&]api-version=/.test(url)) url += (url.includes("?") ? "&" : "?") + "api-version=" + API_VERSION;
  const resp = await fetch(url, {
    method,
    headers: Object.assign({ "Authorization": "Bearer " + state.token, "Accept": "application/json" },
      body ? { "Content-Type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!resp.ok) {
    const e = (data && (data.error || data)) || {};
    if (resp.status === 401 && state.token) signOut("Your token was not accepted; sign in again.");
    throw new ApiError(resp.status, e.code || "", e.message || resp.statusText);
  }
  return { data, headers: resp.headers, status: resp.status };
}

// optional answers null instead of failing when this bacport serves no
// such resource (404), so one missing feature does not blank a page.
async function optional(promise) {
  try { return await promise; } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

// table renders rows under columns ({title, cell(row)}); rowAttrs(row), if
// given, returns attributes for a row's <tr> (data-* hooks for scripts).
function table(columns, rows, attrs, rowAttrs) {
  return el("table", attrs || {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", {}, c.title)))),
    el("tbody", {}, rows.length ? rows.map(r => el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map(c => el("td", {}, c.cell(r)))))
      : el("tr", {}, el("td", { colspan: columns.length, class: "note" }, "None."))));
}

const PHASES = {
  queued: "queued", validating: "validating", waitingForApproval: "waiting for approval of its private endpoints",
  schema: "creating the schema", data: "copying data", indexes: "building indexes", verifying: "verifying",
  cleaningUp: "cleaning up", finished: "finished",
};

function phase(p) { return PHASES[p] || p || ""; }

function statusCell(s) { return el("span", { class: "status status-" + String(s || "").replace(/\s/g, "") }, s || ""); }

function when(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (n = Number(n) || 0; n >= 1024 && i < u.length - 1; i++) n /= 1024;
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

// idParts splits an ARM id: /subscriptions/s/resourceGroups/g/providers/P/T/n/…
function idParts(id) {
  const p = String(id).split("/");
  return { sub: p[2], rg: p[4], provider: p[6], type: p[7], name: p[8] };
}

const enc = encodeURIComponent;

// hashOf builds a page address: hashOf("server", rg, name) = "#/server/rg/name".
function hashOf(...parts) { return "#/" + parts.map(enc).join("/"); }

function serverPath(rg, name) {
  return `/subscriptions/${enc(state.subscription)}/resourceGroups/${enc(rg)}/providers/Microsoft.Sql/servers/${enc(name)}`;
}

function accountPath(rg, name) {
  return `/subscriptions/${enc(state.subscription)}/resourceGroups/${enc(rg)}/providers/Microsoft.Storage/storageAccounts/${enc(name)}`;
}

function field(label, input, note) {
  return [el("label", { for: input.id }, label), input, note ? el("p", { class: "note" }, note) : null];
}

// ----- sign-in -----

function signOut(message) {
  for (const k of ["token", "subscription", "who"]) sessionStorage.removeItem("bacport." + k);
  state.token = state.who = "";
  signInView(typeof message === "string" ? message : null);
}

function signInView(message) {
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  const token = el("input", { id: "token", type: "password", autocomplete: "off", required: true });
  const form = el("form", {
    id: "signin-form",
    onsubmit: async (ev) => {
      ev.preventDefault();
      state.token = token.value.trim();
      try {
        const [subs, who] = await Promise.all([api("GET", "/subscriptions"), api("GET", "/bacport/whoami")]);
        const first = subs.data.value && subs.data.value[0];
        if (!first) throw new Error("this token may read no subscription; ask the admin for a role assignment");
        state.subscription = first.subscriptionId;
        state.who = who.data.principal.name;
        sessionStorage.setItem("bacport.token", state.token);
        sessionStorage.setItem("bacport.subscription", state.subscription);
        sessionStorage.setItem("bacport.who", state.who);
        route();
      } catch (err) {
        state.token = "";
        signInView(err);
      }
    },
  },
    field("Access token", token, "bacport serve printed the admin token when it first started; it is also in " +
      "the file named by adminTokenFile in endpoints.json. Other users get tokens from the admin " +
      "(bacport principal create)."),
    el("button", { class: "primary", type: "submit", id: "signin" }, "Sign in"));
  show(el("h1", {}, "Sign in"), message ? errorBox(message) : null, form);
}

// ----- servers and databases -----

async function serversView() {
  const { data } = await api("GET", `/subscriptions/${state.subscription}/providers/Microsoft.Sql/servers`);
  show(el("h1", {}, "SQL servers"), table([
    { title: "Name", cell: s => { const p = idParts(s.id); return el("a", { href: hashOf("server", p.rg, p.name), class: "server-link" }, s.name); } },
    { title: "Resource group", cell: s => idParts(s.id).rg },
    { title: "Engine", cell: s => (s.properties.engine && s.properties.engine.type) || "" },
    { title: "Public network access", cell: s => s.properties.publicNetworkAccess || "" },
    { title: "Cloud", cell: s => s.properties.cloud || "" },
  ], data.value || [], { id: "servers" }), newServerForm());
}

function newServerForm() {
  const name = el("input", { id: "new-server-name", required: true, pattern: "[a-z0-9][a-z0-9-]{0,61}[a-z0-9]|[a-z0-9]" });
  const rg = el("input", { id: "new-server-rg", required: true, value: "default" });
  const login = el("input", { id: "new-server-login", required: true, autocomplete: "off" });
  const password = el("input", { id: "new-server-password", type: "password", required: true, autocomplete: "new-password" });
  const engine = el("select", { id: "new-server-engine" }, ["sqlite", "postgres", "mysql"].map(e => el("option", {}, e)));
  const dsn = el("input", { id: "new-server-dsn", placeholder: "postgres://127.0.0.1:5432/ (empty for SQLite)" });
  return el("details", {}, el("summary", {}, "Create a SQL server"), el("form", {
    id: "new-server-form",
    onsubmit: async ev => {
      ev.preventDefault();
      const body = { location: "local", properties: { administratorLogin: login.value, administratorLoginPassword: password.value } };
      if (engine.value !== "sqlite" || dsn.value) body.properties.engine = { type: engine.value, dsn: dsn.value };
      try {
        await api("PUT", serverPath(rg.value, name.value), body);
        location.hash = hashOf("server", rg.value, name.value);
      } catch (err) { report(err); }
    },
  }, field("Server name", name), field("Resource group", rg),
    field("Administrator login", login), field("Password", password,
      "For PostgreSQL and MySQL, a login the engine accepts; bacport checks it before saving the server."),
    field("Engine", engine), field("Engine address (DSN)", dsn),
    el("button", { class: "primary", type: "submit" }, "Create server")));
}

// allowRules are the firewall rules that let Azure services in (0.0.0.0–0.0.0.0).
function allowRules(rules) {
  return rules.filter(r => r.properties.startIpAddress === "0.0.0.0" && r.properties.endIpAddress === "0.0.0.0");
}

async function serverView(rg, name) {
  const path = serverPath(rg, name);
  const [srv, dbs, rules, pecs] = await Promise.all([
    api("GET", path), api("GET", path + "/databases"), api("GET", path + "/firewallRules"),
    optional(api("GET", path + "/privateEndpointConnections")),
  ]);
  const allow = allowRules(rules.data.value || []);
  const pna = srv.data.properties.publicNetworkAccess || "Enabled";
  const act = fn => async () => {
    try { await fn(); await serverView(rg, name); } catch (err) { report(err); }
  };
  const toggle = el("button", { class: "small", id: "toggle-allow", onclick: act(async () => {
    if (allow.length) for (const r of allow) await api("DELETE", r.id);
    else await api("PUT", path + "/firewallRules/AllowAllWindowsAzureIps", { properties: { startIpAddress: "0.0.0.0", endIpAddress: "0.0.0.0" } });
  }) }, allow.length ? "Turn off" : "Turn on");
  const pnaToggle = el("button", { class: "small", id: "toggle-public", onclick: act(() =>
    api("PATCH", path, { properties: { publicNetworkAccess: pna === "Enabled" ? "Disabled" : "Enabled" } })) },
    pna === "Enabled" ? "Disable" : "Enable");
  const p = srv.data.properties;
  show(
    el("h1", {}, "SQL server ", name),
    el("dl", {},
      el("dt", {}, "Engine"), el("dd", {}, (p.engine && p.engine.type) || "", p.engine && p.engine.dsn ? " — " + p.engine.dsn : ""),
      el("dt", {}, "Administrator login"), el("dd", {}, p.administratorLogin || ""),
      el("dt", {}, "Allow Azure services and resources to access this server"),
      el("dd", {}, el("strong", { id: "allow-azure" }, allow.length ? "Yes" : "No"), " ", toggle),
      el("dt", {}, "Public network access"), el("dd", {}, el("strong", { id: "public-access" }, pna), " ", pnaToggle),
      el("dt", {}, "Cloud"), el("dd", {}, p.cloud || "AzureCloud"),
      el("dt", {}, "Resource ID"), el("dd", { class: "mono" }, srv.data.id)),
    el("p", {}, el("a", { href: hashOf("history", rg, name), id: "history-link" }, "Import/Export History"),
      " · ", el("a", { href: hashOf("import", rg, name), id: "import-link" }, "Import database")),
    el("h2", {}, "Databases"),
    table([
      { title: "Name", cell: d => d.name },
      { title: "Edition", cell: d => (d.sku && (d.sku.tier || d.sku.name)) || "" },
      { title: "Service objective", cell: d => (d.sku && d.sku.name) || "" },
      { title: "Max size", cell: d => d.properties.maxSizeBytes ? bytes(d.properties.maxSizeBytes) : "" },
      { title: "Backup redundancy", cell: d => d.properties.currentBackupStorageRedundancy || "" },
      { title: "Status", cell: d => d.properties.status || "" },
      { title: "", cell: d => [
        el("a", { href: hashOf("export", rg, name, d.name), class: "export-link", "data-db": d.name }, "Export"), " · ",
        el("a", { href: hashOf("importinto", rg, name, d.name), class: "importinto-link", "data-db": d.name }, "Import into"),
      ] },
    ], dbs.data.value || [], { id: "databases" }),
    newDatabaseForm(rg, name, srv.data.location),
    el("h2", {}, "Private endpoint connections"),
    pecs ? pecTable(pecs.data.value || [], () => serverView(rg, name))
      : el("p", { class: "note" }, "This bacport serves no private endpoint connections."),
  );
}

function newDatabaseForm(rg, server, loc) {
  const name = el("input", { id: "new-db-name", required: true });
  return el("details", {}, el("summary", {}, "Create a database"), el("form", {
    id: "new-db-form",
    onsubmit: async ev => {
      ev.preventDefault();
      try {
        await api("PUT", serverPath(rg, server) + "/databases/" + encodeURIComponent(name.value), { location: loc || "local" });
        await serverView(rg, server);
      } catch (err) { report(err); }
    },
  }, field("Database name", name), el("button", { class: "primary", type: "submit" }, "Create database")));
}

// ----- private endpoint connections -----

function pecState(c) { return (c.properties.privateLinkServiceConnectionState || {}).status || ""; }

function pecTable(list, refresh) {
  return table([
    { title: "Connection", cell: c => c.name },
    { title: "Resource", cell: c => { const p = idParts(c.id); return `${p.type === "storageAccounts" ? "Storage account" : "SQL server"} ${p.name}`; } },
    { title: "Operation", cell: c => c.properties.operationId ? el("a", { href: hashOf("operation", c.properties.operationId) }, "details") : "" },
    { title: "State", cell: c => statusCell(pecState(c)) },
    { title: "Description", cell: c => (c.properties.privateLinkServiceConnectionState || {}).description || "" },
    { title: "", cell: c => {
      const s = pecState(c);
      return [
        s === "Pending" ? el("button", { class: "small approve", "data-id": c.id, onclick: () => decide(c.id, "Approved", refresh) }, "Approve") : null,
        s === "Pending" || s === "Approved" ? el("button", { class: "small reject", "data-id": c.id, onclick: () => decide(c.id, "Rejected", refresh) }, "Reject") : null,
      ];
    } },
  ], list, { class: "pecs" }, c => ({ "data-id": c.id, "data-state": pecState(c) }));
}

// decide approves or rejects a connection. The SQL PUT is a long-running
// operation (202 and an Azure-AsyncOperation link); the Storage PUT
// answers at once.
async function decide(id, status, refresh) {
  try {
    const desc = status + " by " + (state.who || "a portal user") + " in the bacport portal";
    const r = await api("PUT", id, { properties: { privateLinkServiceConnectionState: { status, description: desc } } });
    const link = r.status === 202 && (r.headers.get("Azure-AsyncOperation") || r.headers.get("Location"));
    for (let i = 0; link && i < 240; i++) {
      const s = await api("GET", link);
      if (s.status === 200 && (!s.data || !s.data.status || /^(succeeded|failed|canceled)$/i.test(s.data.status))) {
        if (s.data && s.data.error) throw new Error(s.data.error.message || s.data.status);
        break;
      }
      await new Promise(res => setTimeout(res, 250));
    }
    await refresh();
  } catch (err) { report(err); }
}

// privateLinkCenterView lists the pending connections the caller may act
// on, and looks again every 2 s.
async function privateLinkCenterView(refreshing) {
  const hash = location.hash;
  const list = await optional(api("GET", `/subscriptions/${enc(state.subscription)}/providers/Bacport/privateEndpointConnections?status=Pending`));
  (refreshing ? redraw : show)(el("h1", {}, "Private Link Center"),
    el("p", { class: "note" }, "Private endpoints that isolated import and export jobs asked for, on the SQL servers " +
      "and storage accounts you may approve. A job runs once both of its endpoints are approved; rejecting either fails it."),
    list ? pecTable(list.data.value || [], () => privateLinkCenterView())
      : el("p", { class: "note" }, "This bacport serves no private endpoint connections."));
  if (list) refreshWhile("plc", hash, 2000, () => privateLinkCenterView(true));
}

// ----- import / export forms -----

// transferFields builds the storage, credential and private-link fields an
// export and an import share.
function transferFields(rg, server, accounts, defaultBlob) {
  const f = {
    account: el("select", { id: "storageAccount" }, el("option", { value: "" }, "(another location: enter the URI)"),
      accounts.map(a => el("option", { value: a.id }, a.name))),
    storageUri: el("input", { id: "storageUri", required: true, placeholder: "https://host/account/container/file.bacpac" }),
    storageKeyType: el("select", { id: "storageKeyType" }, el("option", {}, "StorageAccessKey"), el("option", {}, "SharedAccessKey")),
    storageKey: el("input", { id: "storageKey", type: "password", autocomplete: "off" }),
    login: el("input", { id: "administratorLogin", autocomplete: "off" }),
    password: el("input", { id: "administratorLoginPassword", type: "password", autocomplete: "off" }),
    usePL: el("input", { id: "usePrivateLink", type: "checkbox" }),
    storageAccountId: el("input", { id: "storageAccountResourceId", placeholder: "/subscriptions/…/storageAccounts/…" }),
    sqlServerId: el("input", { id: "sqlServerResourceId", value: serverPath(rg, server) }),
  };
  const byID = id => accounts.find(a => a.id === id);
  f.account.addEventListener("change", () => {
    const a = byID(f.account.value);
    if (!a) return;
    const ep = (a.properties.primaryEndpoints || {}).blob || "";
    f.storageUri.value = ep + defaultBlob;
    f.storageAccountId.value = a.id;
  });
  // A typed or picked URI selects the account that serves it, whose key
  // and resource ID the request then uses.
  f.storageUri.addEventListener("change", () => {
    const uri = f.storageUri.value.toLowerCase();
    const a = accounts.find(a => {
      const ep = ((a.properties.primaryEndpoints || {}).blob || "").toLowerCase();
      return ep && uri.startsWith(ep);
    });
    f.account.value = a ? a.id : "";
    if (a) f.storageAccountId.value = a.id;
  });
  if (accounts.length) { f.account.value = accounts[0].id; f.account.dispatchEvent(new Event("change")); }
  const plBox = el("div", { class: "pl-fields", id: "pl-fields", hidden: true },
    field("Storage account resource ID", f.storageAccountId),
    field("SQL server resource ID", f.sqlServerId));
  f.usePL.addEventListener("change", () => { plBox.hidden = !f.usePL.checked; });
  f.nodes = [
    field("Storage account", f.account),
    field("Storage URI", f.storageUri, "The blob URL of the .bacpac file."),
    field("Storage key type", f.storageKeyType),
    field("Storage key or SAS token", f.storageKey, "Leave empty to use the chosen account's key1."),
    field("Server admin login", f.login),
    field("Password", f.password, "Leave both empty to use the server's stored administrator credentials."),
    el("label", { class: "check" }, f.usePL, " Use Private Link"),
    el("p", { class: "note" }, "The job gets private endpoints to the SQL server and the storage account and " +
      "waits until the owners of both approve them (Private Link Center)."),
    plBox,
  ];
  // body builds the request, fetching the account key when none was typed.
  f.body = async () => {
    let key = f.storageKey.value;
    if (!key && f.account.value && f.storageKeyType.value === "StorageAccessKey") {
      const { data } = await api("POST", f.account.value + "/listKeys");
      key = ((data.keys || [])[0] || {}).value || "";
    }
    const b = { storageUri: f.storageUri.value, storageKeyType: f.storageKeyType.value, storageKey: key,
      administratorLogin: f.login.value, administratorLoginPassword: f.password.value, authenticationType: "Sql" };
    if (f.usePL.checked) b.networkIsolation = { storageAccountResourceId: f.storageAccountId.value, sqlServerResourceId: f.sqlServerId.value };
    return b;
  };
  return f;
}

async function storageAccounts() {
  const { data } = await api("GET", `/subscriptions/${state.subscription}/providers/Microsoft.Storage/storageAccounts`);
  return data.value || [];
}

function stamp() { return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, ""); }

// transferForm shows a form and submits it to path, then opens the history.
function transferForm(id, title, extra, f, path, rg, server, label) {
  const button = el("button", { class: "primary", type: "submit", id: id + "-submit" }, label);
  show(el("h1", {}, title), el("form", { id, onsubmit: async ev => {
    ev.preventDefault();
    button.disabled = true;
    try {
      const body = Object.assign(await f.body(), extra ? extra() : {});
      await api("POST", path, body);
      location.hash = hashOf("history", rg, server);
    } catch (err) { report(err); button.disabled = false; }
  } }, extra ? extra.nodes : null, f.nodes, button));
}

async function exportView(rg, server, db) {
  const f = transferFields(rg, server, await storageAccounts(), `bacpacs/${db}-${stamp()}.bacpac`);
  transferForm("export-form", `Export database ${db}`, null, f,
    serverPath(rg, server) + `/databases/${encodeURIComponent(db)}/export`, rg, server, "Export");
}

// recentPackages lists the blobs of the server's completed exports, newest
// first, so an import can pick one instead of typing its URL.
async function recentPackages(rg, server) {
  const h = await optional(api("GET", serverPath(rg, server) + "/importExportHistory?type=export&status=Completed&top=20"));
  const uris = ((h && h.data.value) || []).map(x => x.properties.blobUri).filter(Boolean);
  return [...new Set(uris)];
}

async function importView(rg, server, into) {
  const [accounts, recent] = await Promise.all([storageAccounts(), recentPackages(rg, server)]);
  const f = transferFields(rg, server, accounts, "bacpacs/");
  if (recent.length) {
    f.storageUri.setAttribute("list", "recent-packages");
    f.storageUri.value = recent[0];
    f.storageUri.dispatchEvent(new Event("change"));
    f.nodes.push(el("datalist", { id: "recent-packages" }, recent.map(u => el("option", { value: u }))));
  }
  if (into) {
    return transferForm("import-form", `Import into the empty database ${into}`, null, f,
      serverPath(rg, server) + `/databases/${encodeURIComponent(into)}/import`, rg, server, "Import");
  }
  const name = el("input", { id: "databaseName", required: true });
  const edition = el("select", { id: "edition" }, el("option", { value: "" }, "(from the service objective)"),
    ["GeneralPurpose", "BusinessCritical", "Hyperscale", "Standard", "Premium", "Basic"].map(e => el("option", {}, e)));
  const objective = el("input", { id: "serviceObjectiveName", placeholder: "GP_Gen5_2" });
  const maxSize = el("input", { id: "maxSizeBytes", type: "number", min: "1", placeholder: "34359738368" });
  const redundancy = el("select", { id: "backupStorageRedundancy" }, ["Geo", "Local", "Zone", "GeoZone"].map(e => el("option", {}, e)));
  const extra = () => {
    const b = { databaseName: name.value, edition: edition.value, serviceObjectiveName: objective.value,
      requestedBackupStorageRedundancy: redundancy.value };
    if (maxSize.value) b.maxSizeBytes = maxSize.value;
    return b;
  };
  extra.nodes = [field("New database name", name), field("Edition", edition),
    field("Service objective", objective), field("Max size (bytes)", maxSize),
    field("Backup storage redundancy", redundancy, "Any redundancy works over Private Link too.")];
  transferForm("import-form", `Import a new database into ${server}`, extra, f,
    serverPath(rg, server) + "/import", rg, server, "Import");
}

// ----- history and operations -----

// refreshWhile re-renders a page every ms while its hash stays current.
function refreshWhile(key, hash, ms, fn) {
  clearTimeout(refreshWhile[key]);
  refreshWhile[key] = setTimeout(() => {
    if (location.hash !== hash) return;
    // A failed refresh (the server restarting, say) shows the error and
    // tries again, more slowly.
    fn().catch(err => { report(err); refreshWhile(key, hash, Math.min(ms * 2, 15000), fn); });
  }, ms);
}

async function cancelOp(id, refresh) {
  try { await api("POST", `/bacport/operations/${id}/cancel`); await refresh(); } catch (err) { report(err); }
}

function endpointsCell(list) {
  return (list || []).map(p => el("div", { class: "pe" }, idParts(p.privateLinkServiceId).name + ": ", statusCell(p.status)));
}

// historyFilter is what the history of one server shows; it is kept
// while the page refreshes and forgotten for another server.
const historyFilter = { server: "", status: "", type: "", top: 100 };

// filterSelect is a select whose change sets historyFilter[key].
function filterSelect(id, key, options, refresh) {
  return el("select", { id, "data-value": historyFilter[key], onchange: ev => { historyFilter[key] = ev.target.value; refresh(); } },
    options.map(([value, label]) => el("option", { value, selected: historyFilter[key] === value }, label)));
}

async function historyView(rg, server, refreshing) {
  const hash = location.hash;
  if (historyFilter.server !== rg + "/" + server) Object.assign(historyFilter, { server: rg + "/" + server, status: "", type: "", top: 100 });
  const q = new URLSearchParams({ top: String(historyFilter.top) });
  if (historyFilter.status) q.set("status", historyFilter.status);
  if (historyFilter.type) q.set("type", historyFilter.type);
  const { data } = await api("GET", serverPath(rg, server) + "/importExportHistory?" + q);
  const refresh = () => historyView(rg, server);
  const rows = data.value || [];
  (refreshing ? redraw : show)(el("h1", {}, `Import/Export History — ${server}`),
    el("p", { class: "note" }, "Every request, newest first; this page refreshes itself."),
    el("div", { class: "filters" },
      el("label", { for: "history-status" }, "Status"),
      filterSelect("history-status", "status", [["", "All"], ["InProgress", "In progress"], ["Completed", "Completed"],
        ["Failed", "Failed"], ["Cancelled", "Cancelled"]], refresh),
      el("label", { for: "history-type" }, "Type"),
      filterSelect("history-type", "type", [["", "All"], ["export", "Export"], ["importNew", "Import (new database)"],
        ["importExisting", "Import (existing database)"]], refresh)),
    table([
      { title: "Type", cell: h => h.properties.requestType },
      { title: "Database", cell: h => h.properties.databaseName },
      { title: "Status", cell: h => [statusCell(h.properties.status),
        h.properties.status === "InProgress" && h.properties.phase ? el("div", { class: "note phase" }, phase(h.properties.phase)) : null] },
      { title: "Requested by", cell: h => h.properties.requestedBy || "" },
      { title: "Queued", cell: h => when(h.properties.queuedTime) },
      { title: "Last modified", cell: h => when(h.properties.lastModifiedTime) },
      { title: "Private endpoints", cell: h => endpointsCell(h.properties.privateEndpointConnections) },
      { title: "Storage URI", cell: h => el("span", { class: "mono" }, h.properties.blobUri || "") },
      { title: "Error", cell: h => el("span", { class: "op-error" }, h.properties.errorMessage || "") },
      { title: "", cell: h => [
        el("a", { href: hashOf("operation", h.properties.requestId), class: "details-link" }, "Details"),
        h.properties.status === "InProgress" ? el("button", { class: "small cancel", "data-op": h.properties.requestId, onclick: () => cancelOp(h.properties.requestId, refresh) }, "Cancel") : null,
      ] },
    ], rows, { id: "history" },
    h => ({ "data-id": h.properties.requestId, "data-status": h.properties.status, "data-phase": h.properties.phase || "" })),
    data.nextLink && historyFilter.top < 1000 ? el("button", { class: "small", id: "history-more",
      onclick: () => { historyFilter.top = Math.min(historyFilter.top + 100, 1000); refresh(); } }, "Show older requests") : null);
  refreshWhile("history", hash, 1500, () => historyView(rg, server, true));
}

async function operationView(id, refreshing) {
  const hash = location.hash;
  const { data: op } = await api("GET", `/bacport/operations/${id}`);
  const [{ data: hist }, conns] = await Promise.all([api("GET", `/bacport/operations/${id}/history`),
    optional(api("GET", `/bacport/operations/${id}/privateEndpointConnections`))]);
  const done = ["Succeeded", "Failed", "Cancelled", "Canceled"].includes(op.status);
  const srv = idParts(op.serverId);
  (refreshing ? redraw : show)(el("h1", {}, `${op.requestType} of ${op.databaseName}`),
    el("p", {}, el("a", { href: hashOf("history", srv.rg, srv.name) }, "Import/Export History of " + srv.name)),
    el("dl", {},
      el("dt", {}, "Status"), el("dd", {}, statusCell(op.status), op.phase ? " — " + phase(op.phase) : "",
        op.cancelRequested && !done ? el("span", { id: "cancel-requested" }, " (cancel requested)") : null,
        op.queuePosition ? el("span", { id: "queue-position" }, ` (position ${op.queuePosition} in the queue)`) : null,
        op.stalled ? el("span", { id: "stalled", class: "error" }, ` (no progress since ${when(op.lastProgressTime)}: stalled?)`) : null),
      el("dt", {}, "Progress"), el("dd", {}, el("progress", { max: "100", value: String(op.percent || 0) }),
        ` ${(op.percent || 0).toFixed(1)} % · ${op.rows} rows · ${bytes(op.bytes)}`,
        op.bytesPerSecond ? ` · ${bytes(op.bytesPerSecond)}/s` : "", op.etaSeconds ? ` · about ${Math.ceil(op.etaSeconds)} s left` : ""),
      el("dt", {}, "Storage URI"), el("dd", { class: "mono" }, op.blobUri),
      el("dt", {}, "Requested by"), el("dd", {}, op.requestedBy),
      el("dt", {}, "Queued / started / finished"), el("dd", {}, [op.queuedTime, op.startedTime, op.finishedTime].map(when).join(" / ")),
      op.error ? [el("dt", {}, "Error"), el("dd", { class: "error" }, (op.error.code ? op.error.code + ": " : "") + op.error.message)] : null),
    done || op.cancelRequested ? null : el("button", { class: "small cancel", "data-op": id, onclick: () => cancelOp(id, () => operationView(id)) }, "Cancel"),
    el("h2", {}, "Private endpoints"), conns ? table([
      { title: "Connection", cell: p => p.name },
      { title: "Resource", cell: p => el("span", { class: "mono" }, p.privateLinkServiceId) },
      { title: "State", cell: p => [statusCell(p.status), p.decidedBy ? ` by ${p.decidedBy}` : ""] },
      { title: "Created / deleted", cell: p => [when(p.createdTime), p.deletedTime ? " / " + when(p.deletedTime) : ""] },
      { title: "Through it", cell: p => p.traffic ? trafficText(p.traffic) : "" },
    ], conns.data.value || [], { id: "op-endpoints" }) : table([
      { title: "Connection", cell: p => p.privateEndpointConnectionName },
      { title: "Resource", cell: p => el("span", { class: "mono" }, p.privateLinkServiceId) },
      { title: "State", cell: p => statusCell(p.status) },
    ], op.privateEndpointConnections || []),
    el("h2", {}, "Tables"), table([
      { title: "Table", cell: t => t.name },
      { title: "Rows", cell: t => t.rows },
      { title: "Bytes", cell: t => bytes(t.bytes) },
      { title: "Done", cell: t => t.done ? "yes" : "" },
    ], op.tables || []),
    el("h2", {}, "Events"), table([
      { title: "Time", cell: e => when(e.time) },
      { title: "Event", cell: e => e.event },
      { title: "Status", cell: e => statusCell(e.status) },
      { title: "Detail", cell: e => [e.message || "", e.principal ? ` (${e.principal})` : ""] },
    ], (hist && hist.value) || []));
  if (!done) refreshWhile("operation", hash, 1000, () => operationView(id, true));
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

function trafficText(t) {
  const parts = [];
  if (t.connections) parts.push(plural(t.connections, "connection", "connections"));
  if (t.opens) parts.push(plural(t.opens, "file opened", "files opened"));
  if (t.bytesIn || t.bytesOut) parts.push(`${bytes(t.bytesIn)} in, ${bytes(t.bytesOut)} out`);
  if (t.refused) parts.push(`${t.refused} refused`);
  return parts.join(" · ");
}

// ----- storage -----

async function storageView() {
  const accounts = await storageAccounts();
  const name = el("input", { id: "new-account-name", required: true, pattern: "[a-z0-9]{3,24}" });
  const rg = el("input", { id: "new-account-rg", required: true, value: "default" });
  show(el("h1", {}, "Storage accounts"), table([
    { title: "Name", cell: a => el("a", { href: hashOf("account", idParts(a.id).rg, a.name), class: "account-link" }, a.name) },
    { title: "Resource group", cell: a => idParts(a.id).rg },
    { title: "Mode", cell: a => a.properties.mode || "" },
    { title: "Blob endpoint", cell: a => el("span", { class: "mono" }, (a.properties.primaryEndpoints || {}).blob || "") },
  ], accounts, { id: "accounts" }),
  el("details", {}, el("summary", {}, "Create an embedded storage account"), el("form", {
    id: "new-account-form",
    onsubmit: async ev => {
      ev.preventDefault();
      try {
        await api("PUT", accountPath(rg.value, name.value), { location: "local", kind: "StorageV2", sku: { name: "Standard_LRS" } });
        await storageView();
      } catch (err) { report(err); }
    },
  }, field("Account name", name, "3–24 lower-case letters and digits."), field("Resource group", rg),
    el("button", { class: "primary", type: "submit" }, "Create account"))));
}

async function accountView(rg, name) {
  const path = accountPath(rg, name);
  const [acct, pecs] = await Promise.all([api("GET", path), optional(api("GET", path + "/privateEndpointConnections"))]);
  const p = acct.data.properties;
  const acl = p.networkAcls || {};
  const setAcl = change => async () => {
    try {
      await api("PATCH", path, { properties: { networkAcls: Object.assign({}, acl, change) } });
      await accountView(rg, name);
    } catch (err) { report(err); }
  };
  const trusted = /AzureServices/i.test(acl.bypass || "");
  show(el("h1", {}, `Storage account ${name}`),
    el("dl", {},
      el("dt", {}, "Blob endpoint"), el("dd", { class: "mono" }, (p.primaryEndpoints || {}).blob || ""),
      el("dt", {}, "Mode"), el("dd", {}, p.mode || ""),
      el("dt", {}, "Default network action"), el("dd", {}, el("strong", { id: "default-action" }, acl.defaultAction || "Allow"), " ",
        el("button", { class: "small", id: "toggle-default-action", onclick: setAcl({ defaultAction: acl.defaultAction === "Deny" ? "Allow" : "Deny" }) },
          acl.defaultAction === "Deny" ? "Allow all networks" : "Deny by default")),
      el("dt", {}, "Trusted Azure services may bypass the rules"), el("dd", {}, el("strong", { id: "bypass" }, trusted ? "Yes" : "No"), " ",
        el("button", { class: "small", id: "toggle-bypass", onclick: setAcl({ bypass: trusted ? "None" : "AzureServices" }) }, trusted ? "Turn off" : "Turn on")),
      el("dt", {}, "Cloud"), el("dd", {}, p.cloud || "AzureCloud"),
      el("dt", {}, "Resource ID"), el("dd", { class: "mono" }, acct.data.id)),
    el("h2", {}, "Private endpoint connections"),
    pecs ? pecTable(pecs.data.value || [], () => accountView(rg, name))
      : el("p", { class: "note" }, "This bacport serves no private endpoint connections."));
}

// ----- routing -----

// route shows the page the address names. When it is drawn, #view's
// data-route holds the address (scripts and tests wait for it).
async function route() {
  const hash = location.hash;
  state.page = hash;
  delete view.dataset.route;
  if (!state.token) return signInView();
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = state.who ? "Signed in as " + state.who : "";
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    await showPage(parts);
  } catch (err) {
    if (state.token) show(errorBox(err));
  }
  if (location.hash === hash) view.dataset.route = hash;
}

// showPage draws the page of an address's parts.
async function showPage(parts) {
  switch (parts[0]) {
    case "server": return serverView(parts[1], parts[2]);
    case "history": return historyView(parts[1], parts[2]);
    case "operation": return operationView(parts[1]);
    case "export": return exportView(parts[1], parts[2], parts[3]);
    case "import": return importView(parts[1], parts[2]);
    case "importinto": return importView(parts[1], parts[2], parts[3]);
    case "privatelink": return privateLinkCenterView();
    case "storage": return storageView();
    case "account": return accountView(parts[1], parts[2]);
    default: return serversView();
  }
}

document.getElementById("signout").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
route();
