//go:build bench

package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// BenchmarkPeerReturn10k: daemon B is stopped, QS_BENCH_RETURN_N members
// of A (default 10,000: every member of q001..q050) are paused or unpaused
// on A, A's daemon journals them; then daemon B starts. Reported: the time
// from B's start until B's Asterisk holds all the changes (each seen as a
// QueueMemberPause event on B), with the steps on the way (B's peer API
// listening, B's first reconcile done), beside the baseline measured in the
// same trial: the changes themselves, sent at once, pipelined, to A's
// Asterisk by a bare AMI client while no daemon runs (the cost of making
// them in Asterisk, without any of queuesync's work; A's daemon then
// journals them at its start). Three trials; health_interval is the
// production default, 2 s.
func BenchmarkPeerReturn10k(b *testing.B) {
	want := members10k()
	prepare(b, want)
	A, B := bed.Nodes[0], bed.Nodes[1]
	n := len(want)
	if v, err := strconv.Atoi(os.Getenv("QS_BENCH_RETURN_N")); err == nil && v > 0 && v <= len(want) {
		n = v
	}
	pool := want[:n]
	trial := 0
	var conv, listen, recon, raw samples
	rawCPU, returnCPU := cpuTimes{}, cpuTimes{}
	for b.Loop() {
		for range 3 {
			// Both daemons stopped: the changes made on A meanwhile are
			// the baseline (sent at once, pipelined, to an Asterisk with
			// no daemon at work), then A's daemon journals them at its
			// start and holds them for B.
			stopDaemons()
			paused := trial%2 == 0
			reason := ""
			if paused {
				reason = fmt.Sprintf("back%d", trial)
			}
			var rd time.Duration
			cpuOf(rawCPU, func() { rd = rawPauses(b, A, pool, paused, reason) })
			raw = append(raw, rd)
			startDaemon(b, A, harness.Override{})
			waitJournalled(b, A, pool, paused, reason)
			waitIdle(b)
			ob := observe(b, B)
			stopCPU := cpuFrom(returnCPU)
			t0 := time.Now()
			d, err := B.Start(harness.StartOptions{Wait: harness.NoWait})
			if err != nil {
				b.Fatal(err)
			}
			var tListen, tRecon time.Time
			done := map[string]time.Time{}
			deadline := t0.Add(2 * time.Minute)
			for len(done) < len(pool) && time.Now().Before(deadline) {
				if tListen.IsZero() {
					if c, err := net.DialTimeout("tcp", B.Listen, 50*time.Millisecond); err == nil {
						c.Close()
						tListen = time.Now()
					}
				}
				if tRecon.IsZero() && B.LogHas(d.Mark, harness.ReconciledMsg) {
					tRecon = time.Now()
				}
				for _, e := range ob.events() {
					if e.paused == paused && e.reason == reason {
						if _, ok := done[e.key]; !ok {
							done[e.key] = e.at
						}
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			stopCPU()
			ob.close()
			if len(done) < len(pool) {
				b.Fatalf("trial %d: B holds %d of %d changes after 2 minutes", trial, len(done), len(pool))
			}
			var last time.Time
			for _, at := range done {
				if at.After(last) {
					last = at
				}
			}
			if tRecon.IsZero() {
				tRecon = last
			}
			conv, listen, recon = append(conv, last.Sub(t0)), append(listen, tListen.Sub(t0)), append(recon, tRecon.Sub(t0))
			say(b, "trial %d: B listening after %s ms, reconciled after %s ms, all %d changes on B after %s ms (the same changes pipelined to A's Asterisk, no daemon running: %s ms)",
				trial, ms(tListen.Sub(t0)), ms(tRecon.Sub(t0)), len(pool), ms(last.Sub(t0)), ms(rd))
			trial++
			waitIdle(b)
		}
	}
	b.ReportMetric(msf(conv.median()), "converged-ms")
	b.ReportMetric(msf(conv.pct(100)), "converged-max-ms")
	b.ReportMetric(msf(recon.median()), "reconciled-ms")
	b.ReportMetric(msf(raw.median()), "raw-ms")
	say(b, "convergence after B's return with %d changes: median %s ms, max %s ms (B listening: median %s ms; B reconciled: median %s ms; baseline, the changes pipelined to A's Asterisk with no daemon running: median %s ms)",
		len(pool), ms(conv.median()), ms(conv.pct(100)), ms(listen.median()), ms(recon.median()), ms(raw.median()))
	say(b, "baseline, per trial: %s", rawCPU.perRun(len(raw)))
	say(b, "B's return, per trial (until every change is on B, 10 ms polls included): %s", returnCPU.perRun(len(conv)))
	restorePool(b, pool, want)
}

// rawPauses sends the pool's pause (or unpause) to n's Asterisk at once,
// pipelined on one bare AMI connection, and returns how long it took.
func rawPauses(b *testing.B, n *node, pool []member, paused bool, reason string) time.Duration {
	b.Helper()
	if !paused {
		reason = ""
	}
	cl := dialAMI(b, n, "off")
	defer cl.Close()
	ctx := context.Background()
	return timed(func() {
		if err := parallel(len(pool), len(pool), func(i int) error {
			return cl.QueuePause(ctx, pool[i].Queue, pool[i].Interface, paused, reason)
		}); err != nil {
			b.Fatal(err)
		}
	})
}

// waitJournalled waits until n's journal holds the pool in the given pause
// state: the changes are in A's outbox.
func waitJournalled(tb testing.TB, n *node, pool []member, paused bool, reason string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	prefix := fmt.Sprintf("%t|%t|%s|", true, paused, reason)
	if !paused {
		prefix = "true|false|" // an unpaused register may keep its last reason
	}
	for time.Now().Before(deadline) {
		j := journalVersions(tb, n.DBURL)
		all := true
		for _, m := range pool {
			if !strings.HasPrefix(j[m.key()], prefix) {
				all = false
				break
			}
		}
		if all {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("%s did not journal the %d changes within a minute", n.Name, len(pool))
}
