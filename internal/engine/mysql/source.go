package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// errNoPrivilege is MySQL's "access denied; you need the … privilege".
const errNoPrivilege = 1227

// source is a database opened for export. Every connection in conns runs a
// read-only REPEATABLE READ transaction started at the same point.
type source struct {
	s     *settings
	db    string
	pool  *sql.DB
	conns chan *sql.Conn
	all   []*sql.Conn
	once  sync.Once
	// omitted is set by Model (engine.Omitter).
	omitted []engine.Skipped
}

// OpenSource opens the database and starts one consistent snapshot.
//
// For parallel reads every connection must see the same snapshot, and
// MariaDB cannot share one between sessions. So, as mydumper does, the
// driver takes FLUSH TABLES WITH READ LOCK on a separate connection, starts
// a consistent-snapshot transaction on each reading connection, and
// releases the lock at once: writers pause only for the moment that takes.
// Without the RELOAD privilege the lock is refused and the export reads
// through one connection.
func (d *Driver) OpenSource(ctx context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := d.resolve(cfg)
	if err != nil {
		return nil, err
	}
	if s.database == "" {
		return nil, fmt.Errorf("open mysql source: the DSN names no database: %w",
			engine.ErrNoDatabase)
	}
	pool, err := s.connect(ctx, s.database)
	if err != nil {
		return nil, err
	}
	src := &source{s: s, db: s.database, pool: pool}
	if err := src.start(ctx, s.parallel); err != nil {
		src.Close()
		return nil, fmt.Errorf("start snapshot of %q: %w", s.database, err)
	}
	return src, nil
}

func (src *source) start(ctx context.Context, n int) error {
	var lock *sql.Conn
	if n > 1 {
		c, err := src.pool.Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "SET SESSION lock_wait_timeout = 60"); err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK")
		var me *gomysql.MySQLError
		switch {
		case errors.As(err, &me) && (me.Number == errNoPrivilege || me.Number == errAccessDenied ||
			me.Number == errDBAccessDenied):
			n = 1
		case err != nil:
			return err
		default:
			lock = c
		}
	}
	for range n {
		c, err := src.pool.Conn(ctx)
		if err != nil {
			return err
		}
		src.all = append(src.all, c)
		// CHAR values come back padded to their length, as SQL Server's
		// nchar(n), which they are exported as, holds them. A server that
		// no longer knows the mode returns them unpadded; that is all.
		_, _ = c.ExecContext(ctx,
			"SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',PAD_CHAR_TO_FULL_LENGTH')")
		for _, q := range []string{
			"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
			"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return err
			}
		}
	}
	if lock != nil {
		if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
			return err
		}
	}
	src.conns = make(chan *sql.Conn, len(src.all))
	for _, c := range src.all {
		src.conns <- c
	}
	return nil
}

// conn takes a snapshot connection; put it back with release.
func (src *source) conn(ctx context.Context) (*sql.Conn, error) {
	select {
	case c := <-src.conns:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (src *source) release(c *sql.Conn) { src.conns <- c }

// Model reads the schema through the snapshot's first free connection.
func (src *source) Model(ctx context.Context) (*bacpac.Model, error) {
	c, err := src.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer src.release(c)
	m, omitted, err := readModel(ctx, c, src.db)
	if err != nil {
		return nil, fmt.Errorf("read schema of %q: %w", src.db, err)
	}
	src.omitted = omitted
	return m, nil
}

// Omitted lists the checks the model could not describe in T-SQL; they
// travel in table properties for imports into MySQL only.
func (src *source) Omitted() []engine.Skipped { return src.omitted }

// Rows streams a table with one unbuffered SELECT through the text
// protocol; every cell is parsed from its exact text. A table larger than
// the split size with a single-column integer primary key is read in key
// ranges on several snapshot connections at once (see split.go).
func (src *source) Rows(ctx context.Context, t *bacpac.Table, fn func(row []any) error) error {
	rd, err := newTableReader(src.db, t)
	if err != nil {
		return err
	}
	if rd == nil {
		return nil
	}
	c, err := src.conn(ctx)
	if err != nil {
		return err
	}
	defer src.release(c)
	if ranges, err := src.ranges(ctx, c, t, rd); err != nil {
		return fmt.Errorf("read table %s: %w", t.Name, err)
	} else if len(ranges) > 1 {
		return src.readRanges(ctx, c, rd, ranges, fn)
	}
	var n atomic.Int64
	return rd.read(ctx, c, "", &n, fn)
}

// tableReader reads rows of one table through a query.
type tableReader struct {
	table     string
	cols      []*bacpac.Column
	kinds     []kind
	selectSQL string // SELECT … FROM db.table, without a WHERE clause
	key       string // the quoted key column, when read in ranges
}

// newTableReader prepares the query of a table; nil when the table has no
// data columns.
func newTableReader(db string, t *bacpac.Table) (*tableReader, error) {
	cols := t.DataColumns()
	if len(cols) == 0 {
		return nil, nil
	}
	rd := &tableReader{table: t.Name, cols: cols, kinds: make([]kind, len(cols))}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		k, err := kindOf(c)
		if err != nil {
			return nil, fmt.Errorf("read table %s: %w", t.Name, err)
		}
		rd.kinds[i] = k
		exprs[i] = quoteIdent(c.Name)
		if k == kFloat {
			// FLOAT's text form keeps 6 digits; DOUBLE's is exact.
			exprs[i] = "CAST(" + exprs[i] + " AS DOUBLE)"
		}
	}
	rd.selectSQL = "SELECT " + strings.Join(exprs, ", ") + " FROM " + quoteIdent(db) + "." +
		quoteIdent(t.Name)
	return rd, nil
}

// read runs the query with an optional WHERE clause on c and calls fn per
// row. n numbers the rows for errors; ranges read at once share it.
func (rd *tableReader) read(ctx context.Context, c *sql.Conn, where string, n *atomic.Int64,
	fn func(row []any) error) error {
	rows, err := c.QueryContext(ctx, rd.selectSQL+where)
	if err != nil {
		return fmt.Errorf("read table %s: %w", rd.table, err)
	}
	defer rows.Close()
	// The driver parses integer and floating-point cells itself; those are
	// scanned as they come (database/sql hands an *any its value as is),
	// since scanning them as text would format the number again only for
	// it to be parsed a third time here. Every other cell is scanned as
	// the raw bytes of its text.
	raw := make([]sql.RawBytes, len(rd.cols))
	parsed := make([]any, len(rd.cols))
	dest := make([]any, len(rd.cols))
	for i, k := range rd.kinds {
		if k.driverParsed() {
			dest[i] = &parsed[i]
		} else {
			dest[i] = &raw[i]
		}
	}
	row := make([]any, len(rd.cols))
	for rows.Next() {
		k := n.Add(1)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read table %s row %d: %w", rd.table, k, err)
		}
		for i, kind := range rd.kinds {
			var v any
			var err error
			switch {
			case kind.driverParsed():
				v, err = fromDriver(kind, parsed[i])
			case raw[i] != nil:
				v, err = parseValue(kind, raw[i])
			}
			if err != nil {
				return &engine.ValueError{Table: rd.table, Column: rd.cols[i].Name, Row: k, Err: err}
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table %s: %w", rd.table, err)
	}
	return nil
}

// Close ends the snapshot transactions and closes the connections.
func (src *source) Close() error {
	var err error
	src.once.Do(func() {
		for _, c := range src.all {
			c.ExecContext(context.Background(), "ROLLBACK")
			c.Close()
		}
		err = src.pool.Close()
	})
	return err
}

// kindOf says how to read a column exported by this driver, from its
// recorded MySQL type.
func kindOf(c *bacpac.Column) (kind, error) {
	st, ok := c.Property(bacpac.SourceTypeProperty)
	if !ok || !strings.HasPrefix(st, sourcePrefix) {
		return 0, fmt.Errorf("column %s has no MySQL source type", c.Name)
	}
	t := parseType(strings.TrimPrefix(st, sourcePrefix))
	switch t.base {
	case "tinyint", "smallint", "mediumint", "int", "year":
		return kSigned, nil
	case "bigint":
		if t.unsigned {
			return kUnsigned64, nil
		}
		return kSigned, nil
	case "decimal":
		if t.arg(0, 10) > 38 {
			return kBigDecimal, nil
		}
		return kDecimal, nil
	case "float":
		return kFloat, nil
	case "double":
		return kDouble, nil
	case "bit":
		if t.arg(0, 1) == 1 {
			return kBit1, nil
		}
		return kBits, nil
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set",
		"json", "inet4", "inet6":
		return kText, nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry",
		"point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection":
		return kBytes, nil
	case "date":
		return kDate, nil
	case "datetime":
		return kDateTime, nil
	case "timestamp":
		return kTimestamp, nil
	case "time":
		return kTime, nil
	case "uuid":
		return kUUID, nil
	}
	return 0, fmt.Errorf("column %s type %s: %w", c.Name, t.ddl, engine.ErrNotSupported)
}
