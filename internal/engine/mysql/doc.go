// Package mysql is bacport's MySQL/MariaDB engine: it exports a live
// database to the BACPAC model and rows, and imports a package into a new
// or empty database. It talks to the server with go-sql-driver/mysql and
// registers itself for the DSN schemes mysql:// and mariadb://.
//
// # Connecting
//
// The DSN is mysql://user:password@host:port/db?param=value; Config.Login,
// Password and Database replace the DSN's. Parameters: parallel=N (reading
// connections and concurrent loads, default the number of cores),
// datetimeoffset=utc|strict and fraction=truncate|strict (the lossy
// mappings below; lossy=true or engine.Config.Lossy turns both on), tls=…
// (passed to the driver). Errors wrap engine.ErrAuth (1044, 1045, 1698), engine.ErrNoDatabase (1049)
// and engine.ErrUnreachable; the password never appears in them.
//
// # Export
//
// OpenSource takes FLUSH TABLES WITH READ LOCK on one connection, starts a
// REPEATABLE READ consistent-snapshot transaction on each reading
// connection, and releases the lock at once (as mydumper does), so tables
// read in parallel all see one moment while writers pause only for that
// instant. Without the RELOAD privilege the export reads through a single
// snapshot connection. Each table is one unbuffered SELECT over the text
// protocol, parsed cell by cell from its exact text (integers and floats
// as the driver parsed them). A table larger than Driver.SplitBytes
// (DefaultSplitBytes, by information_schema's DATA_LENGTH) whose primary
// key is one integer column is read in Driver.SplitParts key ranges
// (BETWEEN bounds from the snapshot's MIN and MAX; 4 per connection by
// default) on every snapshot connection that is free or becomes free while
// ranges are left; an even split of the key span, so gaps in the keys make
// some ranges smaller. Reads go through a 256 KiB buffer per connection.
//
// Every column records its exact MySQL type (with character set and
// collation) as "mysql:<type>", plus its default and ON UPDATE clause, and
// each table its index and check definitions, so a MySQL-to-MySQL import
// is exact. MySQL → SQL Server:
//
//	tinyint / tinyint unsigned        smallint / tinyint
//	smallint / smallint unsigned      smallint / int
//	mediumint (signed or not), int    int
//	int unsigned, bigint              bigint
//	bigint unsigned                   decimal(20,0)
//	decimal(p,s), p ≤ 38              decimal(p,s)
//	decimal(p,s), p > 38              varchar(p+2), the exact text
//	float / double, real              real / float(53)
//	bit(1) / bit(n)                   bit / binary(⌈n/8⌉), big-endian
//	char(n)                           nchar(n)
//	varchar(n), enum, set             nvarchar(n) (n > 4000: nvarchar(max))
//	tinytext … longtext, json         nvarchar(max)
//	binary(n) / varbinary(n)          binary(n) / varbinary(n or max)
//	blob types, spatial types         varbinary(max) (spatial: WKB bytes)
//	date                              date (a zero date fails the export)
//	datetime(n)                       datetime2(n)
//	timestamp(n)                      datetimeoffset(n), in UTC (+00:00)
//	time(n)                           time(n); values outside 00:00–24:00
//	                                  fail the export
//	year                              smallint
//	uuid, inet4, inet6 (MariaDB)      uniqueidentifier, varchar(15), varchar(45)
//
// AUTO_INCREMENT columns become identity(1,1) columns. A check is
// described in T-SQL only when it uses column names, literals,
// comparisons, arithmetic, AND/OR/NOT, IS NULL, IN, LIKE and BETWEEN;
// others (functions, REGEXP) stay in the table's properties, so a MySQL
// import restores them, and the source lists them as omitted
// (engine.Omitter) so the export report says other engines lose them.
//
// # Import
//
// OpenTarget creates the database (utf8mb4) or checks that an existing one
// has no tables. CreateTables creates each table with its primary key,
// unique keys, indexes and checks inline (InnoDB stores rows in key order,
// so a key added later would rebuild the table); Load encodes rows as
// LOAD DATA LOCAL INFILE text in chunks of 64 Ki rows or 4 MiB, each loaded
// in its own transaction, up to two chunks of a table at once on separate
// connections, with several tables at once; Finish adds the foreign keys and moves each
// AUTO_INCREMENT past the loaded maximum. Every connection runs in strict
// sql_mode, and any warning from a load fails it, so nothing is silently
// truncated. SQL Server → MySQL, for columns that did not come from MySQL:
//
//	tinyint                           tinyint unsigned
//	smallint, int, bigint             smallint, int, bigint
//	bit                               bit(1)
//	decimal(p,s), numeric(p,s)        decimal(p,s)
//	money / smallmoney                decimal(19,4) / decimal(10,4)
//	real, float(n ≤ 24) / float       float / double
//	date                              date
//	time(n)                           time(min(n,6))
//	datetime2(n), datetimeoffset(n)   datetime(min(n,6)); datetimeoffset is
//	                                  lossy, see below
//	datetime / smalldatetime          datetime(3) / datetime
//	uniqueidentifier                  char(36) ascii (not MariaDB's uuid,
//	                                  which refuses NEWSEQUENTIALID values)
//	char(n), nchar(n), n ≤ 255        char(n)
//	varchar(n), nvarchar(n), longer   varchar(n); a row over MySQL's 65,535
//	char types                        bytes moves the widest to mediumtext,
//	                                  the length still checked on load
//	(max), text, ntext, xml           longtext
//	binary(n) / varbinary(n)          binary(n) (n > 255: varbinary(n)) /
//	                                  varbinary(n)
//	varbinary(max), image, geography, longblob (SQL Server's serialization)
//	geometry, sql_variant
//	hierarchyid / rowversion          varbinary(892) / binary(8)
//
// Values are checked before they are sent: an integer out of range, a
// decimal with more digits than the column, a string or binary longer than
// the column (characters for text, bytes for binary), a time with more
// fractional digits than the column fail the load with an
// *engine.ValueError naming table, column and row.
//
// Lossy mappings, refused unless chosen: a datetimeoffset with a non-zero
// offset is stored as its UTC instant and the offset is dropped
// (datetimeoffset=utc); the 100-nanosecond digit of time(7), datetime2(7)
// and datetimeoffset(7) values is dropped, as MySQL keeps microseconds
// (fraction=truncate). engine.Config.Lossy chooses both.
//
// T-SQL defaults and check constraints are translated for the common
// shapes (literals, getdate() and friends, comparisons, AND/OR, IN, LIKE,
// IS NULL); computed columns, filtered indexes, INCLUDE columns, ON DELETE
// SET DEFAULT foreign keys, and whatever the server refuses are reported
// as engine.Skipped with the reason. Abort drops a database the import
// created, or drops every table of an existing one.
//
// # Limitations
//
//   - A large table without a single-column integer primary key is read by
//     one SELECT on one connection (tables are still read in parallel).
//   - MySQL has no schemas: tables of every schema land in one database; a
//     name used in two schemas becomes schema_name outside dbo.
//   - MySQL keeps no trailing blanks in CHAR values: an export reads them
//     padded to the column length (sql_mode PAD_CHAR_TO_FULL_LENGTH, as
//     SQL Server's nchar(n) holds them), so 'ab ' and 'ab' both come out as
//     'ab' padded. Servers without that mode return them unpadded.
//   - Collations are not carried from SQL Server: utf8mb4's default
//     collation decides comparisons and uniqueness.
package mysql
