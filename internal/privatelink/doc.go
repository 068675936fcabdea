// Package privatelink gives isolated import/export jobs their private
// endpoints: one to the database server and one to the storage account,
// created Pending for each job, approved or rejected by the owners of those
// resources, and deleted when the job ends.
//
// Service is the lifecycle. It is the job runner's Admitter (a request is
// refused before anything is recorded when it can never run), Gate (an
// isolated job is held, without a worker or an attempt, until both of its
// connections are approved; a rejection, a deletion or the approval
// timeout fails it) and Router (the job's engine and storage connections
// are dialled only through the gateway). Connections are kept in their own
// tables of the state database; a deleted connection keeps its row with
// its final state and traffic, which GET /bacport/operations/{id}/
// privateEndpointConnections shows. Register adds the SQL and Storage
// privateEndpointConnections APIs and the Private Link Center to the API.
//
// An endpoint is a real data path, not a flag. While it is approved the
// Gateway listens for it on a loopback port and forwards each connection to
// the resource; the job's Dialer reaches the resource only through that
// listener. Before approval there is no route, and rejecting or deleting the
// endpoint closes the listener and cuts every live connection, so a transfer
// in flight stops at once. The embedded SQLite engine has no network
// address; for it the endpoint gates the opening of database files instead
// (OpenFile), and the same counters count its opens. Since an open file
// cannot be cut, a rejection also stops the job itself: an export through
// jobs.Task.Stop, an import by cutting its storage route, so that its reads
// fail and it aborts, removing what it loaded. A refused dial tells the
// Azure SDK's retry policy not to retry, so a cut job fails in moments.
//
// Network rules for jobs that do not use isolation (the allow-Azure-services
// firewall rule, public network access, storage network rules) are checked by
// CheckAccess when the request arrives and again when its job starts.
//
// # Limitations
//
//   - Gateway routes live in the process that serves the API and runs the
//     jobs: with several bacport processes sharing one state database, an
//     approval made through one process opens the route in that process;
//     the process that runs the job opens it on its next hold check, but a
//     rejection cuts live connections only in the process that received it
//     (the job still fails at its next connection, which the other
//     process's gateway refuses once it re-reads the state).
//   - When the server connection of a running import is rejected or
//     deleted, its route stays open until the import has removed what it
//     loaded (at most 30 s): the cleanup needs the server. The data stops at
//     once, since the import's storage route is cut: the import is stopped by
//     cutting that route rather than by cancelling its context, so its
//     cleanup can still reach the server.
//   - A connection the service deleted still answers GET, in its final
//     state, for ten minutes: the SDK's poller of a rejection makes its final
//     GET after the rejected job has already ended and deleted it. Lists
//     and the Private Link Center show only live connections.
//   - The SQL PUT and DELETE apply the change before answering 202; their
//     polling links report success at once.
//   - The names of the managed private endpoints (privateEndpoint.id) are
//     bacport's own: Microsoft.Network/privateEndpoints/importexport-{op}-sql
//     and -blob in the operation's resource group; no Network resource
//     exists behind them.
//   - A PostgreSQL DSN that names a Unix socket has no TCP address to
//     forward to; isolated jobs need TCP engine addresses.
package privatelink
