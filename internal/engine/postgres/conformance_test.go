package postgres

import (
	"testing"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// families seeds one table per PostgreSQL type family, each with a row of
// NULLs in every nullable column.
var families = []enginetest.Family{
	{Name: "integers", Setup: []string{
		`CREATE TABLE ints (id serial PRIMARY KEY, i2 smallint, i4 integer, i8 bigint,
			o oid, big bigint NOT NULL DEFAULT 7 CHECK (big >= 0))`,
		`INSERT INTO ints (i2, i4, i8, o, big) VALUES
			(-32768, -2147483648, -9223372036854775808, 0, 0),
			(32767, 2147483647, 9223372036854775807, 4294967295, 9223372036854775807),
			(NULL, NULL, NULL, NULL, 1)`,
		`CREATE TABLE ident (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5)
			PRIMARY KEY, s smallserial, v int)`,
		`INSERT INTO ident (v) VALUES (1), (2), (NULL)`,
	}},
	{Name: "numerics", Setup: []string{
		`CREATE TABLE nums (id int PRIMARY KEY, n12 numeric(12,2), n38 numeric(38,10),
			n5 numeric(5,0), nfree numeric, money money)`,
		`INSERT INTO nums VALUES
			(1, 1234567890.12, 1234567890123456789012345678.0123456789, 99999, 1.5, 12.34),
			(2, -0.01, -0.0000000001, -99999, -123456789012345678901234567.1234567891, -0.01),
			(3, 0, 0, 0, 0, 0),
			(4, NULL, NULL, NULL, NULL, NULL)`,
	}},
	{Name: "floats", Setup: []string{
		`CREATE TABLE floats (id int PRIMARY KEY, r real, d double precision)`,
		`INSERT INTO floats VALUES (4, 1.17549435e-38, 2.2250738585072014e-308),
			(5, 3.4028235e38, 1.7976931348623157e308), (6, -0.5, 0.1), (7, NULL, NULL),
			(8, 1.4e-45, 4.9e-324), (9, '-0', '-0')`,
	}},
	// SQL Server floats hold no NaN or infinity, so a package cannot carry
	// them: the export fails naming table, column and row (the direct
	// round trip, without a package, still carries them).
	{Name: "nonfinite", Setup: []string{
		`CREATE TABLE nonfinite (id int PRIMARY KEY, r real, d double precision)`,
		`INSERT INTO nonfinite VALUES (1, 'NaN', 'NaN'), (2, 'Infinity', 'Infinity'),
			(3, '-Infinity', '-Infinity'), (4, 1.5, 2.5)`,
	}, Refused: []string{"nonfinite", `"r"`, "row 1", "NaN"}},
	{Name: "text", Setup: []string{
		`CREATE TABLE texts (id int PRIMARY KEY, t text, v varchar(10), vfree varchar,
			c char(5), c1 "char", nm name, big varchar(5000) DEFAULT 'x''y')`,
		`INSERT INTO texts VALUES (1, 'tab	nl
cr` + "\r" + ` back\slash "q" ''s''', 'héllo wörl', 'any length at all', 'ab', 'z', 'pg_name', 'ümlaut'),
			(2, '', '', '', '', 'a', '', ''),
			(3, 'emoji 🎉 and 中文', '🎉🎉🎉', NULL, '12345', NULL, NULL, repeat('x', 5000)),
			(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		`CREATE INDEX texts_v_idx ON texts (v DESC, id) INCLUDE (c) WHERE v IS NOT NULL`,
		`CREATE UNIQUE INDEX texts_lower_idx ON texts (lower(t))`,
	}},
	{Name: "binary", Setup: []string{
		`CREATE TABLE bins (id int PRIMARY KEY, b bytea)`,
		`INSERT INTO bins VALUES (1, '\x00ff10'), (2, ''), (3, NULL),
			(4, decode(repeat('ab', 100000), 'hex'))`,
	}},
	{Name: "times", Setup: []string{
		`CREATE TABLE times (id int PRIMARY KEY, d date, t time, t0 time(0), tz timetz,
			ts timestamp, ts3 timestamp(3), tstz timestamptz, iv interval,
			created timestamptz NOT NULL DEFAULT now(), day date DEFAULT CURRENT_DATE)`,
		`INSERT INTO times VALUES
			(1, '0001-01-01', '00:00:00', '23:59:59', '12:34:56.789+05:30',
			 '0001-01-01 00:00:00', '2024-02-29 12:00:00.123', '1970-01-01 00:00:00+00',
			 '1 year 2 mons 3 days 04:05:06.789', '2024-01-01 00:00:00+00', '2024-01-01'),
			(2, '9999-12-31', '23:59:59.999999', '12:00:00', '00:00:00-08',
			 '9999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999', '2024-06-30 22:15:00.123456+02',
			 '-3 days', '2024-01-01 00:00:00+00', NULL),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00:00+00', NULL)`,
	}},
	{Name: "misc", Setup: []string{
		`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ☺')`,
		`CREATE TABLE misc (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), j json, jb jsonb,
			b boolean NOT NULL DEFAULT true, m mood, ms mood[], ia int[], ta text[], ip inet,
			mac macaddr, bits bit varying(8), x xml)`,
		`INSERT INTO misc VALUES
			('00000000-0000-0000-0000-000000000000', '{"a": [1, 2.50]}', '{"b": {"c": null}}', false,
			 'happy ☺', '{sad,ok}', '{1,NULL,3}', '{"a b","c,d",NULL}', '192.168.0.1/24',
			 '08:00:2b:01:02:03', B'101', '<a>x</a>'),
			('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[]', '[]', true, NULL, '{}', '{}', '{}',
			 '::1', NULL, B'', NULL),
			('ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, true, NULL, NULL, NULL, NULL,
			 NULL, NULL, NULL, NULL)`,
	}},
	{Name: "keys", Setup: []string{
		`CREATE SCHEMA sales`,
		`CREATE TABLE sales.customer (id int PRIMARY KEY, code text NOT NULL UNIQUE,
			region text, CONSTRAINT customer_region_ck CHECK (region IN ('north', 'south')))`,
		`CREATE TABLE sales.orders (id bigserial, cust int NOT NULL
			REFERENCES sales.customer (id) ON DELETE CASCADE ON UPDATE SET NULL,
			amount numeric(12,2) NOT NULL DEFAULT 0, note text,
			PRIMARY KEY (id), UNIQUE (cust, id))`,
		`CREATE INDEX orders_amount ON sales.orders (amount DESC NULLS LAST) WHERE amount > 100`,
		`INSERT INTO sales.customer VALUES (1, 'A', 'north'), (2, 'B', NULL)`,
		`INSERT INTO sales.orders (cust, amount, note) VALUES (1, 150.25, 'x'), (2, 0, NULL)`,
	}},
}

func harness() enginetest.Harness {
	return enginetest.Harness{
		Driver:      New(),
		NewDatabase: newDatabase,
		NewName:     newName,
		Exec:        execSQL,
		Families:    families,
		// The CI server trusts every local login, so a wrong password is
		// not rejected; an unknown login is, with the same SQLSTATE class.
		WrongPassword: func(t *testing.T, cfg engine.Config) engine.Config {
			cfg.Login = "bacport_no_such_login"
			cfg.Password = "Wr0ng-password-value"
			return cfg
		},
		Unreachable: func(t *testing.T) engine.Config {
			return engine.Config{DSN: "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=5",
				Password: "Unreach-secret-1"}
		},
		// timestamptz keeps the instant, not the offset; PostgreSQL keeps
		// microseconds (see the package doc).
		Lossy:         enginetest.LossyMappings{OffsetToUTC: true, Microseconds: true},
		StrictFixture: "BACPACToD-Test.bacpac",
	}
}

func TestConformance(t *testing.T) {
	server(t)
	enginetest.Run(t, harness())
}
