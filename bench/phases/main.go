// Command phases shows where bacport's export and import spend their time,
// so that the bottleneck behind a benchmark figure is visible.
//
// It runs the same data path as a `bacport serve` job, in one process:
// engine.Export streamed into a block-blob upload to an embedded storage
// account, then engine.Import from ranged reads of that blob into a new
// database. Each run is CPU-profiled, and every profile sample is charged to
// a phase by the code on its stack:
//
//	export: read (engine driver and database client), encode (BCP rows),
//	        compress (deflate, CRC), package (zip assembly), upload (blob
//	        client and HTTP);
//	import: download (blob client and HTTP), inflate, decode (BCP rows,
//	        or with a raw loader their framing), load (engine driver,
//	        transcoding, database client), and the index phase (Finish),
//	        which is almost all database-server time. A target that
//	        finishes each table as soon as it is loaded (PostgreSQL) builds
//	        most indexes inside the load step, and its index step is short.
//
// Work of the embedded storage account itself is shown apart ("storage
// account"): on Azure it happens elsewhere. Go runtime work that no phase
// calls (garbage collection, scheduling) is "runtime".
//
// For each phase it prints the CPU seconds and the rate one core reaches in
// that phase (source MB per CPU second), beside the wall time of each step
// and the CPU the database server used. With 2 cores, a phase whose CPU time
// comes near the wall time is the bound.
//
// Usage (run.sh runs it after the measured rounds):
//
//	go build -o phases ./bench/phases
//	phases -engine postgres -dsn 'postgres://postgres@127.0.0.1:5432/?sslmode=disable' \
//	    -db bench50 -restore bench50_phases -source-bytes 855378182
//
// It needs the go command (for `go tool pprof`) and, for the database
// server's CPU, a local server whose processes it can read in /proc.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/blob"
	"github.com/bacport/bacport/internal/blob/embedded"
	"github.com/bacport/bacport/internal/engine"

	_ "github.com/bacport/bacport/internal/engine/mysql"
	_ "github.com/bacport/bacport/internal/engine/postgres"
	_ "github.com/bacport/bacport/internal/engine/sqlite"
)

type options struct {
	engine, dsn, login, password string
	db, restore                  string
	sourceBytes                  int64
	parallel                     int
	keep                         string
	profiles                     string
}

func main() {
	var o options
	flag.StringVar(&o.engine, "engine", "", "postgres, mysql or sqlite (labels the output)")
	flag.StringVar(&o.dsn, "dsn", "", "server DSN, as a bacport server resource's engine.dsn")
	flag.StringVar(&o.login, "login", "", "database login")
	flag.StringVar(&o.password, "password", "", "database password")
	flag.StringVar(&o.db, "db", "", "database to export")
	flag.StringVar(&o.restore, "restore", "", "new database to import into (dropped before and after)")
	flag.Int64Var(&o.sourceBytes, "source-bytes", 0,
		"size of the source as text, for MB/s (default: the row bytes bacport counts)")
	flag.IntVar(&o.parallel, "parallel", 0, "tables at once (default: bacport's)")
	flag.StringVar(&o.keep, "keep", "", "also write the package to this file")
	flag.StringVar(&o.profiles, "profiles", "", "keep the CPU profiles (export.pprof, import.pprof) in this folder")
	flag.Parse()
	if o.dsn == "" || o.db == "" || o.restore == "" {
		fmt.Fprintln(os.Stderr, "usage: phases -engine E -dsn DSN -db DB -restore NEWDB [-source-bytes N]")
		os.Exit(2)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "phases:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "bacport-phases-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	acct, stop, err := startStorage(ctx, tmp)
	if err != nil {
		return err
	}
	defer stop()

	drv, err := engine.Lookup(o.dsn)
	if err != nil {
		return err
	}
	src := engine.Config{DSN: o.dsn, Database: o.db, Login: o.login, Password: o.password}
	dst := src
	dst.Database = o.restore
	if err := drv.DropDatabase(ctx, dst); err != nil {
		return fmt.Errorf("drop %s: %w", o.restore, err)
	}
	defer drv.DropDatabase(context.WithoutCancel(ctx), dst)

	ex, err := exportPhase(ctx, drv, src, acct, tmp, o)
	if err != nil {
		return err
	}
	im, err := importPhase(ctx, drv, dst, acct, tmp, o)
	if err != nil {
		return err
	}
	size := o.sourceBytes
	if size <= 0 {
		size = ex.rowBytes
	}
	ex.print(os.Stdout, o.engine, size)
	im.print(os.Stdout, o.engine, size)
	return nil
}

// startStorage starts an embedded storage account on a free port with a
// container for the package.
func startStorage(ctx context.Context, dir string) (*blob.Account, func(), error) {
	srv, err := embedded.New(embedded.Config{Dir: filepath.Join(dir, "blob")})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	stop := func() { srv.Close() }
	key1, key2 := make([]byte, 32), make([]byte, 32)
	rand.Read(key1)
	rand.Read(key2)
	if err := srv.AddAccount("phases", key1, key2); err != nil {
		stop()
		return nil, nil, err
	}
	acct, err := blob.NewAccount(srv.AccountURL("phases"),
		blob.Credential{AccountKey: base64.StdEncoding.EncodeToString(key1)}, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	if err := acct.CreateContainer(ctx, "bench"); err != nil {
		stop()
		return nil, nil, err
	}
	return acct, stop, nil
}

// result is one profiled run: wall time per step, CPU per phase.
type result struct {
	kind      string
	steps     []step
	tables    []string
	wall      time.Duration
	cpu       map[string]time.Duration // phase -> CPU time from the profile
	procCPU   time.Duration            // this process, from the OS
	serverCPU time.Duration
	rowBytes  int64
	outBytes  int64
	peakRSS   int64 // KiB, VmHWM
}

type step struct {
	name      string
	wall      time.Duration
	serverCPU time.Duration
}

// clock marks step boundaries with the database server's CPU at each.
type clock struct {
	engine string
	tables []string // "name at N.N s", as each table finished
	mu     sync.Mutex
	start  time.Time
	last   time.Time
	srv0   time.Duration
	srv    time.Duration
	steps  []step
}

func newClock(engine string) *clock {
	now, s := time.Now(), serverCPU(engine)
	return &clock{engine: engine, start: now, last: now, srv0: s, srv: s}
}

// table notes when a table's rows are all moved.
func (c *clock) table(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tables = append(c.tables, fmt.Sprintf("%s %.1f s", name, time.Since(c.start).Seconds()))
}

func (c *clock) mark(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, s := time.Now(), serverCPU(c.engine)
	c.steps = append(c.steps, step{name, now.Sub(c.last), s - c.srv})
	c.last, c.srv = now, s
}

func exportPhase(ctx context.Context, drv engine.Driver, cfg engine.Config, acct *blob.Account,
	tmp string, o options) (*result, error) {
	res := &result{kind: "export"}
	resetPeak()
	prof, cpu0, err := startProfile()
	if err != nil {
		return nil, err
	}
	clk := newClock(o.engine)
	s, err := drv.OpenSource(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	defer s.Close()

	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	var out io.Writer = pw
	if o.keep != "" {
		f, err := os.Create(o.keep)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		out = io.MultiWriter(pw, f)
	}
	go func() {
		_, err := acct.Upload(ctx, "bench", "phases.bacpac", pr,
			&blob.UploadOptions{Overwrite: true, ContentType: "application/zip"})
		pr.CloseWithError(err)
		uploaded <- err
	}()
	var once sync.Once
	rep, err := engine.Export(ctx, s, out, engine.ExportOptions{
		Parallel: o.parallel, TempDir: tmp, Database: o.db, Engine: o.engine,
		Progress: func(p engine.Progress) {
			if p.Phase == engine.PhaseData || p.Phase == engine.PhaseTable {
				once.Do(func() { clk.mark("schema") })
			}
			if p.Phase == engine.PhaseTable {
				clk.table(p.Table)
			}
		},
	})
	if err != nil {
		pw.CloseWithError(err)
		<-uploaded
		return nil, fmt.Errorf("export: %w", err)
	}
	once.Do(func() { clk.mark("schema") })
	clk.mark("data")
	pw.Close()
	if err := <-uploaded; err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	clk.mark("upload tail")
	res.finish(clk, prof, cpu0)
	res.rowBytes = rep.Bytes
	if p, err := acct.Properties(ctx, "bench", "phases.bacpac"); err == nil {
		res.outBytes = p.Size
	}
	return res, res.classify(prof, o.profiles)
}

func importPhase(ctx context.Context, drv engine.Driver, cfg engine.Config, acct *blob.Account,
	tmp string, o options) (*result, error) {
	res := &result{kind: "import"}
	resetPeak()
	prof, cpu0, err := startProfile()
	if err != nil {
		return nil, err
	}
	clk := newClock(o.engine)
	r, err := acct.Open(ctx, "bench", "phases.bacpac")
	if err != nil {
		return nil, err
	}
	pkg, err := bacpac.Open(r, r.Size())
	if err != nil {
		return nil, fmt.Errorf("open package: %w", err)
	}
	t, err := drv.OpenTarget(ctx, cfg, true)
	if err != nil {
		return nil, fmt.Errorf("open target: %w", err)
	}
	defer t.Close()
	clk.mark("open")
	var schemaOnce, finishOnce sync.Once
	rep, err := engine.Import(ctx, pkg, t, engine.ImportOptions{
		Parallel: o.parallel,
		Progress: func(p engine.Progress) {
			switch p.Phase {
			case engine.PhaseData, engine.PhaseTable:
				schemaOnce.Do(func() { clk.mark("create tables") })
				if p.Phase == engine.PhaseTable {
					clk.table(p.Table)
				}
			case engine.PhaseFinish:
				schemaOnce.Do(func() { clk.mark("create tables") })
				finishOnce.Do(func() { clk.mark("load") })
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	clk.mark("index")
	res.finish(clk, prof, cpu0)
	res.rowBytes = rep.Bytes
	return res, res.classify(prof, o.profiles)
}

func startProfile() (*os.File, time.Duration, error) {
	f, err := os.CreateTemp("", "phases-*.pprof")
	if err != nil {
		return nil, 0, err
	}
	runtime.GC()
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, 0, err
	}
	return f, procCPU(os.Getpid(), false), nil
}

func (r *result) finish(c *clock, prof *os.File, cpu0 time.Duration) {
	pprof.StopCPUProfile()
	prof.Close()
	r.steps = c.steps
	r.tables = c.tables
	r.wall = c.last.Sub(c.start)
	r.serverCPU = c.srv - c.srv0
	r.procCPU = procCPU(os.Getpid(), false) - cpu0
	r.peakRSS = peakKiB()
}

// ---- charging profile samples to phases ------------------------------------

// classify reads the profile's stacks with `go tool pprof -traces` and adds
// each sample's time to the phase of its stack.
func (r *result) classify(prof *os.File, keep string) error {
	if keep != "" {
		defer os.Rename(prof.Name(), filepath.Join(keep, r.kind+".pprof"))
	} else {
		defer os.Remove(prof.Name())
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := exec.Command("go", "tool", "pprof", "-traces", exe, prof.Name()).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof -traces: %w", err)
	}
	r.cpu = map[string]time.Duration{}
	var stack []string
	var val time.Duration
	flush := func() {
		if len(stack) > 0 {
			r.cpu[phaseOf(r.kind, stack)] += val
		}
		stack, val = nil, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(stack) == 0 && len(f) >= 2 {
			if d, err := time.ParseDuration(f[0]); err == nil {
				val = d
				stack = append(stack, f[1])
			}
			continue
		}
		if len(stack) > 0 && len(f) == 1 {
			stack = append(stack, f[0])
		}
	}
	flush()
	return sc.Err()
}

// Rules charging a stack to a phase. A stack that passes through the
// embedded storage account is charged to it wherever its leaf is; otherwise
// the frame nearest the leaf that matches a rule decides. Standard-library
// plumbing (runtime, syscalls, net, io, …) matches nothing, so its time goes
// to whoever called it.
var rules = []struct{ match, export, imp string }{
	{"klauspost/compress", "compress", "inflate"},
	{"compress/flate", "compress", "inflate"},
	{"hash/crc32", "compress", "inflate"},
	{"internal/bacpac.(*zipWriter)", "package", "decode"},
	{"internal/bacpac.(*Writer)", "package", "decode"},
	{"internal/bacpac", "encode", "decode"},
	{"internal/blob", "upload", "download"},
	{"azure-sdk-for-go", "upload", "download"},
	{"crypto/md5", "upload", "download"},
	{"net/http", "upload", "download"},
	{"internal/engine/", "read", "load"},
	{"jackc/pgx", "read", "load"},
	{"go-sql-driver", "read", "load"},
	{"database/sql", "read", "load"},
	{"modernc.org", "read", "load"},
	{"internal/engine.", "encode", "decode"},
}

func phaseOf(kind string, stack []string) string {
	for _, fn := range stack {
		if strings.Contains(fn, "internal/blob/embedded") {
			return "storage account"
		}
	}
	for _, fn := range stack {
		for _, r := range rules {
			if strings.Contains(fn, r.match) {
				if kind == "export" {
					return r.export
				}
				return r.imp
			}
		}
	}
	for _, fn := range stack {
		if strings.HasPrefix(fn, "runtime.gc") || strings.HasPrefix(fn, "runtime.bgsweep") ||
			strings.HasPrefix(fn, "runtime.bgscavenge") {
			return "runtime (GC)"
		}
	}
	return "runtime (other)"
}

// ---- output -------------------------------------------------------------------

var phaseOrder = map[string][]string{
	"export": {"read", "encode", "compress", "package", "upload"},
	"import": {"download", "inflate", "decode", "load"},
}

func (r *result) print(w io.Writer, eng string, size int64) {
	mb := float64(size) / 1e6
	fmt.Fprintf(w, "%s %s: wall %.1f s (", eng, r.kind, r.wall.Seconds())
	for i, s := range r.steps {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s %.1f", s.name, s.wall.Seconds())
		if s.serverCPU > 0 {
			fmt.Fprintf(w, " [db %.1f cpu-s]", s.serverCPU.Seconds())
		}
	}
	fmt.Fprintf(w, "), %.0f MB/s of source; bacport %.1f cpu-s, database server %.1f cpu-s, peak RSS %d MiB",
		mb/r.wall.Seconds(), r.procCPU.Seconds(), r.serverCPU.Seconds(), r.peakRSS/1024)
	if r.outBytes > 0 {
		fmt.Fprintf(w, ", package %.1f MB", float64(r.outBytes)/1e6)
	}
	fmt.Fprintln(w)
	if len(r.tables) > 0 {
		fmt.Fprintf(w, "    tables done at: %s\n", strings.Join(r.tables, ", "))
	}
	var total time.Duration
	for _, d := range r.cpu {
		total += d
	}
	names := append([]string(nil), phaseOrder[r.kind]...)
	var rest []string
	for k := range r.cpu {
		if !contains(names, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range append(names, rest...) {
		d := r.cpu[k]
		rate := "-"
		if d > 0 {
			rate = strconv.FormatFloat(mb/d.Seconds(), 'f', 0, 64) + " MB/s per core"
		}
		fmt.Fprintf(w, "    %-16s %6.1f cpu-s %4.0f%%  %s\n", k, d.Seconds(),
			100*d.Seconds()/max(total.Seconds(), 1e-9), rate)
	}
	if r.kind == "import" {
		for _, s := range r.steps {
			if s.name == "index" {
				fmt.Fprintf(w, "    %-16s %6.1f s wall, database server %.1f cpu-s\n", "index",
					s.wall.Seconds(), s.serverCPU.Seconds())
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- /proc ------------------------------------------------------------------------

var ticks = 100.0 // USER_HZ; 100 on every Linux this runs on

// procCPU is a process's user+system time, with its reaped children's when
// children is set.
func procCPU(pid int, children bool) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// f[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..17.
	sum := 0.0
	n := 2
	if children {
		n = 4
	}
	for i := 0; i < n && 11+i < len(f); i++ {
		v, _ := strconv.ParseFloat(f[11+i], 64)
		sum += v
	}
	return time.Duration(sum / ticks * float64(time.Second))
}

// serverCPU is the CPU used so far by the engine's server: the PostgreSQL
// postmaster and its backends (live ones, plus the reaped ones through the
// postmaster's children's time), or mariadbd; none for SQLite.
func serverCPU(engine string) time.Duration {
	if engine != "postgres" && engine != "mysql" {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	comm := map[int]string{}
	ppid := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		comm[pid] = s[i+1 : j]
		f := strings.Fields(s[j+2:])
		if len(f) > 1 {
			ppid[pid], _ = strconv.Atoi(f[1])
		}
	}
	var sum time.Duration
	for pid, c := range comm {
		switch {
		case engine == "mysql" && (c == "mariadbd" || c == "mysqld"):
			sum += procCPU(pid, true)
		case engine == "postgres" && c == "postgres" && comm[ppid[pid]] != "postgres":
			sum += procCPU(pid, true) // the postmaster, with reaped backends
		case engine == "postgres" && c == "postgres":
			sum += procCPU(pid, false)
		}
	}
	return sum
}

func resetPeak() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
