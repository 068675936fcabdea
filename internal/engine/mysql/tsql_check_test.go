package mysql

import (
	"io"
	"testing"

	"github.com/bacport/bacport/internal/engine"
)

func TestCheckToTSQL(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"`qty` > 0", "([qty] > 0)", true},
		{"(`a` <> `b`)", "(([a] <> [b]))", true},
		{"`region` in (_utf8mb4'north',_utf8mb4'south')", "([region] IN (N'north', N'south'))", true},
		{"`s` like 'a''b%' and `n` is not null", "([s] LIKE N'a''b%' AND [n] IS NOT NULL)", true},
		{"`a` != -1.5", "([a] <> - 1.5)", true},
		{"char_length(`name`) > 0", "", false},
		{"`name` regexp '^a'", "", false},
		{"`a` || `b`", "", false},
		{"`a` <=> `b`", "", false},
		{"`s` = 'x\\\\y'", "", false},
	}
	for _, c := range cases {
		got, ok := checkToTSQL(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("checkToTSQL(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// A check with no T-SQL form stays out of the model's checks and is
// listed by the export as kept for MySQL only.
func TestExport_OmitsUntranslatedCheck(t *testing.T) {
	cfg := newDatabase(t)
	exec(t, cfg, "CREATE TABLE c (id int NOT NULL PRIMARY KEY, name varchar(20), "+
		"CONSTRAINT ck_len CHECK (char_length(name) > 1), CONSTRAINT ck_id CHECK (id > 0))")
	s, err := New().OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := engine.Export(t.Context(), s, io.Discard, engine.ExportOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if len(rep.Omitted) != 1 || rep.Omitted[0].Name != "c.ck_len" || rep.Omitted[0].Reason == "" {
		t.Errorf("ExportReport.Omitted = %+v; want ck_len alone, with a reason", rep.Omitted)
	}
}
