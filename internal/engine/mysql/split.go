package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
)

// DefaultSplitBytes is the table size (information_schema data_length)
// above which an export reads a table in key ranges.
const DefaultSplitBytes = 256 << 20

// ranges decides how to read a table: in several key ranges when it is
// larger than the split size and its primary key is one integer column,
// otherwise (nil) in one query. The bounds come from the snapshot, so the
// ranges cover every row it holds.
func (src *source) ranges(ctx context.Context, c *sql.Conn, t *bacpac.Table, rd *tableReader) ([]engine.KeyRange, error) {
	parts := src.s.splitParts
	if src.s.splitBytes < 0 || parts < 2 || cap(src.conns) < 2 {
		return nil, nil
	}
	key := intKey(t, rd)
	if key == "" {
		return nil, nil
	}
	var size sql.NullInt64
	err := c.QueryRowContext(ctx, `SELECT DATA_LENGTH FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, src.db, t.Name).Scan(&size)
	if err != nil {
		return nil, fmt.Errorf("size of table: %w", err)
	}
	limit := src.s.splitBytes
	if limit == 0 {
		limit = DefaultSplitBytes
	}
	if size.Int64 <= limit {
		return nil, nil
	}
	var lo, hi sql.NullInt64
	err = c.QueryRowContext(ctx, "SELECT MIN("+quoteIdent(key)+"), MAX("+quoteIdent(key)+") FROM "+
		quoteIdent(src.db)+"."+quoteIdent(t.Name)).Scan(&lo, &hi)
	if err != nil {
		return nil, fmt.Errorf("key bounds: %w", err)
	}
	if !lo.Valid || hi.Int64-lo.Int64 < int64(parts) {
		return nil, nil
	}
	rd.key = quoteIdent(key)
	return engine.SplitRange(lo.Int64, hi.Int64, parts), nil
}

// intKey returns the name of the table's primary-key column when the key
// is one column that reads as an int64 (every MySQL integer type but
// bigint unsigned), else "".
func intKey(t *bacpac.Table, rd *tableReader) string {
	if t.PrimaryKey == nil || len(t.PrimaryKey.Columns) != 1 {
		return ""
	}
	name := t.PrimaryKey.Columns[0].Name
	for i, c := range rd.cols {
		if strings.EqualFold(c.Name, name) && rd.kinds[i] == kSigned {
			return c.Name
		}
	}
	return ""
}

// readRanges reads the ranges on c and on the other snapshot connections
// as they are free (all started at the same moment), calling fn for one
// row at a time. The first error stops every reader.
func (src *source) readRanges(ctx context.Context, c *sql.Conn, rd *tableReader, ranges []engine.KeyRange,
	fn func(row []any) error) error {
	var n atomic.Int64
	return engine.ReadRanges(ctx, c, src.conns, ranges,
		func(ctx context.Context, conn *sql.Conn, r engine.KeyRange, emit func([]any) error) error {
			where := " WHERE " + rd.key + " BETWEEN " + strconv.FormatInt(r.Lo, 10) +
				" AND " + strconv.FormatInt(r.Hi, 10)
			return rd.read(ctx, conn, where, &n, emit)
		}, fn)
}
