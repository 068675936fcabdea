package bacpac

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bacport/bacport/internal/testenv"
	"github.com/klauspost/compress/flate"
)

// partBytes is the uncompressed size of all data parts of p.
func partBytes(p *Package) int64 {
	var n int64
	for _, t := range p.Model().Tables {
		for _, part := range p.Parts(t) {
			n += part.UncompressedSize
		}
	}
	return n
}

// BenchmarkRead_Fixture opens and decodes every row of the fixture with the
// most data; MB/s counts uncompressed part bytes.
func BenchmarkRead_Fixture(b *testing.B) {
	name := filepath.Join(testenv.FixturesDir(b), "AdventureWorksLT.bacpac")
	f, err := OpenFile(name)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(partBytes(f.Package))
	f.Close()
	b.ResetTimer()
	for b.Loop() {
		f, err := OpenFile(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Verify(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkRead_Large writes a synthetic package of BACPORT_BENCH_MB
// (default 64) uncompressed megabytes of rows of several types, then reads
// it back, reporting MB/s and the peak Go heap while reading.
func BenchmarkRead_Large(b *testing.B) {
	mb := 64
	if s := os.Getenv("BACPORT_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	name := filepath.Join(b.TempDir(), "large.bacpac")
	size := writeLargePackage(b, name, int64(mb)<<20)
	b.SetBytes(size)
	b.ResetTimer()
	var peak uint64
	cpu0 := cpuTime()
	for b.Loop() {
		peak = max(peak, readPeakHeap(b, name))
	}
	// On a shared machine wall-clock MB/s undercounts; CPU seconds spent
	// by the process give the rate one idle core would reach.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(size*int64(b.N))/(1<<20)/cpu.Seconds(), "MiB/cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readPeakHeap reads the package through, sampling the heap in use with
// runtime/metrics (which, unlike ReadMemStats, does not stop the world).
func readPeakHeap(b *testing.B, name string) uint64 {
	runtime.GC()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if n := samples[0].Value.Uint64() + samples[1].Value.Uint64(); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f, err := OpenFile(name)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	close(done)
	<-stopped
	return peak.Load()
}

const largeModel = `<?xml version="1.0" encoding="utf-8"?>
<DataSchemaModel xmlns="http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02"><Model>
<Element Type="SqlTable" Name="[dbo].[Big]"><Relationship Name="Columns">%s</Relationship></Element>
</Model></DataSchemaModel>`

const largeColumn = `<Entry><Element Type="SqlSimpleColumn" Name="[dbo].[Big].[%s]">%s
<Relationship Name="TypeSpecifier"><Entry><Element Type="SqlTypeSpecifier">%s<Relationship Name="Type"><Entry><References ExternalSource="BuiltIns" Name="[%s]"/></Entry></Relationship></Element></Entry></Relationship></Element></Entry>`

// writeLargePackage writes a package with one table (int NOT NULL,
// nvarchar(40), datetime2(7) NOT NULL, decimal(18,4), float NULL) split
// into 32 MiB parts, and returns the uncompressed part bytes.
func writeLargePackage(b *testing.B, name string, target int64) int64 {
	b.Helper()
	cols := []string{
		fmt.Sprintf(largeColumn, "Id", `<Property Name="IsNullable" Value="False"/>`, "", "int"),
		fmt.Sprintf(largeColumn, "Name", "", `<Property Name="Length" Value="40"/>`, "nvarchar"),
		fmt.Sprintf(largeColumn, "At", `<Property Name="IsNullable" Value="False"/>`,
			`<Property Name="Scale" Value="7"/>`, "datetime2"),
		fmt.Sprintf(largeColumn, "Amount", "",
			`<Property Name="Scale" Value="4"/><Property Name="Precision" Value="18"/>`, "decimal"),
		fmt.Sprintf(largeColumn, "Ratio", "", `<Property Name="Precision" Value="53"/>`, "float"),
	}
	model := fmt.Sprintf(largeModel, strings.Join(cols, "\n"))

	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, 1)
	})
	mw, _ := zw.Create("model.xml")
	mw.Write([]byte(model))

	const partSize = 32 << 20
	var written, rows int64
	row := make([]byte, 0, 256)
	for part := 0; written < target; part++ {
		w, _ := zw.Create(fmt.Sprintf("Data/dbo.Big/TableData-%03d-00000.BCP", part))
		var n int64
		for n < partSize && written+n < target {
			row = encodeLargeRow(row[:0], rows)
			w.Write(row)
			n += int64(len(row))
			rows++
		}
		written += n
	}
	sum := sha256.Sum256([]byte(model))
	ow, _ := zw.Create("Origin.xml")
	fmt.Fprintf(ow, `<DacOrigin><ExportStatistics><TableRowCountTotalTag>%d</TableRowCountTotalTag>`+
		`</ExportStatistics><Checksums><Checksum Uri="/model.xml">%s</Checksum></Checksums></DacOrigin>`,
		rows, strings.ToUpper(hex.EncodeToString(sum[:])))
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return written
}

func encodeLargeRow(row []byte, i int64) []byte {
	le := binary.LittleEndian
	row = le.AppendUint32(row, uint32(i))
	name := fmt.Sprintf("customer number %d", i*7919)
	row = le.AppendUint16(row, uint16(2*len(name)))
	for _, c := range []byte(name) {
		row = append(row, c, 0)
	}
	// datetime2(7): 5 bytes of 100 ns, 3 bytes of days.
	tod := uint64(i%86400) * 10_000_000
	for k := 0; k < 5; k++ {
		row = append(row, byte(tod>>(8*k)))
	}
	day := 730000 + uint32(i%3000)
	row = append(row, byte(day), byte(day>>8), byte(day>>16))
	if i%5 == 0 {
		row = append(row, 0xff)
	} else {
		row = append(row, 19, 18, 4, 1)
		row = le.AppendUint64(row, uint64(i*12345))
		row = le.AppendUint64(row, 0)
	}
	if i%3 == 0 {
		return append(row, 0xff)
	}
	row = append(row, 8)
	return le.AppendUint64(row, 0x400921fb54442d18)
}
