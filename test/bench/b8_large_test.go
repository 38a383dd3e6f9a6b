//go:build bench

package bench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// BenchmarkLargeNodeResync: node A holds a large node's members
// (QS_BENCH_LARGE_QUEUES queues x 200, default 500 x 200 = 100,000; the
// testbed needs that many extra queues, make bench starts it with 500), B's
// Asterisk and journal hold none of them, B's daemon is stopped: `queuesync
// resync` on B must copy them all (a node of that size once met the peer
// API's body limit and failed, exit 3). Then a second resync with nothing
// to fix, beside its baseline measured in the same run: B's QueueStatus
// plus A's whole state read through the peer API (pages included).
func BenchmarkLargeNodeResync(b *testing.B) {
	queues := 500
	if v, err := strconv.Atoi(os.Getenv("QS_BENCH_LARGE_QUEUES")); err == nil && v > 0 {
		queues = v
	}
	want := memberSet(queues, 200)
	A, B := bed.Nodes[0], bed.Nodes[1]
	stopDaemons()
	ensure(b, A, want)
	ensure(b, B, nil)
	if !waitIdleMax(b, 2*time.Minute) {
		say(b, "Asterisk still busy with device states; the times below are slowed by it")
	}
	startDaemon(b, A, harness.Override{DBURL: scratchDB(b, "qs_bench_large_a")})
	defer A.Stop()
	bed.WriteConfig(B, harness.Override{DBURL: scratchDB(b, "qs_bench_large_b")})
	noteLoad(b)
	for b.Loop() {
		var out string
		var err error
		cold := timed(func() { out, err = bed.Run(B, "resync") })
		say(b, "%d members, B empty: resync exit %d in %s ms", len(want), harness.ExitCode(err), ms(cold))
		if err != nil {
			b.Fatalf("cold resync: %v\n%s", err, tail(out))
		}
		if !sameLive(b, B, want) {
			b.Fatal("after the cold resync B does not hold A's members")
		}
		pc := peerClientOf(b, B, A)
		bcl := dialAMI(b, B, "off")
		var base, noop samples
		for range 3 {
			d := timed(func() {
				if _, err := bcl.QueueStatus(context.Background(), "", ""); err != nil {
					b.Fatal(err)
				}
				snap, err := pc.State(context.Background(), nil, false)
				if err != nil || len(snap.Registers) < len(want) {
					b.Fatalf("GET state: %d registers, %v", len(snap.Registers), err)
				}
			})
			base = append(base, d)
			d = timed(func() { out, err = bed.Run(B, "resync") })
			if err != nil || !strings.Contains(out, "in sync") {
				b.Fatalf("no-op resync: %v\n%s", err, tail(out))
			}
			noop = append(noop, d)
		}
		bcl.Close()
		reportBase(b, "baseline", base)
		reportRatio(b, "noop", noop, base)
		b.ReportMetric(msf(cold), "cold-ms")
	}
}

// tail returns the last lines of a command's output.
func tail(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
