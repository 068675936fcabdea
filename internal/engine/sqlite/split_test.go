package sqlite

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestRows_SplitSnapshot reads a table in rowid ranges on several
// snapshot connections while another connection rewrites it, and wants
// exactly the rows of the moment the snapshot began, each once.
func TestRows_SplitSnapshot(t *testing.T) {
	old := SplitRows
	SplitRows = 1000
	t.Cleanup(func() { SplitRows = old })

	path := filepath.Join(t.TempDir(), "big.sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("exec %q: %v", q, err)
		}
	}
	exec("CREATE TABLE big (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, pad TEXT)")
	exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 30000)
		INSERT INTO big SELECT n, n, printf('%100s', 'x') FROM g`)
	var want string
	if err := db.QueryRow("SELECT count(*) || ',' || sum(v) FROM big").Scan(&want); err != nil {
		t.Fatal(err)
	}

	src, err := openSnapshot(t.Context(), path, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Model(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tbl := m.Tables[0]
	c, err := src.conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rs := src.ranges(t.Context(), c, tbl)
	src.readers <- c
	contiguous := len(rs) == rangesPerConn*3 && rs[0].Lo == 1 && rs[len(rs)-1].Hi == 30000
	for i := 1; contiguous && i < len(rs); i++ {
		contiguous = rs[i].Lo == rs[i-1].Hi+1
	}
	if !contiguous {
		t.Fatalf("ranges of big: %v; want %d contiguous rowid ranges over 1..30000", rs, rangesPerConn*3)
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
			exec("UPDATE big SET v = v + 1000000 WHERE id % 7 = " + strconv.Itoa(i%7))
			exec("INSERT INTO big VALUES (" + strconv.Itoa(100000+i) + ", 1, 'new')")
			exec("DELETE FROM big WHERE id = " + strconv.Itoa(i*997%30000+1))
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
