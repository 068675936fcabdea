package mysql

import (
	"strconv"
	"sync"
	"testing"
)

// TestRows_SplitSnapshot reads a table in key ranges on several snapshot
// connections while another session rewrites it, and wants exactly the
// rows of the moment OpenSource was called, each once.
func TestRows_SplitSnapshot(t *testing.T) {
	cfg := newDatabase(t)
	exec(t, cfg, "CREATE TABLE big (id int NOT NULL PRIMARY KEY, v bigint NOT NULL, pad varchar(100))")
	exec(t, cfg, "CREATE TABLE digits (i int)")
	exec(t, cfg, "INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
	exec(t, cfg, `INSERT INTO big SELECT n, n, REPEAT('x', 100) FROM (SELECT
		a.i + 10*b.i + 100*c.i + 1000*d.i + 10000*e.i + 1 AS n
		FROM digits a, digits b, digits c, digits d, digits e WHERE e.i < 3) g`)
	exec(t, cfg, "DROP TABLE digits")
	want := queryString(t, cfg, "SELECT CONCAT(COUNT(*), ',', SUM(v)) FROM big")

	cfg.DSN += "?parallel=3"
	d := &Driver{SplitBytes: 1, SplitParts: 3}
	s, err := d.OpenSource(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := s.(*source)
	m, err := src.Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tbl := m.Tables[0]
	rd, _ := newTableReader(src.db, tbl)
	c, err := src.conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := src.ranges(t.Context(), c, tbl, rd)
	src.release(c)
	if err != nil || len(rs) != 3 {
		t.Fatalf("ranges of big: %v, %v; want 3 key ranges", rs, err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			exec(t, cfg, "UPDATE big SET v = v + 1000000 WHERE id % 7 = "+strconv.Itoa(i%7))
			exec(t, cfg, "INSERT INTO big VALUES ("+strconv.Itoa(100000+i)+", 1, 'new')")
			exec(t, cfg, "DELETE FROM big WHERE id = "+strconv.Itoa(i*997%30000+1))
		}
	})
	var n, sum int64
	seen := map[int64]bool{}
	err = src.Rows(t.Context(), tbl, func(row []any) error {
		id := row[0].(int64)
		if seen[id] {
			t.Errorf("row %d read twice", id)
		}
		seen[id] = true
		n++
		sum += row[1].(int64)
		return nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if got := strconv.FormatInt(n, 10) + "," + strconv.FormatInt(sum, 10); got != want {
		t.Fatalf("split read saw count,sum = %s, want %s at the snapshot", got, want)
	}
}
