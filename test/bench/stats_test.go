//go:build bench

package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// samples are durations measured one per iteration.
type samples []time.Duration

func (s samples) sorted() samples {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// pct returns the p-th percentile (0..100), nearest rank.
func (s samples) pct(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := s.sorted()
	i := int(p/100*float64(len(c))+0.5) - 1
	return c[max(0, min(i, len(c)-1))]
}

func (s samples) median() time.Duration { return s.pct(50) }

func (s samples) String() string {
	var b strings.Builder
	for i, d := range s {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(ms(d))
	}
	return b.String()
}

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// allocs measures the heap allocations of f in this process (the engine's,
// in-process): bytes and objects.
func allocs(f func()) (bytes, objects uint64) {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc, b.Mallocs - a.Mallocs
}

// say prints a result line to stdout (go test shows only the first lines of
// a benchmark's log) and appends it to $QS_BENCH_REPORT when set.
func say(b testing.TB, format string, args ...any) {
	line := fmt.Sprintf("%s: %s\n", b.Name(), fmt.Sprintf(format, args...))
	fmt.Print(line)
	if p := os.Getenv("QS_BENCH_REPORT"); p != "" {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			_, _ = f.WriteString(line)
			f.Close()
		}
	}
}

// reportRatio reports the medians of baseline and measured samples in ms and
// their ratio (measured / baseline), and logs every sample.
func reportRatio(b *testing.B, name string, measured, baseline samples) {
	b.Helper()
	r := float64(measured.median()) / float64(baseline.median())
	b.ReportMetric(msf(measured.median()), name+"-ms")
	b.ReportMetric(r, name+"-ratio")
	say(b, "%-18s median %8s ms  p90 %8s ms  ratio %.2fx  samples: %s", name, ms(measured.median()), ms(measured.pct(90)), r, measured)
}

func reportBase(b *testing.B, name string, baseline samples) {
	b.Helper()
	b.ReportMetric(msf(baseline.median()), name+"-ms")
	say(b, "%-18s median %8s ms  p90 %8s ms  samples: %s", name, ms(baseline.median()), ms(baseline.pct(90)), baseline)
}
