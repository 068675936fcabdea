package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// SplitRows is the rowid span above which an export reads a table in
// rowid ranges on several snapshot connections at once. A variable so
// tests can lower it.
var SplitRows int64 = 1 << 20

// rangesPerConn is how many rowid ranges per snapshot connection a large
// table is cut into: more ranges than connections, so that connections
// freed by smaller tables share the tail of a large one.
const rangesPerConn = 4

// ranges returns the rowid ranges to read a large rowid table in, or nil to read it in one query: a small table, a
// WITHOUT ROWID table, or one with a column that hides the rowid.
func (s *source) ranges(ctx context.Context, c *sql.Conn, t *bacpac.Table) []engine.KeyRange {
	parts := cap(s.readers)
	if parts < 2 {
		return nil
	}
	for _, col := range t.Columns {
		switch strings.ToLower(col.Name) {
		case "rowid", "_rowid_", "oid":
			return nil
		}
	}
	var lo, hi sql.NullInt64
	// A WITHOUT ROWID table fails here ("no such column"): one query.
	err := c.QueryRowContext(ctx, "SELECT min(rowid), max(rowid) FROM "+quote(tableName(t))).Scan(&lo, &hi)
	if err != nil || !lo.Valid || uint64(hi.Int64)-uint64(lo.Int64) < uint64(SplitRows) {
		return nil
	}
	return engine.SplitRange(lo.Int64, hi.Int64, rangesPerConn*parts)
}

// readRanges reads the ranges on c and on the other snapshot connections
// as they are free, calling fn for one row at a time; the first error
// stops every reader.
func (s *source) readRanges(ctx context.Context, c *sql.Conn, rd *tableReader, ranges []engine.KeyRange,
	fn func(row []any) error) error {
	var n atomic.Int64
	return engine.ReadRanges(ctx, c, s.readers, ranges,
		func(ctx context.Context, conn *sql.Conn, r engine.KeyRange, emit func([]any) error) error {
			where := " WHERE rowid BETWEEN " + strconv.FormatInt(r.Lo, 10) + " AND " +
				strconv.FormatInt(r.Hi, 10)
			return rd.read(ctx, conn, where, &n, emit)
		}, fn)
}
