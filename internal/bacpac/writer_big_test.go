package bacpac

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchModel is a table of common column types with rows that compress
// about as well as real data: ASCII text from a small vocabulary next to
// random binary payloads.
func benchModel(tables int) *Model {
	m := &Model{}
	for i := range tables {
		m.Tables = append(m.Tables, &Table{Schema: "dbo", Name: fmt.Sprintf("Bench%d", i), Columns: []*Column{
			{Name: "id", Type: Type{Name: "bigint"}},
			{Name: "name", Type: Type{Name: "nvarchar", Length: 80}},
			{Name: "payload", Type: Type{Name: "varbinary", Length: 256}, Nullable: true},
			{Name: "amount", Type: Type{Name: "decimal", Precision: 19, Scale: 4}, Nullable: true},
			{Name: "created", Type: Type{Name: "datetime2", Scale: 7}},
			{Name: "score", Type: Type{Name: "float", Precision: 53}, Nullable: true},
		}})
	}
	return m
}

// benchRows produces rows for benchModel's tables.
type benchRows struct {
	r        *rand.Rand
	payloads [][]byte
	words    []string
	row      []any
	base     time.Time
}

func newBenchRows(seed uint64) *benchRows {
	r := rand.New(rand.NewPCG(seed, 1))
	b := &benchRows{r: r, base: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), row: make([]any, 6)}
	for range 4096 {
		p := make([]byte, 64+r.IntN(193))
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		b.payloads = append(b.payloads, p)
	}
	b.words = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet " +
		"kilo lima mike november oscar papa quebec romeo sierra tango uniform victor")
	return b
}

func (b *benchRows) next(id int64) []any {
	r := b.r
	name := b.words[r.IntN(len(b.words))] + " " + b.words[r.IntN(len(b.words))] + " " +
		strconv.FormatInt(id, 10)
	b.row[0] = id
	b.row[1] = name
	b.row[2] = b.payloads[r.IntN(len(b.payloads))]
	b.row[3] = NewDecimal(r.Int64N(1e12), 4)
	b.row[4] = b.base.Add(time.Duration(r.Int64N(int64(1000 * 24 * time.Hour))))
	b.row[5] = r.Float64()
	return b.row
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// writeBench writes tables concurrently until the package holds at least
// target bytes (checked as parts land), returning the rows written.
func writeBench(tb testing.TB, out io.Writer, tables int, target int64, opts WriterOptions) int64 {
	tb.Helper()
	cw := &countingWriter{w: out}
	m := benchModel(tables)
	w, err := NewWriter(cw, m, opts)
	if err != nil {
		tb.Fatal(err)
	}
	var rows atomic.Int64
	var wg sync.WaitGroup
	for i, t := range m.Tables {
		wg.Go(func() {
			tw, err := w.Table(t)
			if err != nil {
				tb.Error(err)
				return
			}
			gen := newBenchRows(uint64(i))
			for id := int64(0); ; id++ {
				if id%4096 == 0 && cw.n.Load()+int64(tables)*opts.PartSize/3 >= target {
					break
				}
				if err := tw.WriteRow(gen.next(id)); err != nil {
					tb.Error(err)
					return
				}
				rows.Add(1)
			}
			if err := tw.Close(); err != nil {
				tb.Error(err)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return rows.Load()
}

// readAll decodes every row of every table and returns the row count.
func readAll(tb testing.TB, pkg *Package) int64 {
	tb.Helper()
	var n int64
	for _, t := range pkg.Model().Tables {
		rs := pkg.Rows(t)
		for rs.Next() {
			n++
		}
		if err := rs.Err(); err != nil {
			tb.Fatalf("read %s: %v", t.Name, err)
		}
		rs.Close()
	}
	return n
}

func BenchmarkWrite(b *testing.B) {
	m := benchModel(1)
	gen := newBenchRows(1)
	var raw int64
	for b.Loop() {
		cw := &countingWriter{w: io.Discard}
		w, err := NewWriter(cw, m, WriterOptions{TempDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		tw, _ := w.Table(m.Tables[0])
		for id := range int64(100_000) {
			if err := tw.WriteRow(gen.next(id)); err != nil {
				b.Fatal(err)
			}
		}
		tw.Close()
		w.Close()
		raw = w.bytes
	}
	b.SetBytes(raw)
}

// BenchmarkWrite_PartWorkers writes one table in 2 MiB parts with 1 and
// with several part compressors, to show what compressing one table's
// parts in parallel gains (MB/s of uncompressed BCP data).
func BenchmarkWrite_PartWorkers(b *testing.B) {
	m := benchModel(1)
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			gen := newBenchRows(1)
			var raw int64
			for b.Loop() {
				w, err := NewWriter(io.Discard, m, WriterOptions{
					PartSize: 2 << 20, PartWorkers: workers, TempDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				tw, _ := w.Table(m.Tables[0])
				for id := range int64(100_000) {
					if err := tw.WriteRow(gen.next(id)); err != nil {
						b.Fatal(err)
					}
				}
				if err := tw.Close(); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				raw = w.bytes
			}
			b.SetBytes(raw)
		})
	}
}

func BenchmarkReadWritten(b *testing.B) {
	var buf bytes.Buffer
	writeBench(b, &buf, 1, 32<<20, WriterOptions{PartSize: 8 << 20, TempDir: b.TempDir()})
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		pkg, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		readAll(b, pkg)
	}
}

const bigEnv = "BACPORT_BIG"

// TestBigPackage writes a package of 1 GiB with two tables in parallel,
// then reads it back in a child process whose peak RSS must stay under
// 64 MiB. It prints the write and read throughput. It runs only with
// BACPORT_BIG=1 (it takes a minute and 1 GiB of disk).
func TestBigPackage(t *testing.T) {
	if os.Getenv(bigEnv+"_CHILD") != "" {
		return // the child runs TestBigPackageChild
	}
	if os.Getenv(bigEnv) != "1" {
		t.Skip("set BACPORT_BIG=1 to write and read a 1 GiB package")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.bacpac")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	start, cpu0 := time.Now(), processCPU(t)
	rows := writeBench(t, bw, 2, 1<<30, WriterOptions{TempDir: dir})
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wrote, wroteCPU := time.Since(start), processCPU(t)-cpu0
	st, _ := os.Stat(path)
	size := st.Size()
	t.Logf("write: %d rows, %.1f MiB package in %v = %.1f MB/s (package bytes); "+
		"%.1fs CPU = %.1f MB per CPU-second",
		rows, float64(size)/(1<<20), wrote.Round(time.Millisecond), float64(size)/1e6/wrote.Seconds(),
		wroteCPU.Seconds(), float64(size)/1e6/wroteCPU.Seconds())

	cmd := exec.Command(os.Args[0], "-test.run=^TestBigPackageChild$", "-test.v")
	cmd.Env = append(os.Environ(), bigEnv+"_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("reader child: %v\n%s", err, out)
	}
	var readRows, rss int64
	var secs, cpu float64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "BIGREAD "); i >= 0 {
			fmt.Sscanf(line[i:], "BIGREAD rows=%d seconds=%g cpu=%g maxrss=%d",
				&readRows, &secs, &cpu, &rss)
		}
	}
	if readRows != rows {
		t.Fatalf("child read %d rows, wrote %d\n%s", readRows, rows, out)
	}
	t.Logf("read: %d rows in %.2fs = %.1f MB/s (package bytes); %.1fs CPU = %.1f MB per "+
		"CPU-second; peak RSS %.1f MiB",
		readRows, secs, float64(size)/1e6/secs, cpu, float64(size)/1e6/cpu, float64(rss)/(1<<20))
	if rss >= 64<<20 {
		t.Errorf("reading a %d MiB package peaked at %.1f MiB RSS, want under 64 MiB",
			size>>20, float64(rss)/(1<<20))
	}
}

// TestBigPackageChild is the reading half of TestBigPackage, run in its
// own process so its peak RSS is the reader's alone.
func TestBigPackageChild(t *testing.T) {
	path := os.Getenv(bigEnv + "_CHILD")
	if path == "" {
		t.Skip("run by TestBigPackage")
	}
	start, cpu0 := time.Now(), processCPU(t)
	pf, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	n := readAll(t, pf.Package)
	secs, cpu := time.Since(start).Seconds(), (processCPU(t) - cpu0).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	// Linux reports ru_maxrss in KiB.
	fmt.Printf("BIGREAD rows=%d seconds=%g cpu=%g maxrss=%d\n", n, secs, cpu, ru.Maxrss*1024)
}

// processCPU is the user and system CPU time this process has used: on a
// shared machine it measures the work better than the wall clock.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
