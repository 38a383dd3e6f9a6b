//go:build bench

package bench

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// node is one side of the pair (test/internal/harness): a real Asterisk
// (testbed instance i), a journal database and, when started, a daemon.
// Node A (sop1) is ast0, node B (sop2) is ast1.
type node = harness.Node

// newCluster sets the pair up: the binary as released (no race detector,
// static, stripped), fresh journals, configs with metrics listeners, the
// peer reached directly; no daemon runs yet. QS_BENCH_DIR keeps the working
// directory (binary, configs, logs); QS_BENCH_PROFILE, a directory, turns
// the daemons' profilers on (see profileDaemons).
func newCluster(env harness.Env) (*harness.Cluster, error) {
	dir := os.Getenv("QS_BENCH_DIR")
	return harness.New(env, harness.Options{Dir: dir, DBPrefix: "qs_bench_", LogLevel: "info", Metrics: true,
		Pprof:      os.Getenv("QS_BENCH_PROFILE") != "",
		PeerSecret: "bench-shared-secret-0123456789abcdef", CLITimeout: 5 * time.Minute})
}

// startDaemon starts n's daemon with config o and returns once it listens
// and has finished its first full reconcile.
func startDaemon(tb testing.TB, n *node, o harness.Override) {
	tb.Helper()
	if _, err := n.Start(harness.StartOptions{Config: o, Wait: harness.WaitReconcile}); err != nil {
		tb.Fatal(err)
	}
}

// startWithPage starts n's daemon as startDaemon does, with its status
// page on, and returns the page's address.
func startWithPage(tb testing.TB, n *node) string {
	tb.Helper()
	web, err := harness.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	os.Setenv("QUEUESYNC_WEB_LISTEN", web) // this node only
	defer os.Unsetenv("QUEUESYNC_WEB_LISTEN")
	startDaemon(tb, n, harness.Override{})
	return web
}

// stopDaemons stops the daemon of every node.
func stopDaemons() {
	for _, n := range bed.Nodes {
		n.Stop()
	}
}

// get fetches url, with the request headers hdr (name, value pairs), and
// returns the body; it fails tb unless the answer is 200 OK.
func get(tb testing.TB, url string, hdr ...string) []byte {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return body
}

// scratchDB creates database db afresh with the journal schema and returns
// its URL.
func scratchDB(tb testing.TB, db string) string {
	tb.Helper()
	url, err := bed.ScratchDB(bed.Nodes[1], db)
	if err != nil {
		tb.Fatal(err)
	}
	return url
}

// client returns n's shared AMI session (events off), dialling it when
// needed.
func client(tb testing.TB, n *node) *ami.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := n.Session(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

// dialAMI logs in to n's Asterisk with the given event mask and room for
// a burst of events.
func dialAMI(tb testing.TB, n *node, events string) *ami.Client {
	tb.Helper()
	return n.TestClient(tb, events, ami.Options{EventBuffer: 1 << 16})
}

// waitIdle waits until both Asterisk instances use less than 5% of a CPU
// over half a second: adding or removing thousands of members leaves
// Asterisk busy with device-state work for a while, which would disturb the
// next measurement.
func waitIdle(tb testing.TB) { waitIdleMax(tb, 10*time.Minute) }

// waitIdleMax is waitIdle giving up after limit; it reports whether
// Asterisk became idle.
func waitIdleMax(tb testing.TB, limit time.Duration) bool {
	tb.Helper()
	return waitIdleNodes(tb, limit, bed.Nodes...)
}

// waitIdleOf waits until n's Asterisk alone is idle.
func waitIdleOf(tb testing.TB, n *node) { tb.Helper(); waitIdleNodes(tb, 10*time.Minute, n) }

func waitIdleNodes(tb testing.TB, limit time.Duration, nodes ...*node) bool {
	tb.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		busy := false
		for _, n := range nodes {
			pid := n.AsteriskPid()
			t0 := harness.CPUTime(pid)
			time.Sleep(500 * time.Millisecond)
			if harness.CPUTime(pid)-t0 > 25*time.Millisecond {
				busy = true
			}
		}
		if !busy {
			if d := time.Since(start); d > 2*time.Second {
				tb.Logf("waited %s for Asterisk to become idle", d.Round(100*time.Millisecond))
			}
			return true
		}
	}
	tb.Logf("Asterisk still busy after %s; measuring anyway", limit)
	return false
}
