package bacpac

import (
	"errors"
	"fmt"
)

// Sentinel errors of the reader. Errors returned by Open, Rows and Verify
// wrap one of these (or are a *DataError) so callers can branch on the kind
// of damage.
var (
	// ErrFormat means the package is not a well-formed BACPAC: a broken
	// zip structure, a missing required part, unsafe entry names, sizes
	// that do not add up, or XML that does not parse.
	ErrFormat = errors.New("malformed package")
	// ErrChecksum means model.xml does not hash to the checksum Origin.xml
	// records for it.
	ErrChecksum = errors.New("model.xml checksum mismatch")
	// ErrZipBomb means an entry declares sizes no honest deflate stream
	// can have, or inflates to more than it declares.
	ErrZipBomb = errors.New("zip entry sizes are implausible")
	// ErrRowCount means the rows decoded from the data parts do not add up
	// to the total Origin.xml declares.
	ErrRowCount = errors.New("row count differs from Origin.xml")
)

// DataError reports a value in a data part that cannot be decoded: the part,
// the byte offset of the value inside the uncompressed part, and the column.
type DataError struct {
	Part   string // entry name, e.g. "Data/dbo.Orders/TableData-000-00000.BCP"
	Offset int64  // offset of the value (or of the failure) in the part
	Row    int64  // 1-based row number within the part
	Column string // column name; empty when the failure is not in a value
	Err    error
}

func (e *DataError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("part %q at byte %d: %v", e.Part, e.Offset, e.Err)
	}
	return fmt.Sprintf("part %q at byte %d (row %d, column %q): %v",
		e.Part, e.Offset, e.Row, e.Column, e.Err)
}

func (e *DataError) Unwrap() error { return e.Err }

// Errors a DataError may wrap.
var (
	// ErrTruncated means a part ended inside a row.
	ErrTruncated = errors.New("part ends inside a row")
	// ErrBadValue means a value's bytes do not fit its column's type.
	ErrBadValue = errors.New("value does not fit its column type")
)
