// Package privatelink gives isolated import/export jobs their private
// endpoints: one to the database server and one to the storage account,
// created Pending for each job, approved or rejected by the owners of those
// resources, and deleted when the job ends.
//
// An endpoint is a real data path, not a flag. While it is approved the
// Gateway listens for it on a loopback port and forwards each connection to
// the resource; the job's Dialer reaches the resource only through that
// listener. Before approval there is no route, and rejecting or deleting the
// endpoint closes the listener and cuts every live connection, so a transfer
// in flight stops at once. The embedded SQLite engine has no network
// address; for it the endpoint gates the opening of database files instead
// (OpenFile), and the same counters count its opens.
//
// Network rules for jobs that do not use isolation (the allow-Azure-services
// firewall rule, public network access, storage network rules) are checked by
// CheckAccess before any work starts.
package privatelink
