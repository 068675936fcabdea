// Package bacpac reads and writes BACPAC packages: the OPC zip that
// SqlPackage and the Azure SQL Import/Export service produce, holding a
// schema model (model.xml), package metadata (Origin.xml, DacMetadata.xml)
// and each table's rows in SQL Server's native BCP format.
//
// The package uses only the standard library and a fast deflate; it does no
// logging and no network I/O. A Reader works over an io.ReaderAt, so a
// package in blob storage is read with ranged reads and never downloaded
// whole; rows stream one at a time.
//
// # Reading
//
// Open (or OpenFile) reads the zip's central directory, Origin.xml and
// model.xml, and fails with ErrChecksum when model.xml does not hash to the
// checksum Origin.xml records. Package.Rows streams one table's rows across
// its parts in (range, sub-file) order, decoded (Next, Values) or as the
// stored bytes of each value for a consumer that transcodes them itself
// (NextRaw, RawValues, Decode; raw.go); Package.Verify decodes everything and
// checks the row total against Origin.xml. A value that does not decode is a
// *DataError naming the part and the byte offset. The zip reader rejects
// unsafe entry names, overlapping entries and sizes no deflate stream can
// have, and checks every entry's size and CRC-32 as it is read.
//
// Known shortcomings of the reader:
//   - The data framing of types no real package has shown is not known:
//     json and vector (SQL Server 2025) columns are refused with an error,
//     and user-defined CLR types are assumed to be framed like geography.
//   - sql_variant values keep SQL Server's serialization; Variant.Value
//     decodes char and varchar inside a variant as Windows-1252 whatever the
//     collation says.
//   - Origin.xml carries only a total row count, so a part that holds an
//     extra whole row is caught only by that total (Verify), not per table.
//   - Only the JSON-free "Data 2.0.0.0" stream format is read; the older
//     JSON data files are not.
//   - Memory is bounded per row, not per value: a row's values are held
//     whole, so a 500 MiB varbinary(max) value takes 500 MiB. A lying length
//     costs only the bytes really present (values grow as data arrives), but
//     a genuine huge value cannot be streamed. The 64 MiB bound measured by
//     TestBigPackage (BACPORT_BIG=1) is for rows of ordinary size.
//   - model.xml is parsed into memory, scripts included, so memory grows
//     with the size of model.xml (nesting is capped at 64 levels). There is
//     no size cap: a model inflated to gigabytes is read as far as memory
//     allows.
//
// # Writing
//
// NewWriter starts a package on any io.Writer and writes it strictly
// sequentially in the classic DacFx layout (model.xml, DacMetadata.xml,
// [Content_Types].xml, the data parts, _rels/.rels, Origin.xml), so the
// output may be an upload stream. Writer.Table returns a TableWriter per
// table; tables can be written concurrently. Each table's consecutive parts
// are compressed by several goroutines (WriterOptions.PartWorkers), each
// into its own spool file, so one large table also uses several cores; a
// finished part (WriterOptions.PartSize) is copied into the package under a
// lock, and a table's parts always enter the zip in part order. Spool files
// take up to PartWorkers compressed parts of disk per open table, and are
// removed on every path (Close, a failure, Abort). TableWriter.WriteRow
// checks every value's Go type and range against its column and encodes the
// framing the column's nullability in model.xml calls for.
//
// Known shortcomings of the writer:
//   - Nothing it writes has yet been imported by SqlPackage; the layout
//     follows the real packages described in the format note.
//   - Only schemas, alias types and tables (columns, keys, defaults,
//     checks, foreign keys, indexes, extended properties) are written to
//     model.xml; Model.Objects (views, procedures, users, …) are not.
//   - Non-default identity seeds and increments are written as IdentitySeed
//     and IdentityIncrement properties, names taken from the DacFx API but
//     never seen in a real package.
//   - char and varchar lengths are checked in UTF-16 code units, not in the
//     bytes of the column's code page.
//   - Parts are split by size, not by clustered-key range; a table's parts
//     past the 1,000th continue in the second part number
//     (TableData-999-00001.BCP, …).
//   - Origin.xml names bacport as the product and the source engine as the
//     server version; SourceDatabaseSize is the uncompressed data size in
//     KB, not the source database's size.
//   - Origin.xml has no DataPhaseTables (DacFx 162 writes it; whether import
//     uses it is unknown), and model.xml is built whole in memory.
//   - Each open TableWriter holds 3*PartWorkers+1 row buffers of 260 KiB
//     and PartWorkers deflate states, and spools up to PartWorkers
//     compressed parts on disk; with many tables open at once, lower
//     PartWorkers. On the 2-core development machine the gain of more than
//     one part compressor per table was lost in the noise of other work
//     (BenchmarkWrite_PartWorkers); it helps when one large table is
//     written on an otherwise idle multi-core host.
package bacpac
