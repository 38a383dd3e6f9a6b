//go:build bench

package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// BenchmarkScrape10k measures one scrape of daemon A's metrics with 10,000
// members (50 queues x 200) on both nodes, once both daemons have compared
// their journals (queuesync_queue_in_sync for every queue) and counted the
// members by state: its size, which must stay under 1 MB, and how long it
// takes to serve. The agreement and member-count series grow with queues
// and peers, not with members. Needs the testbed started with
// QS_EXTRA_QUEUES=50 or more (make bench does).
func BenchmarkScrape10k(b *testing.B) {
	stopDaemons()
	set := members10k()
	for _, n := range bed.Nodes {
		ensure(b, n, set)
	}
	waitIdle(b)
	A := bed.Nodes[0]
	startDaemon(b, bed.Nodes[1], harness.Override{})
	web := startWithPage(b, A)
	// Every queue compared with B, and the members counted (every fifth
	// check): about 10 s at the default health_interval of 2 s.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		m, err := A.Scrape()
		if err == nil && countPrefix(m, `queuesync_queue_in_sync{peer="sop2",queue="q0`) >= 50 &&
			m[`queuesync_queue_members{queue="q001",state="available"}`] == 200 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("A's metrics never showed 50 queues compared and counted: %v", err)
		}
		time.Sleep(time.Second)
	}
	var size int
	var took time.Duration
	for b.Loop() {
		t0 := time.Now()
		body := get(b, "http://"+A.Metrics+"/metrics")
		took, size = time.Since(t0), len(body)
	}
	if size >= 1<<20 {
		b.Errorf("scrape of %d bytes at 10,000 members, want under 1 MB", size)
	}
	b.ReportMetric(float64(size), "scrape-bytes")
	b.ReportMetric(float64(took.Microseconds())/1000, "scrape-ms")
	say(b, "scrape at 10,000 members in 50 queues, 1 peer: %d bytes, served in %s", size, took)
	pageSize, pageTook := statusPage(b, web)
	b.ReportMetric(float64(pageSize), "page-json-gz-bytes")
	b.ReportMetric(float64(pageTook.Microseconds())/1000, "page-json-ms")
	say(b, "status page JSON at 10,000 members: %d bytes gzipped, built and served in %s (median of 5)", pageSize, pageTook)
}

// statusPage fetches the status page's /api/v1/queues five times, each
// after its cache expired, gzipped as a browser asks for it, and returns
// its size on the wire and the median time.
func statusPage(b *testing.B, addr string) (int, time.Duration) {
	var size int
	var times samples
	for range 5 {
		// The daemon serves a built page again for three times as long as
		// it took to build: a build of up to 1.6 s is over by then.
		time.Sleep(5 * time.Second)
		t0 := time.Now()
		body := get(b, "http://"+addr+"/api/v1/queues", "Accept-Encoding", "gzip") // as a browser: the size on the wire
		times = append(times, time.Since(t0))
		size = len(body)
	}
	return size, times.median()
}

// countPrefix counts the series of m whose name and labels start with p.
func countPrefix(m map[string]float64, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}
