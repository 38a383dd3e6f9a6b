//go:build bench

package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// BenchmarkDaemonRSS measures daemon B's memory with 0 (the baseline),
// 10,000 (50 queues x 200), 50,000 (250 x 200) and 100,000 (500 queues x
// 200) dynamic members
// on its Asterisk: VmRSS and VmHWM (peak) from /proc/PID/status, and the Go
// heap in use from its metrics, 2 s after its first full reconcile ends;
// once with an empty journal (the first start: every member is journalled)
// and once restarted on that journal (the usual restart: nothing to write).
// Daemon A is stopped and B's peer URL points nowhere, so no delivery
// runs: the figure is the daemon holding its node, not a transfer. For each
// size it also runs the same first reconcile in process (engine Begin and
// Reconcile on an empty journal) and reports its allocations and the Go
// heap in use at its end, which a -memprofile of this benchmark breaks
// down. Needs
// the testbed started with QS_EXTRA_QUEUES=500 (make bench does).
func BenchmarkDaemonRSS(b *testing.B) {
	stopDaemons()
	B := bed.Nodes[1]
	noteLoad(b)
	sizes := []struct {
		name string
		set  []member
	}{{"0", nil}, {"10k", members10k()}, {"50k", memberSet(250, 200)}, {"100k", memberSet(500, 200)}}
	for b.Loop() {
		var base int64
		for _, sz := range sizes {
			ensure(b, B, sz.set)
			// Adding 90,000 members Asterisk has never seen leaves it
			// busy with their device states for minutes (app_queue
			// matches each against every member); that slows the
			// daemon's QueueStatus, not its memory: wait 30 s at most.
			if !waitIdleMax(b, 30*time.Second) {
				say(b, "%s members: Asterisk B still busy with device states; the reconcile times below are slowed by it", sz.name)
			}
			dbURL := scratchDB(b, "qs_bench_rss") // empty and migrated
			conf := harness.Override{DBURL: dbURL, PeerURL: "http://127.0.0.1:1"}
			for _, run := range []string{"first start", "restart"} {
				t0 := time.Now()
				startDaemon(b, B, conf)
				took := time.Since(t0)
				time.Sleep(2 * time.Second)
				st, err := harness.ProcStatus(B.Daemon().Pid())
				if err != nil {
					b.Fatal(err)
				}
				m, err := B.Scrape()
				if err != nil {
					b.Fatal(err)
				}
				B.Stop()
				rss, hwm := st["VmRSS"], st["VmHWM"]
				if sz.name == "0" && run == "first start" {
					base = rss
				}
				say(b, "%5s members, %-11s: VmRSS %6.1f MB (%+.1f MB over idle), VmHWM %6.1f MB, Go heap in use %6.1f MB; started and reconciled in %s ms",
					sz.name, run, float64(rss)/1024, float64(rss-base)/1024, float64(hwm)/1024, m["go_memstats_heap_inuse_bytes"]/(1<<20), ms(took))
				tag := sz.name
				if run == "restart" {
					tag += "-restart"
				}
				b.ReportMetric(float64(rss)/1024, fmt.Sprintf("rss-MB@%s", tag))
				b.ReportMetric(float64(hwm)/1024, fmt.Sprintf("hwm-MB@%s", tag))
			}
			inprocReconcile(b, sz.name, dbURL)
		}
	}
	bed.WriteConfig(B, harness.Override{})
}

// inprocReconcile runs the daemon's first full reconcile in process on an
// empty journal and reports what it allocates and what it holds at the end.
func inprocReconcile(b *testing.B, size, dbURL string) {
	scratchDB(b, "qs_bench_rss")
	le := newLocalEngine(b, bed.Nodes[1], dbURL)
	ctx := context.Background()
	runtime.GC()
	var peak uint64
	bs, objs := allocs(func() {
		sess, err := le.eng.Begin(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sess.Reconcile(ctx); err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = ms.HeapInuse
		sess.End()
	})
	say(b, "%5s members, in-process first reconcile: %.1f MB allocated in %d objects; Go heap in use at its end %.1f MB",
		size, float64(bs)/(1<<20), objs, float64(peak)/(1<<20))
	b.ReportMetric(float64(bs)/(1<<20), fmt.Sprintf("reconcile-alloc-MB@%s", size))
}
