package mysql

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// families seeds one database per MySQL type family; every nullable
// column has a NULL in at least one row.
var families = []enginetest.Family{
	{Name: "integers", Setup: []string{
		`CREATE TABLE ints (
			id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
			ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
			mi mediumint, miu mediumint unsigned, i int, iu int unsigned,
			bi bigint, biu bigint unsigned, y year, b1 bit(1), b5 bit(5), b64 bit(64),
			tb tinyint(1) NOT NULL DEFAULT 0)`,
		`INSERT INTO ints (ti, tiu, si, siu, mi, miu, i, iu, bi, biu, y, b1, b5, b64, tb) VALUES
			(-128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
			 1901, b'0', b'00000', b'0', 0),
			(127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
			 9223372036854775807, 18446744073709551615, 2155, b'1', b'11111',
			 b'1111111111111111111111111111111111111111111111111111111111111111', 1),
			(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, b'1', b'10101', b'1000000000000000000000000000000000000000000000000000000000000001', 5)`,
		`INSERT INTO ints (tb) VALUES (-1)`,
	}},
	{Name: "decimals", Setup: []string{
		`CREATE TABLE decs (id int NOT NULL PRIMARY KEY, d decimal, d52 decimal(5,2),
			d3810 decimal(38,10), d6530 decimal(65,30), du decimal(12,4) unsigned,
			d00 decimal(1,0) DEFAULT 7, d1818 decimal(18,18))`,
		`INSERT INTO decs VALUES
			(1, 9999999999, 999.99, 1234567890123456789012345678.0123456789,
			 12345678901234567890123456789012345.123456789012345678901234567890, 0.0001, 9,
			 0.999999999999999999),
			(2, -9999999999, -999.99, -0.0000000001, -0.000000000000000000000000000001,
			 99999999.9999, -9, -0.000000000000000001),
			(3, 0, 0, 0, 0, 0, 0, 0),
			(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "floats", Setup: []string{
		`CREATE TABLE floats (id int NOT NULL PRIMARY KEY, f float, d double, fmd float(7,3),
			du double unsigned)`,
		`INSERT INTO floats VALUES (1, 0.1, 0.1, 1.234, 0),
			(2, 3.4028234e38, 1.7976931348623157e308, -9999.999, 1e-300),
			(3, 1.17549435e-38, 4.9e-324, 0, 123456789.123456789),
			(4, -16777217, 0.30000000000000004, 0.001, 2.5),
			(5, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "strings", Setup: []string{
		`CREATE TABLE strs (id int NOT NULL PRIMARY KEY, c char(10), c1 char(1) NOT NULL DEFAULT 'x',
			vc varchar(255), vcl varchar(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci,
			vcb varchar(20) COLLATE utf8mb4_bin, tt tinytext, t text, mt mediumtext, lt longtext,
			e enum('small','medium','large') DEFAULT 'medium', s set('a','b','c'), j json,
			big varchar(5000))`,
		`INSERT INTO strs VALUES
			(1, 'abc', 'y', 'tab\there\nnew line \\\\ backslash \0 nul', 'Ærø café',
			 'CaSe', '', 'it''s "quoted"', repeat('m', 70000), repeat('long ', 100000),
			 'small', 'a,c', '{"k": [1, 2, {"x": null}]}', repeat('€', 5000)),
			(2, '', 'z', '😀 emoji 𝄞 and 中文', '', '', 'NULL', '\\N', '\r\n', ' trailing  ',
			 'large', '', '[]', ''),
			(3, NULL, 'x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "binaries", Setup: []string{
		`CREATE TABLE bins (id int NOT NULL PRIMARY KEY, b binary(4), vb varbinary(100),
			tb tinyblob, bl blob, mb mediumblob, lb longblob, vbig varbinary(9000))`,
		`INSERT INTO bins VALUES
			(1, x'00090a5c', x'ff00fe5c0a0d09', x'', x'00', repeat(x'00ff5c0a', 20000),
			 repeat(x'0102030405060708', 200000), repeat(x'ab', 9000)),
			(2, x'01', x'', NULL, x'5c4e', x'', x'', x''),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "temporal", Setup: []string{
		`CREATE TABLE times (id int NOT NULL PRIMARY KEY, d date, t time, t6 time(6),
			dt datetime, dt1 datetime(1), dt2 datetime(2), dt3 datetime(3), dt4 datetime(4),
			dt5 datetime(5), dt6 datetime(6), ts timestamp NULL, ts6 timestamp(6) NULL,
			tsd timestamp(3) NOT NULL DEFAULT current_timestamp(3) ON UPDATE current_timestamp(3),
			dtd datetime DEFAULT current_timestamp(), dd date DEFAULT '2000-01-01')`,
		`INSERT INTO times VALUES
			(1, '1000-01-01', '00:00:00', '23:59:59.999999', '1000-01-01 00:00:00',
			 '2020-02-29 12:34:56.7', '2020-02-29 12:34:56.78', '2020-02-29 12:34:56.789',
			 '2020-02-29 12:34:56.7891', '2020-02-29 12:34:56.78912',
			 '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999',
			 '2001-02-03 04:05:06.789', '2001-02-03 04:05:06', '2001-02-03'),
			(2, '0001-01-01', '12:00:00', '00:00:00.000001', '2024-06-01 10:00:00',
			 '2024-06-01 10:00:00.1', NULL, NULL, NULL, NULL, NULL, '2024-06-01 10:00:00',
			 '2024-06-01 10:00:00.000001', '2024-06-01 10:00:00', NULL, NULL),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
			 '2024-06-01 10:00:00', NULL, NULL)`,
	}},
	{Name: "mariadb", Setup: []string{
		`CREATE TABLE extra (id int NOT NULL PRIMARY KEY, u uuid, ip inet6, ip4 inet4)`,
		`INSERT INTO extra VALUES (1, '123e4567-e89b-12d3-a456-426614174000', '2001:db8::1',
			'192.168.0.1'), (2, NULL, NULL, NULL)`,
	}},
	{Name: "keys", Setup: []string{
		`CREATE TABLE parent (id bigint NOT NULL AUTO_INCREMENT, code varchar(20) NOT NULL,
			name varchar(200) NOT NULL, note text, PRIMARY KEY (id), UNIQUE KEY uq_code (code),
			KEY ix_name_prefix (name(10), id DESC), FULLTEXT KEY ft_note (note))`,
		`CREATE TABLE child (a int NOT NULL, b int NOT NULL, parent_id bigint,
			qty int NOT NULL DEFAULT 1 CHECK (qty > 0), price decimal(10,2) DEFAULT (1 + 2),
			total decimal(12,2) AS (qty * price) STORED, label varchar(30) AS (concat('#', a)) VIRTUAL,
			PRIMARY KEY (a, b), KEY ix_parent (parent_id),
			CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
				ON DELETE CASCADE ON UPDATE SET NULL,
			CONSTRAINT ck_ab CHECK (a <> b),
			CONSTRAINT ck_label CHECK (char_length(label) < 30 OR label REGEXP '^#'))`,
		`INSERT INTO parent (code, name, note) VALUES ('p1', 'first parent', 'hello world'),
			('p2', 'second', NULL)`,
		`INSERT INTO child (a, b, parent_id, qty, price) VALUES (1, 2, 1, 3, 4.50),
			(2, 1, NULL, 1, NULL)`,
	}},
}

// tableDump describes everything about a database the round trip keeps:
// SHOW CREATE TABLE of every table without the AUTO_INCREMENT counter, and
// every cell by canonical value in primary-key order.
func dumpDatabase(t *testing.T, cfg engine.Config) (schema map[string]string, cells map[string][]string, m *bacpac.Model) {
	t.Helper()
	ctx := t.Context()
	src, err := New().OpenSource(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenSource %s: %v", cfg.Database, err)
	}
	defer src.Close()
	m, err = src.Model(ctx)
	if err != nil {
		t.Fatalf("Model %s: %v", cfg.Database, err)
	}
	schema = map[string]string{}
	cells = map[string][]string{}
	autoInc := regexp.MustCompile(` AUTO_INCREMENT=\d+`)
	db := openDB(t, cfg)
	defer db.Close()
	for _, tb := range m.Tables {
		var name, create string
		if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(tb.Name)).
			Scan(&name, &create); err != nil {
			t.Fatalf("show create table %s: %v", tb.Name, err)
		}
		schema[tb.Name] = autoInc.ReplaceAllString(create, "")
		var rows []string
		err := src.Rows(ctx, tb, func(row []any) error {
			parts := make([]string, len(row))
			for i, v := range row {
				parts[i] = enginetest.Canonical(v)
			}
			rows = append(rows, strings.Join(parts, " | "))
			return nil
		})
		if err != nil {
			t.Fatalf("Rows of %s: %v", tb.Name, err)
		}
		slices.Sort(rows)
		cells[tb.Name] = rows
	}
	return schema, cells, m
}

// copyDatabase imports the model and rows of from into a new database.
func copyDatabase(t *testing.T, d engine.Driver, from, to engine.Config) []engine.Skipped {
	t.Helper()
	ctx := t.Context()
	src, err := d.OpenSource(ctx, from)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	m, err := src.Model(ctx)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	tgt, err := d.OpenTarget(ctx, to, true)
	if err != nil {
		t.Fatalf("OpenTarget: %v", err)
	}
	defer tgt.Close()
	if err := tgt.CreateTables(ctx, m); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	for _, tb := range m.Tables {
		if err := pipe(ctx, src, tgt, tb); err != nil {
			t.Fatalf("copy table %s: %v", tb.Name, err)
		}
	}
	skipped, err := tgt.Finish(ctx, m)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return skipped
}

// pipe streams one table from src into tgt through a channel, the way
// the import pipeline hands rows over.
func pipe(ctx context.Context, src engine.Source, tgt engine.Target, tb *bacpac.Table) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []any, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- src.Rows(ctx, tb, func(row []any) error {
			select {
			case ch <- slices.Clone(row):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(ch)
	}()
	_, err := tgt.Load(ctx, tb, func() ([]any, error) {
		row, ok := <-ch
		if !ok {
			return nil, io.EOF
		}
		return row, nil
	})
	if err != nil {
		cancel()
		for range ch {
		}
		<-errc
		return err
	}
	return <-errc
}

// TestDriver_RoundTrip copies each type family into a new database and
// compares the schemas (SHOW CREATE TABLE and the model) and every cell.
func TestDriver_RoundTrip(t *testing.T) {
	for _, f := range families {
		t.Run(f.Name, func(t *testing.T) {
			from := newDatabase(t)
			for _, q := range f.Setup {
				exec(t, from, q)
			}
			to := newName(t)
			skipped := copyDatabase(t, New(), from, to)
			if len(skipped) > 0 {
				t.Errorf("same-engine copy skipped %v", skipped)
			}
			s1, c1, m1 := dumpDatabase(t, from)
			s2, c2, m2 := dumpDatabase(t, to)
			for name, want := range s1 {
				if got := s2[name]; got != want {
					t.Errorf("table %s schema after the round trip:\n%s\nwant:\n%s", name, got, want)
				}
			}
			if got, want := fmt.Sprintf("%+v", modelText(m2)), fmt.Sprintf("%+v", modelText(m1)); got != want {
				t.Errorf("model after the round trip:\n%s\nwant:\n%s", got, want)
			}
			for name, want := range c1 {
				got := c2[name]
				if !slices.Equal(got, want) {
					t.Errorf("table %s cells after the round trip:\n%s\nwant:\n%s", name,
						strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if len(want) == 0 {
					t.Errorf("table %s has no rows to compare", name)
				}
			}
		})
	}
}

// modelText renders a model's tables for comparison.
func modelText(m *bacpac.Model) []string {
	var out []string
	for _, t := range m.Tables {
		out = append(out, fmt.Sprintf("table %s.%s", t.Schema, t.Name))
		for _, c := range t.Columns {
			def := ""
			if c.Default != nil {
				def = c.Default.Expression
			}
			out = append(out, fmt.Sprintf("  col %s %+v null=%v id=%v computed=%q/%v default=%q props=%v",
				c.Name, c.Type, c.Nullable, c.Identity != nil, c.Computed, c.Persisted, def,
				c.Properties))
		}
		if t.PrimaryKey != nil {
			out = append(out, fmt.Sprintf("  pk %+v", *t.PrimaryKey))
		}
		for _, k := range t.Uniques {
			out = append(out, fmt.Sprintf("  unique %+v", *k))
		}
		for _, x := range t.Indexes {
			out = append(out, fmt.Sprintf("  index %+v", *x))
		}
		for _, fk := range t.ForeignKeys {
			out = append(out, fmt.Sprintf("  fk %+v", *fk))
		}
		for _, ck := range t.Checks {
			out = append(out, fmt.Sprintf("  check %+v", *ck))
		}
		out = append(out, fmt.Sprintf("  props %v", t.Properties))
	}
	return out
}
