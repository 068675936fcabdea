package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
	"github.com/bacport/bacport/internal/engine/sqlite"
)

func harness() enginetest.Harness {
	return enginetest.Harness{
		Driver: sqlite.New(),
		NewDatabase: func(t *testing.T) engine.Config {
			t.Helper()
			cfg := engine.Config{DSN: "sqlite://" + t.TempDir(), Database: "db"}
			path := filepath.Join(cfg.DSN[len("sqlite://"):], "db.sqlite")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatalf("create database file: %v", err)
			}
			return cfg
		},
		NewName: func(t *testing.T) engine.Config {
			t.Helper()
			return engine.Config{DSN: "sqlite://" + t.TempDir(), Database: "fresh"}
		},
		Exec: func(t *testing.T, cfg engine.Config, stmt string) {
			t.Helper()
			path := filepath.Join(cfg.DSN[len("sqlite://"):], cfg.Database+".sqlite")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			defer db.Close()
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("exec %q: %v", stmt, err)
			}
		},
		Unreachable: func(t *testing.T) engine.Config {
			return engine.Config{DSN: "sqlite://" + filepath.Join(t.TempDir(), "no-such-dir"), Database: "db"}
		},
		Families: families,
	}
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, harness())
}

var families = []enginetest.Family{
	{Name: "integers", Setup: []string{
		`CREATE TABLE ints (id INTEGER PRIMARY KEY, t TINYINT, s SMALLINT, i INT, m MEDIUMINT,
			b BIGINT, n INTEGER NOT NULL DEFAULT 0, u UNSIGNED BIG INT)`,
		`INSERT INTO ints VALUES (1, 0, -32768, -2147483648, -8388608, -9223372036854775808, -1, 0)`,
		`INSERT INTO ints VALUES (2, 255, 32767, 2147483647, 8388607, 9223372036854775807, 1, 9223372036854775807)`,
		`INSERT INTO ints (id) VALUES (3)`,
	}},
	{Name: "numerics", Setup: []string{
		`CREATE TABLE nums (id INTEGER PRIMARY KEY, d DECIMAL(10,2), n NUMERIC(5,0), wide DECIMAL(38,10),
			bare NUMERIC, money MONEY, txt DECIMAL_TEXT(38,20))`,
		`INSERT INTO nums VALUES (1, 12.34, 99999, 0.5, 42, 1234.5678, '12345678901234567.12345678901234567890')`,
		`INSERT INTO nums VALUES (2, -99999999.99, -5, 123456789.25, 1.5, -0.0001, '-0.00000000000000000001')`,
		`INSERT INTO nums VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "floats", Setup: []string{
		`CREATE TABLE floats (id INTEGER PRIMARY KEY, r REAL, d DOUBLE, f FLOAT, dp DOUBLE PRECISION, f24 FLOAT(24))`,
		`INSERT INTO floats VALUES (1, 1.5, 1e308, -2.2250738585072014e-308, 5e-324, 0.5)`,
		`INSERT INTO floats VALUES (2, -1.7976931348623157e308, 0.1, 3.141592653589793, -0.0, -1.25)`,
		`INSERT INTO floats VALUES (3, NULL, NULL, NULL, NULL, NULL)`,
	}},
	// SQLite stores infinities (NaN it makes NULL); SQL Server has none,
	// so a package refuses them naming table, column and row.
	{Name: "infinities", Setup: []string{
		`CREATE TABLE infinities (id INTEGER PRIMARY KEY, d DOUBLE)`,
		`INSERT INTO infinities VALUES (1, 1.5), (2, 1e999), (3, -1e999)`,
	}, Refused: []string{"infinities", `"d"`, "row 2", "+Inf"}},
	{Name: "text", Setup: []string{
		`CREATE TABLE texts (id INTEGER PRIMARY KEY, t TEXT, v VARCHAR(10), c CHAR(5), nv NVARCHAR(100),
			cl CLOB, vc VARYING CHARACTER(20), nt NTEXT, x XML, j JSON)`,
		`INSERT INTO texts VALUES (1, 'plain', 'abc', 'ab', 'Grüße, 世界 🎉', 'long text', 'v', 'nt', '<a>1</a>', '{"a":[1,2]}')`,
		`INSERT INTO texts VALUES (2, '', '', '', '', '', '', '', '<b/>', '[]')`,
		`INSERT INTO texts VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		`INSERT INTO texts (id, t) VALUES (4, 'it''s "quoted" NULL')`,
	}},
	{Name: "binary", Setup: []string{
		`CREATE TABLE bins (id INTEGER PRIMARY KEY, b BLOB, vb VARBINARY(16), img IMAGE)`,
		`INSERT INTO bins VALUES (1, x'00ff10', x'0102030405060708090a0b0c0d0e0f10', x'89504e47')`,
		`INSERT INTO bins VALUES (2, x'', x'', x'')`,
		`INSERT INTO bins VALUES (3, NULL, NULL, NULL)`,
	}},
	{Name: "datetime", Setup: []string{
		`CREATE TABLE times (id INTEGER PRIMARY KEY, d DATE, dt DATETIME, ts TIMESTAMP, t TIME,
			t3 TIME(3), dt2 DATETIME2(3), dto DATETIMEOFFSET, sdt SMALLDATETIME)`,
		`INSERT INTO times VALUES (1, '2024-02-29', '2024-01-01 12:34:56.789', '1999-12-31T23:59:59',
			'23:59:59.1234567', '08:00:00.5', '2024-06-30 10:00:00.125', '2024-01-01 10:00:00.5+05:30', '2024-01-01 10:01:00')`,
		`INSERT INTO times VALUES (2, '0001-01-01', '9999-12-31 23:59:59.9999999', '2000-01-01 00:00:00',
			'00:00:00', '12:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00-08:00', '2000-01-01 00:00:00')`,
		`INSERT INTO times VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "uuid", Setup: []string{
		`CREATE TABLE uuids (id INTEGER PRIMARY KEY, u UUID, g UNIQUEIDENTIFIER)`,
		`INSERT INTO uuids VALUES (1, '123E4567-E89B-12D3-A456-426614174000', '00112233-4455-6677-8899-AABBCCDDEEFF')`,
		`INSERT INTO uuids VALUES (2, NULL, NULL)`,
	}},
	{Name: "boolean", Setup: []string{
		`CREATE TABLE bools (id INTEGER PRIMARY KEY, b BOOLEAN NOT NULL, bit BIT, bo BOOL)`,
		`INSERT INTO bools VALUES (1, 1, 0, 1)`,
		`INSERT INTO bools VALUES (2, 0, 1, NULL)`,
		`INSERT INTO bools VALUES (3, 1, NULL, 0)`,
	}},
	{Name: "untyped", Setup: []string{
		`CREATE TABLE dyn (id INTEGER PRIMARY KEY, anything, num NUMERIC)`,
		`INSERT INTO dyn VALUES (1, 42, 7)`,
		`INSERT INTO dyn VALUES (2, 2.5, 2.5)`,
		`INSERT INTO dyn VALUES (3, 'text', 'not a number')`,
		`INSERT INTO dyn VALUES (4, x'cafe', -1)`,
		`INSERT INTO dyn VALUES (5, NULL, NULL)`,
	}},
	{Name: "keys", Setup: []string{
		`CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,
			name VARCHAR(100) NOT NULL DEFAULT 'anonymous', created DATETIME DEFAULT CURRENT_TIMESTAMP,
			score INTEGER CHECK (score >= 0), CONSTRAINT ck_name CHECK (length(name) > 0))`,
		`CREATE TABLE orders (customer_id INTEGER NOT NULL, seq INTEGER NOT NULL, total DECIMAL(10,2) DEFAULT (0),
			note TEXT, total_x2 DECIMAL(10,2) GENERATED ALWAYS AS (total * 2) VIRTUAL,
			CONSTRAINT pk_orders PRIMARY KEY (customer_id, seq),
			CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
			CONSTRAINT uq_orders_note UNIQUE (note, seq)) WITHOUT ROWID`,
		`CREATE INDEX ix_orders_total ON orders (total DESC, seq)`,
		`CREATE UNIQUE INDEX ix_customers_name ON customers (name) WHERE score > 10`,
		`CREATE INDEX ix_expr ON customers (lower(email))`,
		`CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100`,
		`INSERT INTO customers (id, email, name, created, score) VALUES (1, 'a@example.com', 'Ann', '2024-01-01 00:00:00', 5)`,
		`INSERT INTO customers (id, email, name, created, score) VALUES (7, 'b@example.com', 'Bob', NULL, 50)`,
		`INSERT INTO orders (customer_id, seq, total, note) VALUES (1, 1, 10.5, 'first'), (1, 2, 200, NULL), (7, 1, 0.01, 'x')`,
	}},
	{Name: "schemas", Setup: []string{
		`CREATE TABLE "Sales.Orders" (id INTEGER PRIMARY KEY, amount MONEY)`,
		`CREATE TABLE "Sales.Lines" (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES "Sales.Orders" (id))`,
		`INSERT INTO "Sales.Orders" VALUES (1, 9.99)`,
		`INSERT INTO "Sales.Lines" VALUES (1, 1)`,
	}},
}
