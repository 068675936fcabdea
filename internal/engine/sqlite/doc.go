// Package sqlite is the SQLite engine (modernc.org/sqlite, pure Go).
//
// # Servers and databases
//
// A SQL server bound to SQLite is a directory of database files, one per
// database: with Config.Database set, the DSN "sqlite:///srv" names the
// directory and the database is "/srv/<name>.sqlite"; without, the DSN
// names the file itself. SQLite has no logins: bacport checks the
// administrator login and password before calling the driver, which only
// opens files — each after asking Config.OpenFile, the private-link gate.
// A missing directory is ErrUnreachable, a missing file ErrNoDatabase.
//
// # Export
//
// The schema comes from sqlite_master and the table_xinfo, index_list,
// index_xinfo and foreign_key_list pragmas; check constraints,
// generated-column expressions and constraint names come from the CREATE
// TABLE text. Tables whose name has the form "schema.name" are exported in
// that schema; all others are in dbo. Views, triggers and expression
// indexes become model objects, which imports list as skipped.
//
// A rowid table whose rowids span more than SplitRows is read in rowid
// ranges (BETWEEN bounds from the snapshot's min and max rowid), four per
// snapshot connection, on every connection that is free or becomes free
// while ranges are left.
//
// All tables are read from one snapshot. The export switches the database
// to WAL journal mode (a persistent change) and begins a read transaction
// on each of up to four connections while briefly holding the write lock,
// so every connection starts at the same point of the log; writers then
// carry on without blocking the export and without tearing it. A database
// whose file is read-only is read in one transaction on one connection.
//
// Every column is described by its declared type and its exact declared
// type is kept in the bacport_source_type property ("sqlite:VARCHAR(20)"):
//
//	declared type (SQLite)                     SQL Server type
//	TINYINT / SMALLINT, INT2                   tinyint / smallint
//	INT, MEDIUMINT, INT4                       int
//	INTEGER, BIGINT, INT8, other *INT*         bigint (an INTEGER PRIMARY KEY
//	                                           is an identity(1,1) column)
//	BIT, BOOL, BOOLEAN                         bit (values 0 and 1)
//	REAL, DOUBLE, FLOAT, other *REAL/FLOA/DOUB* float(53)
//	FLOAT(p), p ≤ 24                           real
//	DECIMAL(p,s), NUMERIC(p,s) (also _TEXT)    decimal(p,s), numeric(p,s)
//	MONEY, MONEY_TEXT / SMALLMONEY             money / smallmoney
//	CHAR(n), VARCHAR(n), NVARCHAR(n), …        nvarchar(n) (n > 4000: max)
//	TEXT, CLOB, JSON, VARCHAR, other *CHAR/TEXT* nvarchar(max)
//	NTEXT / XML                                ntext / xml
//	BLOB, VARBINARY, BINARY(n), VARBINARY(n)   varbinary(n or max)
//	IMAGE / ROWVERSION                         image / binary(8)
//	GEOGRAPHY, GEOMETRY, HIERARCHYID           the same CLR type, as bytes
//	DATE / TIME(n) / SMALLDATETIME             date / time(n, default 7) / smalldatetime
//	DATETIME, TIMESTAMP / DATETIME2(n)         datetime2(7) / datetime2(n)
//	DATETIMEOFFSET(n)                          datetimeoffset(n, default 7)
//	UUID, GUID, UNIQUEIDENTIFIER               uniqueidentifier
//	no type, bare NUMERIC/DECIMAL, SQL_VARIANT sql_variant
//
// CHAR(n) is not mapped to nchar(n) because SQLite does not pad: the value
// 'A' in a CHAR(4) column would come back as 'A   '.
//
// SQLite is dynamically typed, so a column may hold values that do not
// fit its declared type. bacport never guesses: such a value fails the
// export with a *engine.ValueError naming table, column and row. Accepted
// are exactly the values of the type's own form — integers in range for
// the integer types; 0 and 1 for bit; integers, reals and decimal text
// with at most the column's scale and precision for decimals; integers
// with an exact float value for floats; text for text types (integers and
// reals, which NUMERIC-affinity columns such as XML or JSON may hold, are
// written as SQLite's own text form of them), within the declared length;
// blobs for binary types; ISO-8601 text ("YYYY-MM-DD HH:MM:SS.fffffff",
// "T" allowed, "±HH:MM" or "Z" only for datetimeoffset) for date and time
// types, within the declared fractional digits; 36-character text or a
// 16-byte blob for uniqueidentifier. A column with no declared type, or a
// bare NUMERIC/DECIMAL, holds anything and is exported as sql_variant:
// integers as bigint, reals as float, text as nvarchar (at most 4,000
// characters) and blobs as varbinary (at most 8,000 bytes), so its storage
// classes survive the round trip.
//
// # Import
//
// A new database file is created (ErrDatabaseExists if it exists, decided
// atomically with O_EXCL) and loaded without journal or fsync, since a
// failure deletes it; an existing one must hold no tables, views, indexes
// or triggers (ErrNotEmpty). Tables from SQLite are recreated with their
// exact declared types, defaults, checks, generated columns, AUTOINCREMENT,
// WITHOUT ROWID and STRICT. Other tables get the mapped declared type:
//
//	SQL Server                        SQLite declared type
//	tinyint, smallint, int, bigint    the same name (an identity primary
//	                                  key: INTEGER PRIMARY KEY AUTOINCREMENT)
//	bit, smallmoney, date, time(n),   the same name (with its facets)
//	datetime2(n), datetimeoffset(n),
//	smalldatetime, datetime,
//	uniqueidentifier, char(n),
//	nchar(n), varchar(n), nvarchar(n),
//	binary(n), varbinary(n), text,
//	ntext, xml, image, geography,
//	geometry, hierarchyid, sql_variant
//	decimal(p,s), numeric(p,s)        DECIMAL(p,s) for p ≤ 15, else DECIMAL_TEXT(p,s)
//	money                             MONEY_TEXT
//	real / float                      FLOAT(24) / FLOAT
//	(max) character types             VARCHAR, NVARCHAR
//	varbinary(max)                    BLOB
//	rowversion, timestamp             ROWVERSION
//
// Decimals need care: SQLite's NUMERIC affinity turns decimal text into a
// REAL that keeps 15 significant digits, so wider decimals (and money)
// get a declared type containing TEXT, whose affinity stores the exact
// decimal text. Values are stored as: integers and bit as INTEGER (bit 0
// or 1); decimals as their text (which narrow columns turn into INTEGER or
// REAL); floats as REAL (NaN cannot be stored: SQLite makes it NULL, so it
// fails the import); dates and times as ISO-8601 text with the column's
// fractional digits ("2024-01-31 12:00:00.1234567", datetimeoffset with
// "+05:30", datetime with 3 digits as SQL Server shows it); uuids as
// upper-case text; sql_variant as its SQL Server serialization in a BLOB.
// SQLite does not enforce declared lengths, but the import does: a string
// (counted in UTF-16 code units, as SQL Server does) or binary longer than
// its char/varchar/binary column fails the load with an *engine.ValueError
// naming table, column and row, as the export would refuse it later.
//
// SQLite cannot add a primary key, unique, foreign key or check
// constraint to an existing table, so these are created inline with the
// table; rows are loaded with foreign_keys off (tables load in any order)
// by a prepared INSERT in transactions of 100,000 rows; indexes are built
// after the load, and then pragma foreign_key_check must find nothing.
// Identity values need no step: SQLite numbers an INTEGER PRIMARY KEY past
// the largest key.
//
// Not carried from SQL Server, and listed in the import report: check
// constraints, computed columns and filtered-index predicates written in
// T-SQL (SQLite would evaluate them differently or not at all; filters
// SQLite accepts are kept), defaults other than literals and the current
// time (getdate() and friends become CURRENT_TIMESTAMP, which is UTC),
// identity on a column that is not a single-column primary key, and index
// INCLUDE columns. Collations are not carried: SQLite compares text by
// bytes.
//
// Abort deletes a database file the import created, or drops every table,
// view and trigger from an existing one, leaving it empty.
//
// # Shortcomings
//
// The text form of date and time values is normalized on a round trip
// ("2024-01-01T10:00" comes back as "2024-01-01 10:00:00"), and a UUID
// stored as a blob or as lower-case text comes back as upper-case text;
// the values are equal. A large WITHOUT ROWID table (or one with a column
// named rowid) is read by one connection rather than in ranges. The
// export's switch to WAL mode stays on the file.
package sqlite
