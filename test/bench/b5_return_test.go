//go:build bench

package bench

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// BenchmarkPeerReturn1000: daemon B is stopped, 1,000 members of A
// (q011..q015) are paused or unpaused on A, A's daemon journals them; then
// daemon B starts. Reported: the time from B's start until B's Asterisk
// holds all 1,000 changes (each seen as a QueueMemberPause event on B), with
// the steps on the way (B's peer API listening, B's first reconcile done).
// Three trials; health_interval is the production default, 2 s. There is no
// bare-AMI equivalent of this; for scale, the same 1,000 changes sent
// pipelined to B's Asterisk take what BenchmarkCorrections1000/pause's raw
// side shows.
func BenchmarkPeerReturn1000(b *testing.B) {
	want := members10k()
	prepare(b, want)
	A, B := bed.Nodes[0], bed.Nodes[1]
	pool := want[2000:3000]
	ctx := context.Background()
	trial := 0
	var conv, listen, recon samples
	for b.Loop() {
		for range 3 {
			B.Stop()
			paused := trial%2 == 0
			reason := ""
			if paused {
				reason = fmt.Sprintf("back%d", trial)
			}
			cl := client(b, A)
			if err := parallel(len(pool), len(pool), func(i int) error {
				return cl.QueuePause(ctx, pool[i].Queue, pool[i].Interface, paused, reason)
			}); err != nil {
				b.Fatal(err)
			}
			waitJournalled(b, A, pool, paused, reason)
			waitIdle(b)
			ob := observe(b, B)
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
			say(b, "trial %d: B listening after %s ms, reconciled after %s ms, all 1,000 changes on B after %s ms",
				trial, ms(tListen.Sub(t0)), ms(tRecon.Sub(t0)), ms(last.Sub(t0)))
			trial++
			waitIdle(b)
		}
	}
	b.ReportMetric(msf(conv.median()), "converged-ms")
	b.ReportMetric(msf(conv.pct(100)), "converged-max-ms")
	b.ReportMetric(msf(recon.median()), "reconciled-ms")
	say(b, "convergence after B's return: median %s ms, max %s ms (B listening: median %s ms; B reconciled: median %s ms)",
		ms(conv.median()), ms(conv.pct(100)), ms(listen.median()), ms(recon.median()))
	restorePool(b, pool, want)
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
