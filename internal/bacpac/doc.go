// Package bacpac reads and writes BACPAC packages: the OPC zip that
// SqlPackage and the Azure SQL Import/Export service produce, holding a
// schema model (model.xml), package metadata (Origin.xml, DacMetadata.xml)
// and each table's rows in SQL Server's native BCP format.
//
// The package uses only the standard library and a fast deflate; it does no
// logging and no network I/O. A Reader works over an io.ReaderAt, so a
// package in blob storage is read with ranged reads and never downloaded
// whole; rows stream one at a time.
package bacpac
