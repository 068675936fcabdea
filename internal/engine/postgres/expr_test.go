package postgres

import (
	"testing"

	"github.com/bacport/bacport/internal/bacpac"
)

func TestPGToTSQL(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{`(price > (0)::numeric)`, `([price] > (0))`, true},
		{`((region = ANY (ARRAY['north'::text, 'south'::text])))`,
			`([region] IN (N'north', N'south'))`, true},
		{`("Amount" >= 0 AND "Amount" <= 100)`, `([Amount] >= 0 AND [Amount] <= 100)`, true},
		{`(name ~~ 'a%'::text)`, `([name] LIKE N'a%')`, true},
		{`(v IS NOT NULL)`, `([v] IS NOT NULL)`, true},
		{`((("ShipDate" >= "OrderDate") OR ("ShipDate" IS NULL)))`,
			`(([ShipDate] >= [OrderDate]) OR ([ShipDate] IS NULL))`, true},
		{`((("Status" >= 0) AND ("Status" <= 8)))`, `(([Status] >= 0) AND ([Status] <= 8))`, true},
		{`(NOT (a > 1))`, `(NOT ([a] > 1))`, true},
		{`(lower(t) <> ''::text)`, `(lower([t]) <> N'')`, true},
		{`(x <> ALL (ARRAY[1, 2]))`, `([x] NOT IN (1, 2))`, true},
		{`(tags @> ARRAY['a'::text])`, ``, false},
		{`(jsonb_typeof(j) = 'object'::text)`, ``, false},
		{`(a || b)`, ``, false},
	}
	for _, c := range cases {
		got, ok := pgToTSQL(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("pgToTSQL(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTSQLToPG(t *testing.T) {
	isBool := func(name string) bool { return name == "IsDeleted" }
	cases := []struct {
		in, want string
		ok       bool
	}{
		{`([UnitPrice]>=(0.00))`, `("UnitPrice" >= (0.00))`, true},
		{`([SellEndDate]>=[SellStartDate] OR [SellEndDate] IS NULL)`,
			`("SellEndDate" >= "SellStartDate" OR "SellEndDate" IS NULL)`, true},
		{`([IsDeleted]=(0))`, `("IsDeleted" = false)`, true},
		{`([IsDeleted]=1 AND [Name] IS NOT NULL)`, `("IsDeleted" = true AND "Name" IS NOT NULL)`, true},
		{`([Status]=N'open' OR [Status]='it''s')`, `("Status" = 'open' OR "Status" = 'it''s')`, true},
		{`(isnull([a],(0))+len([b]))`, `(coalesce("a", (0)) + length("b"))`, true},
		{`([Due]>getdate())`, `("Due" > now())`, true},
		{`([d]>=CONVERT([date],getdate()))`, `("d" >= CURRENT_DATE)`, true},
		{`(NEXT VALUE FOR [s].[seq])`, ``, false},
		{`(CONVERT([nvarchar](23),[id],(0)))`, ``, false},
		{`([x] LIKE '[a-z]%')`, `("x" LIKE '[a-z]%')`, true},
	}
	for _, c := range cases {
		got, ok := tsqlToPG(c.in, isBool)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("tsqlToPG(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestDefaultToPG(t *testing.T) {
	cases := []struct {
		in, typ, want string
		ok            bool
	}{
		{"((0))", "integer", "0", true},
		{"((-1))", "integer", "-1", true},
		{"((1))", "boolean", "true", true},
		{"('0')", "boolean", "false", true},
		{"(N'abc')", "text", "'abc'", true},
		{"('''')", "text", "''''", true},
		{"(getdate())", "timestamp(3)", "LOCALTIMESTAMP", true},
		{"(getdate())", "timestamptz(7)", "now()", true},
		{"(getutcdate())", "timestamp(3)", "(now() AT TIME ZONE 'UTC')", true},
		{"(newid())", "uuid", "gen_random_uuid()", true},
		{"(NULL)", "text", "", false},
	}
	for _, c := range cases {
		got, ok := defaultToPG(c.in, c.typ)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("defaultToPG(%q, %q) = %q, %v; want %q, %v", c.in, c.typ, got, ok, c.want, c.ok)
		}
	}
}

func TestDefaultToTSQL(t *testing.T) {
	dt := bacpac.Type{Name: "datetimeoffset", Scale: 6}
	cases := []struct {
		in   string
		typ  bacpac.Type
		want string
		ok   bool
	}{
		{"0", bacpac.Type{Name: "int"}, "((0))", true},
		{"'-1'::integer", bacpac.Type{Name: "int"}, "(N'-1')", true},
		{"'x''y'::character varying", bacpac.Type{Name: "nvarchar"}, "(N'x''y')", true},
		{"now()", dt, "(sysdatetimeoffset())", true},
		{"CURRENT_DATE", bacpac.Type{Name: "date"}, "(CONVERT([date],getdate()))", true},
		{"true", bacpac.Type{Name: "bit"}, "((1))", true},
		{"gen_random_uuid()", bacpac.Type{Name: "uniqueidentifier"}, "(newid())", true},
		{"nextval('public.s'::regclass)", bacpac.Type{Name: "int"}, "", false},
	}
	for _, c := range cases {
		got, ok := defaultToTSQL(c.in, c.typ)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("defaultToTSQL(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestNumericTypmod(t *testing.T) {
	mod := func(p, s int) int32 { return int32((p<<16)|(s&0x7ff)) + 4 }
	cases := []struct {
		typmod int32
		p, s   int
	}{
		{-1, 38, 10},
		{mod(12, 2), 12, 2},
		{mod(1000, 0), 38, 0},
		{mod(5, -2), 7, 0},
		{mod(3, 5), 5, 5},
	}
	for _, c := range cases {
		if p, s := numericTypmod(c.typmod); p != c.p || s != c.s {
			t.Errorf("numericTypmod(%d) = (%d,%d), want (%d,%d)", c.typmod, p, s, c.p, c.s)
		}
	}
}
