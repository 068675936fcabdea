package bacpac

import "time"

// Row values. A row is a []any with one value per data column, in part
// order. nil is NULL. Each SQL Server type decodes to one Go type, and the
// writer accepts exactly the same types:
//
//	tinyint, smallint, int, bigint          int64
//	bit                                     bool
//	decimal, numeric, money, smallmoney     Decimal (money: scale 4)
//	real                                    float32
//	float                                   float64
//	date                                    Date
//	time                                    TimeOfDay
//	datetime, datetime2, smalldatetime      time.Time in UTC (the wall clock
//	                                        value; the type has no zone)
//	datetimeoffset                          time.Time in a fixed zone of the
//	                                        stored offset
//	uniqueidentifier                        UUID
//	char, varchar, nchar, nvarchar, text,
//	ntext, xml                              string
//	binary, varbinary, image, rowversion,
//	timestamp, geography, geometry,
//	hierarchyid                             []byte
//	sql_variant                             Variant
//
// char and nchar values keep their blank padding as stored.

// Date is a calendar date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Time returns the date as midnight UTC.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format("2006-01-02") }

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// TimeOfDay is a time of day as a duration since midnight, with 100 ns
// resolution (SQL Server's finest time scale).
type TimeOfDay time.Duration

// String formats the time as hh:mm:ss.fffffff.
func (t TimeOfDay) String() string {
	return time.Time{}.Add(time.Duration(t)).Format("15:04:05.0000000")
}

// UUID is a uniqueidentifier in the standard (RFC 4122 text) byte order:
// the first byte is the first two hex digits of the text form. The BCP
// encoding's .NET byte order is handled by the codec.
type UUID [16]byte

// String formats the UUID in upper-case 8-4-4-4-12 form, as SQL Server does.
func (u UUID) String() string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 36)
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&15])
	}
	return string(b)
}

// Variant is a sql_variant value, kept in SQL Server's own serialization
// (base-type byte, property-byte count, properties, value) as stored in the
// part. It round-trips exactly; Value decodes the common base types.
type Variant []byte
