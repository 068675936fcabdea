// bacport portal: a small single-page app over bacport's HTTP API. Every
// value from the server is inserted as text, never as HTML.
"use strict";

const API_VERSION = "2026-08-01-preview";
const view = document.getElementById("view");

const state = {
  token: sessionStorage.getItem("bacport.token") || "",
  subscription: sessionStorage.getItem("bacport.subscription") || "",
};

// el builds an element: el("td", {class: "x"}, "text", childNode, …).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function show(...nodes) { view.replaceChildren(...nodes); }

function errorBox(err) { return el("p", { class: "error", role: "alert" }, String(err.message || err)); }

async function api(method, path, body) {
  const sep = path.includes("?") ? "&" : "?";
  const url = path.includes("api-version=") ? path : path + sep + "api-version=" + API_VERSION;
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
    if (resp.status === 401) signOut();
    throw new Error((e.code ? e.code + ": " : "") + (e.message || resp.statusText));
  }
  return { data, headers: resp.headers, status: resp.status };
}

function table(columns, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", {}, c.title)))),
    el("tbody", {}, rows.length ? rows.map(r => el("tr", {}, columns.map(c => el("td", {}, c.cell(r)))))
      : el("tr", {}, el("td", { colspan: columns.length, class: "note" }, "None."))));
}

function statusCell(s) { return el("span", { class: "status-" + String(s || "").replace(/\s/g, "") }, s || ""); }

// parse "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/n" → {rg, name}
function idParts(id) {
  const p = id.split("/");
  return { sub: p[2], rg: p[4], name: p[8] };
}

function serverPath(rg, name) {
  return `/subscriptions/${state.subscription}/resourceGroups/${rg}/providers/Microsoft.Sql/servers/${name}`;
}

// ----- sign-in -----

function signOut() {
  sessionStorage.removeItem("bacport.token");
  state.token = "";
  route();
}

function signInView(message) {
  const token = el("input", { id: "token", type: "password", autocomplete: "off" });
  const form = el("form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      state.token = token.value.trim();
      try {
        const { data } = await api("GET", "/subscriptions");
        state.subscription = (data.value && data.value[0] && data.value[0].subscriptionId) || "";
        sessionStorage.setItem("bacport.token", state.token);
        sessionStorage.setItem("bacport.subscription", state.subscription);
        route();
      } catch (err) {
        state.token = "";
        signInView(err);
      }
    },
  },
    el("label", { for: "token" }, "Access token"),
    token,
    el("p", { class: "note" }, "bacport serve printed the admin token when it first started; it is also in the admin token file named in endpoints.json."),
    el("button", { class: "primary", type: "submit", id: "signin" }, "Sign in"));
  show(el("h1", {}, "Sign in"), message ? errorBox(message) : null, form);
}

// ----- servers -----

async function serversView() {
  const { data } = await api("GET", `/subscriptions/${state.subscription}/providers/Microsoft.Sql/servers`);
  show(el("h1", {}, "SQL servers"), table([
    { title: "Name", cell: s => { const p = idParts(s.id); return el("a", { href: `#/server/${p.rg}/${p.name}` }, s.name); } },
    { title: "Resource group", cell: s => idParts(s.id).rg },
    { title: "Engine", cell: s => (s.properties.engine && s.properties.engine.type) || "sqlite" },
    { title: "Public network access", cell: s => s.properties.publicNetworkAccess || "" },
  ], data.value || []));
}

async function serverView(rg, name) {
  const path = serverPath(rg, name);
  const [srv, dbs, rules, pecs] = await Promise.all([
    api("GET", path), api("GET", path + "/databases"), api("GET", path + "/firewallRules"),
    api("GET", path + "/privateEndpointConnections"),
  ]);
  const allow = (rules.data.value || []).some(r => r.properties.startIpAddress === "0.0.0.0" && r.properties.endIpAddress === "0.0.0.0");
  const toggle = el("button", { class: "small", id: "toggle-allow", onclick: async () => {
    const rule = path + "/firewallRules/AllowAllWindowsAzureIps";
    try {
      if (allow) await api("DELETE", rule);
      else await api("PUT", rule, { properties: { startIpAddress: "0.0.0.0", endIpAddress: "0.0.0.0" } });
      serverView(rg, name);
    } catch (err) { view.prepend(errorBox(err)); }
  } }, allow ? "Turn off" : "Turn on");
  show(
    el("h1", {}, "SQL server ", name),
    el("p", {}, "Allow Azure services and resources to access this server: ", el("strong", {}, allow ? "Yes" : "No"), " ", toggle),
    el("p", {}, "Public network access: ", srv.data.properties.publicNetworkAccess || "Enabled"),
    el("p", {}, el("a", { href: `#/history/${rg}/${name}`, id: "history-link" }, "Import/Export History"),
      " · ", el("a", { href: `#/import/${rg}/${name}`, id: "import-link" }, "Import database")),
    el("h2", {}, "Databases"),
    table([
      { title: "Name", cell: d => d.name },
      { title: "Edition", cell: d => (d.sku && (d.sku.tier || d.sku.name)) || "" },
      { title: "Status", cell: d => d.properties.status || "" },
      { title: "", cell: d => el("a", { href: `#/export/${rg}/${name}/${d.name}`, class: "export-link" }, "Export") },
    ], dbs.data.value || []),
    el("h2", {}, "Private endpoint connections"),
    pecTable(pecs.data.value || [], () => serverView(rg, name)),
  );
}

// ----- private endpoint connections -----

function pecTable(list, refresh) {
  return table([
    { title: "Connection", cell: c => c.name },
    { title: "Resource", cell: c => c.id.split("/privateEndpointConnections/")[0].split("/").slice(-1)[0] },
    { title: "State", cell: c => statusCell(c.properties.privateLinkServiceConnectionState.status) },
    { title: "Description", cell: c => c.properties.privateLinkServiceConnectionState.description || "" },
    { title: "", cell: c => c.properties.privateLinkServiceConnectionState.status === "Pending" ? [
      el("button", { class: "small approve", onclick: () => decide(c.id, "Approved", refresh) }, "Approve"),
      el("button", { class: "small reject", onclick: () => decide(c.id, "Rejected", refresh) }, "Reject"),
    ] : "" },
  ], list);
}

async function decide(id, status, refresh) {
  try {
    const body = { properties: { privateLinkServiceConnectionState: { status, description: status + " in the bacport portal" } } };
    const r = await api("PUT", id, body);
    const async = r.headers.get("Azure-AsyncOperation");
    for (let i = 0; async && i < 120; i++) {
      const s = await api("GET", async);
      if (/^(succeeded|failed|canceled)$/i.test(s.data.status)) break;
      await new Promise(res => setTimeout(res, 250));
    }
    refresh();
  } catch (err) { view.prepend(errorBox(err)); }
}

async function privateLinkCenterView() {
  const { data } = await api("GET", `/subscriptions/${state.subscription}/providers/Bacport/privateEndpointConnections?status=Pending`);
  show(el("h1", {}, "Private Link Center"),
    el("p", { class: "note" }, "Pending private endpoint connections on the servers and storage accounts you may approve."),
    pecTable(data.value || [], privateLinkCenterView));
}

// ----- import / export forms -----

function transferFields(withPL) {
  const f = {
    storageUri: el("input", { id: "storageUri", required: true, placeholder: "https://host/account/container/file.bacpac" }),
    storageKeyType: el("select", { id: "storageKeyType" }, el("option", {}, "StorageAccessKey"), el("option", {}, "SharedAccessKey")),
    storageKey: el("input", { id: "storageKey", type: "password", required: true, autocomplete: "off" }),
    login: el("input", { id: "administratorLogin", required: true }),
    password: el("input", { id: "administratorLoginPassword", type: "password", autocomplete: "off" }),
    usePL: el("input", { id: "usePrivateLink", type: "checkbox" }),
    storageAccountId: el("input", { id: "storageAccountResourceId", placeholder: "/subscriptions/…/storageAccounts/…" }),
    sqlServerId: el("input", { id: "sqlServerResourceId", value: withPL || "" }),
  };
  const plBox = el("div", { class: "pl-fields", hidden: true },
    el("label", { for: "storageAccountResourceId" }, "Storage account resource ID"), f.storageAccountId,
    el("label", { for: "sqlServerResourceId" }, "SQL server resource ID"), f.sqlServerId);
  f.usePL.addEventListener("change", () => { plBox.hidden = !f.usePL.checked; });
  f.nodes = [
    el("label", { for: "storageUri" }, "Storage URI"), f.storageUri,
    el("label", { for: "storageKeyType" }, "Storage key type"), f.storageKeyType,
    el("label", { for: "storageKey" }, "Storage key or SAS"), f.storageKey,
    el("label", { for: "administratorLogin" }, "Server admin login"), f.login,
    el("label", { for: "administratorLoginPassword" }, "Password"), f.password,
    el("label", {}, f.usePL, " Use Private Link"), plBox,
  ];
  f.body = () => {
    const b = { storageUri: f.storageUri.value, storageKeyType: f.storageKeyType.value, storageKey: f.storageKey.value,
      administratorLogin: f.login.value, administratorLoginPassword: f.password.value, authenticationType: "Sql" };
    if (f.usePL.checked) b.networkIsolation = { storageAccountResourceId: f.storageAccountId.value, sqlServerResourceId: f.sqlServerId.value };
    return b;
  };
  return f;
}

async function submitTransfer(path, body, rg, server) {
  try {
    await api("POST", path, body);
    location.hash = `#/history/${rg}/${server}`;
  } catch (err) { view.prepend(errorBox(err)); }
}

function exportView(rg, server, db) {
  const f = transferFields(serverPath(rg, server));
  show(el("h1", {}, `Export database ${db}`), el("form", { id: "export-form", onsubmit: ev => {
    ev.preventDefault();
    submitTransfer(serverPath(rg, server) + `/databases/${db}/export`, f.body(), rg, server);
  } }, f.nodes, el("button", { class: "primary", type: "submit" }, "Export")));
}

function importView(rg, server) {
  const f = transferFields(serverPath(rg, server));
  const name = el("input", { id: "databaseName", required: true });
  const edition = el("select", { id: "edition" }, ["GeneralPurpose", "BusinessCritical", "Hyperscale", "Standard", "Premium", "Basic"].map(e => el("option", {}, e)));
  const objective = el("input", { id: "serviceObjectiveName", value: "GP_Gen5_2" });
  const redundancy = el("select", { id: "backupStorageRedundancy" }, ["Geo", "Local", "Zone", "GeoZone"].map(e => el("option", {}, e)));
  show(el("h1", {}, `Import database into ${server}`), el("form", { id: "import-form", onsubmit: ev => {
    ev.preventDefault();
    const b = Object.assign(f.body(), { databaseName: name.value, edition: edition.value,
      serviceObjectiveName: objective.value, requestedBackupStorageRedundancy: redundancy.value });
    submitTransfer(serverPath(rg, server) + "/import", b, rg, server);
  } }, el("label", { for: "databaseName" }, "Database name"), name,
    el("label", { for: "edition" }, "Edition"), edition,
    el("label", { for: "serviceObjectiveName" }, "Service objective"), objective,
    el("label", { for: "backupStorageRedundancy" }, "Backup storage redundancy"), redundancy,
    f.nodes, el("button", { class: "primary", type: "submit" }, "Import")));
}

// ----- history -----

async function historyView(rg, server) {
  const { data } = await api("GET", serverPath(rg, server) + "/importExportHistory?top=100");
  show(el("h1", {}, `Import/Export History — ${server}`), table([
    { title: "Type", cell: h => h.properties.requestType },
    { title: "Database", cell: h => h.properties.databaseName },
    { title: "Status", cell: h => statusCell(h.properties.status) },
    { title: "Queued", cell: h => h.properties.queuedTime },
    { title: "Last modified", cell: h => h.properties.lastModifiedTime },
    { title: "Private endpoints", cell: h => (h.properties.privateEndpointConnections || []).map(p => el("div", {}, p.privateEndpointConnectionName + ": ", statusCell(p.status))) },
    { title: "Error", cell: h => h.properties.errorMessage || "" },
  ], data.value || []));
  clearTimeout(historyView.timer);
  historyView.timer = setTimeout(() => { if (location.hash === `#/history/${rg}/${server}`) historyView(rg, server); }, 2000);
}

// ----- storage -----

async function storageView() {
  const { data } = await api("GET", `/subscriptions/${state.subscription}/providers/Microsoft.Storage/storageAccounts`);
  show(el("h1", {}, "Storage accounts"), table([
    { title: "Name", cell: a => a.name },
    { title: "Resource group", cell: a => idParts(a.id).rg },
    { title: "Blob endpoint", cell: a => (a.properties.primaryEndpoints || {}).blob || "" },
    { title: "", cell: a => el("a", { href: `#/account/${idParts(a.id).rg}/${a.name}` }, "Private endpoint connections") },
  ], data.value || []));
}

async function accountView(rg, name) {
  const path = `/subscriptions/${state.subscription}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/${name}`;
  const { data } = await api("GET", path + "/privateEndpointConnections");
  show(el("h1", {}, `Storage account ${name}`), el("h2", {}, "Private endpoint connections"),
    pecTable(data.value || [], () => accountView(rg, name)));
}

// ----- routing -----

async function route() {
  const signedIn = !!state.token;
  document.getElementById("signout").hidden = !signedIn;
  if (!signedIn) return signInView();
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    switch (parts[0]) {
      case "server": return await serverView(parts[1], parts[2]);
      case "history": return await historyView(parts[1], parts[2]);
      case "export": return exportView(parts[1], parts[2], parts[3]);
      case "import": return importView(parts[1], parts[2]);
      case "privatelink": return await privateLinkCenterView();
      case "storage": return await storageView();
      case "account": return await accountView(parts[1], parts[2]);
      default: return await serversView();
    }
  } catch (err) {
    show(errorBox(err));
  }
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
