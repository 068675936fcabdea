// Package postgres is the PostgreSQL engine driver: it exports a live
// database to the engine model at one consistent snapshot and imports a
// model into a new or empty database. It uses pgx (github.com/jackc/pgx/v5)
// and registers itself for the DSN schemes postgres:// and postgresql://.
//
// # Connecting
//
// The DSN is a pgx URL, postgres://user@host:port/db?sslmode=…;
// engine.Config.Login and Password replace its user and password, and
// Config.Database replaces its database. Config.Dial, when set, makes every
// connection (the host name is passed to it unresolved). Errors wrap
// engine.ErrAuth (SQLSTATE 28P01 wrong password, 28000 unknown role or
// refused by pg_hba), engine.ErrNoDatabase (3D000) and engine.ErrUnreachable
// (no PostgreSQL answered); the password never appears in them. CREATE and
// DROP DATABASE and the database list go through the maintenance database
// "postgres".
//
// # Export
//
// OpenSource begins a REPEATABLE READ READ ONLY transaction and exports its
// snapshot (pg_export_snapshot); every connection that reads rows imports
// it with SET TRANSACTION SNAPSHOT, so tables read in parallel, and the
// ranges of one large table, all see the same moment. The schema comes from
// pg_catalog in that snapshot: every ordinary and partitioned table outside
// pg_catalog, information_schema and extensions (partitions are read
// through their parent; a parent's rows are read with ONLY, so inherited
// children are not counted twice). The schema public becomes dbo unless
// the database also has a schema named dbo; imports map dbo back to public.
//
// Rows are read with COPY (SELECT …) TO STDOUT (FORMAT binary) and the
// binary tuples are decoded here, straight from the protocol messages,
// into the row value types of package bacpac. Types without a binary
// decoder below are selected as ::text. A table whose heap is larger than
// Driver.SplitBytes (DefaultSplitBytes) is read in Driver.SplitParts block
// ranges (ctid ranges, PostgreSQL 14 and later) over as many connections at
// once; block ranges need no index and each range is a sequential scan of
// its own part of the heap.
//
// Every column records its exact type (format_type, with search_path at
// pg_catalog so user types are schema-qualified) in
// bacpac.SourceTypeProperty as "postgres:<type>", and more in extended
// properties: PropDefault (the exact default), PropIdentity (ALWAYS or BY
// DEFAULT), PropEnumType and PropEnum (an enum's labels, so the type can be
// created), PropDomain (the domain a column used; its base type is what is
// recorded and restored) and PropGenerated. Each table records every
// constraint (pg_get_constraintdef) and index (pg_get_indexdef) under
// PropConstraintPrefix/PropIndexPrefix + name. An import into PostgreSQL
// uses these to restore the schema exactly; other engines use the SQL
// Server description.
//
// PostgreSQL → SQL Server (export):
//
//	smallint, integer, bigint       smallint, int, bigint
//	oid                             bigint
//	numeric(p,s)                    decimal(p,s); p over 38 clamps to 38, a
//	                                negative scale s widens to decimal(p-s,0)
//	numeric (no typmod)             decimal(38,10): a value with more than 10
//	                                fractional digits or 28 integer digits
//	                                fails the export (ValueError); values
//	                                come back at scale 10 (1.5 → 1.5000000000)
//	numeric NaN, ±Infinity          fail the export (ValueError)
//	money                           money (read as numeric; the lc_monetary
//	                                of the server decides its fraction)
//	real, double precision          real, float(53); NaN and ±Infinity are
//	                                passed on, and the package writer refuses
//	                                them because SQL Server floats hold none
//	                                (a lossy export writes NULL instead)
//	text, json, unbounded varchar   nvarchar(max)
//	jsonb                           nvarchar(max) (the jsonb text form)
//	varchar(n), char(n)             nvarchar(n), nchar(n); n over 4000 →
//	                                nvarchar(max); char values keep padding
//	name, "char"                    nvarchar(63), nchar(1)
//	bytea                           varbinary(max)
//	boolean                         bit
//	date                            date; ±infinity and years outside
//	                                1–9999 fail the export
//	time(n)                         time(n) (n defaults to 6)
//	timetz                          nvarchar(32), the text form (12:34:56+05:30)
//	timestamp(n)                    datetime2(n), same limits as date
//	timestamptz(n)                  datetimeoffset(n), in UTC (+00:00)
//	interval                        nvarchar(64), ISO 8601 form (P1Y2M3DT4H)
//	uuid                            uniqueidentifier
//	xml                             xml
//	enum                            nvarchar(longest label)
//	arrays                          nvarchar(max), the array's text form
//	inet, cidr, macaddr, macaddr8   nvarchar(43), (43), (17), (23)
//	anything else (bit, ranges,     nvarchar(max), the type's text form
//	geometric, tsvector, …)
//
// Serial columns (a nextval default on the sequence the column owns) and
// identity columns become identity columns with the sequence's start and
// increment. Defaults are translated to T-SQL where they are literals,
// now()/CURRENT_TIMESTAMP/CURRENT_DATE or gen_random_uuid(); the exact
// default is always kept in PropDefault. Check constraints and
// partial-index predicates are translated when they use column references,
// literals, comparisons, AND/OR/NOT, IS NULL, LIKE, IN lists and a few
// functions; others stay only in the table's properties. Primary keys are
// described as clustered. Expression indexes and non-btree indexes are
// carried only in the properties. Everything carried only in properties
// (untranslated checks and predicates, such indexes, exclusion
// constraints) is listed by the source's Omitted method (engine.Omitter),
// so the export report names what other engines will not receive.
//
// # Import
//
// OpenTarget creates the database (UTF8, from template0) or checks that an
// existing one has no tables. CreateTables creates schemas, enum types and
// tables with NOT NULL and identity; Load streams rows through COPY FROM
// STDIN, encoded here in binary COPY form (text form for a table with a
// column type that has no binary encoder here, such as interval or
// arrays). An import uses LoadRaw, which writes the common types (integers,
// bit, floats, decimals that fit 64 bits, dates and timestamps, uuid, ASCII
// text, binary) into binary COPY straight from the package's stored bytes
// (transcode.go), and decodes only the other values; Finish adds primary keys, unique constraints, indexes, checks
// and defaults (four tables at once), then foreign keys, then moves every
// identity and serial sequence past the loaded maximum. Loads of several
// tables run on separate connections (at most 8).
//
// A table exported from PostgreSQL (every source type is "postgres:…") is
// recreated from its exact types and properties; a type missing on the
// target (an extension's type, say) falls back to the mapping below and is
// reported as skipped. Other tables use the reverse mapping:
//
//	bit                             boolean
//	tinyint, smallint               smallint
//	int, bigint                     integer, bigint
//	decimal(p,s), numeric(p,s)      numeric(p,s)
//	money, smallmoney               numeric(19,4), numeric(10,4)
//	real, float(n≤24), float        real, real, double precision
//	date                            date
//	time(n)                         time(min(n,6))
//	datetime2(n)                    timestamp(min(n,6))
//	datetime, smalldatetime         timestamp(3), timestamp(0)
//	datetimeoffset(n)               timestamptz(min(n,6))  (lossy, see below)
//	char(n), nchar(n)               character(n)
//	varchar(n), nvarchar(n)         character varying(n)
//	(max), text, ntext, sysname     text
//	xml                             xml
//	uniqueidentifier                uuid
//	binary, varbinary, image,       bytea
//	rowversion, timestamp,
//	geography, geometry,
//	hierarchyid, sql_variant        bytea (SQL Server's own serialization)
//
// Every value is checked before it is sent: an integer out of the column's
// range, a decimal that needs more digits or fractional digits than
// numeric(p,s) has, a string longer than varchar(n)/char(n) (counted in
// characters) or holding a NUL, fail the load with an *engine.ValueError
// naming table, column and row. Values the server itself rejects in COPY
// (invalid JSON, say) are reported the same way from the server's line
// number.
//
// Lossy mappings, refused unless engine.Config.Lossy, the DSN parameter
// lossy=true (bacport's own; removed before connecting) or Driver.Lossy is
// set: a datetimeoffset with a non-zero offset into timestamptz (the
// instant is kept, the offset is not), and time/datetime2/datetimeoffset
// values with 100 ns digits into PostgreSQL's microseconds (the last digit
// is dropped, so 23:59:59.9999999 stays within the day). Without it the
// first such value fails the import with an *engine.ValueError naming
// table, column and row.
//
// T-SQL defaults, check constraints, filtered-index predicates and computed
// columns are translated for the common shapes: bracketed names, N'…'
// strings, numbers, comparisons, AND/OR/NOT, IS [NOT] NULL, LIKE, IN,
// getdate()/sysdatetime() (LOCALTIMESTAMP for timestamp columns, now()
// otherwise), getutcdate(), sysdatetimeoffset(), newid() and
// newsequentialid() (gen_random_uuid()), isnull, len, datalength,
// CONVERT([date],getdate()), and bit comparisons with 0/1 (false/true).
// Computed columns become stored generated columns typed by the server.
// Whatever does not translate, or what PostgreSQL rejects, is returned by
// Finish as engine.Skipped with the reason; keys, indexes and foreign keys
// over a computed column that could not be created are skipped too.
//
// Abort drops the database if OpenTarget created it (DROP DATABASE … WITH
// (FORCE)); otherwise it drops the tables, enum types and schemas the
// import created, leaving the database empty again.
//
// # Limitations
//
//   - Index and constraint names longer than 63 bytes are shortened (a
//     prefix and a hash); a name that collides within a schema (SQL Server
//     index names are per table) is retried with the table name in front.
//     Table and column names longer than 63 bytes are truncated by
//     PostgreSQL itself.
//   - SQL Server collations are not carried: PostgreSQL compares with the
//     database's deterministic collation, so case-insensitive uniqueness is
//     not enforced. A descending key column in a primary key or unique
//     constraint becomes ascending (PostgreSQL constraints have no order).
//   - Domains, partitioning, inheritance, exclusion constraints (except in a
//     PostgreSQL-to-PostgreSQL import), sequences not owned by a column,
//     views, functions, triggers, policies and grants are not exported.
//   - varchar(n) counts characters in PostgreSQL but UTF-16 code units in
//     SQL Server: a string with characters outside the Basic Multilingual
//     Plane fits varchar(n) here but may not fit nvarchar(n) there.
//   - Unconstrained numeric values come back at scale 10 (1.5 becomes
//     1.5000000000, equal by value). Sequences are set to the loaded
//     maximum, not to the source's last value.
//   - Block-range splitting needs PostgreSQL 14 (TID range scans); older
//     servers read every table on one connection.
//   - The test server trusts local logins, so the wrong-credentials test
//     uses an unknown login (SQLSTATE 28000) rather than a wrong password.
package postgres
