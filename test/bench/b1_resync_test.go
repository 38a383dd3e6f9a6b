//go:build bench

package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// peerClientOf returns a signed peer API client from node from to node to
// (internal/peer's Client, as the CLI and the daemon build it).
func peerClientOf(tb testing.TB, from, to *node) *peer.Client {
	tb.Helper()
	pc, err := peer.NewClient(peer.ClientOptions{Name: to.Name, URL: "http://" + to.Listen, Node: from.Name,
		Secret: []byte(bed.PeerSecret()), HTTP: &http.Client{Timeout: time.Minute}})
	if err != nil {
		tb.Fatal(err)
	}
	return pc
}

// localEngine is B's engine as `queuesync resync` builds it (internal/cli
// openNode): its own AMI session (events off), its journal, a fresh clock.
type localEngine struct {
	ami     *ami.Client
	store   *store.Store
	journal *timingJournal
	eng     *engine.Engine
	phases  map[string]samples // resync's phases, when timed
}

func newLocalEngine(tb testing.TB, n *node, dbURL string) *localEngine {
	tb.Helper()
	st, err := store.Open(context.Background(), dbURL, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	cl := dialAMI(tb, n, "off")
	tb.Cleanup(func() { _ = cl.Close(); st.Close() })
	tj := newTimingJournal(st)
	return &localEngine{ami: cl, store: st, journal: tj, eng: engine.New(engine.Options{
		Node: n.Name, AMI: cl, Journal: tj, Clock: state.NewClock(time.Now, time.Minute),
	})}
}

// resync is internal/cli's syncOnce for mode resync with one peer: the
// journal lock; the peer's state read started, Begin (the local read, at the
// same time), then Sync (reconcile, apply the peer's state, push), End.
func (l *localEngine) resync(ctx context.Context, p engine.Peer) ([]engine.Outcome, error) {
	t := time.Now()
	phase := func(name string) {
		if l.phases != nil {
			l.phases[name] = append(l.phases[name], time.Since(t))
		}
		t = time.Now()
	}
	release, ok, err := l.store.TryLock(ctx, "resync")
	if err != nil || !ok {
		return nil, err
	}
	defer release()
	phase("1 lock")
	pulls := engine.StartPulls(ctx, []engine.Peer{p}, nil, false)
	sess, err := l.eng.Begin(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	phase("2 Begin (the peer's state read meanwhile)")
	res, err := sess.Sync(ctx, []engine.Peer{p}, engine.Direction{Pull: true, Push: true}, nil, pulls)
	phase("3 Sync: reconcile, wait for and apply the peer's state, push")
	if err != nil {
		return nil, err
	}
	if err := res.PeerErrors[p.Name]; err != nil {
		return res.Outcomes, err
	}
	return res.Outcomes, nil
}

// BenchmarkResync10k: `queuesync resync` on node B when both nodes hold the
// same 10,000 dynamic members (50 queues x 200) and both journals agree, so
// there is nothing to fix. Each iteration measures, side by side in a
// rotating order:
//
//   - baseline: the least any resync must do: a bare AMI QueueStatus on B
//     and a bare signed GET /queue/v1/state from A's daemon (which itself
//     reconciles A's live state into its journal before answering);
//   - inproc: the same work as the command, in process, on connections
//     already open: journal lock, engine Begin, Reconcile, Pull, Push;
//   - exec: the real command, bin/queuesync resync, as cron runs it (process
//     start, config, PostgreSQL and AMI login included).
//
// Both daemons run, as in production.
func BenchmarkResync10k(b *testing.B) {
	want := members10k()
	prepare(b, want)
	B, A := bed.Nodes[1], bed.Nodes[0]
	ctx := context.Background()
	if out, err := bed.Run(B, "resync"); err != nil || !strings.Contains(out, "in sync") {
		b.Fatalf("warm-up resync on %s: %v\n%s", B.Name, err, out)
	}
	bcl := dialAMI(b, B, "off")
	defer bcl.Close()
	pc := peerClientOf(b, B, A)
	le := newLocalEngine(b, B, B.DBURL)
	p := engine.Peer{Name: A.Name, Client: pc, Shares: func(string) bool { return true }}

	// One untimed round of each, so that connections and caches are warm.
	if _, err := le.resync(ctx, p); err != nil {
		b.Fatal(err)
	}
	if _, err := pc.State(ctx, nil, false); err != nil {
		b.Fatal(err)
	}
	le.journal.reset()
	le.phases = map[string]samples{}
	var base, baseAMI, baseHTTP, inproc, execd samples
	baseCPU, inprocCPU := cpuTimes{}, cpuTimes{}
	var allocB, allocN uint64
	steps := []func(){
		func() {
			var dq, dh time.Duration
			defer cpuFrom(baseCPU)()
			dq = timed(func() {
				qs, err := bcl.QueueStatus(ctx, "", "")
				if err != nil || len(qs.Members) < len(want) {
					b.Fatalf("QueueStatus: %d members, %v", len(qs.Members), err)
				}
			})
			dh = timed(func() {
				snap, err := pc.State(ctx, nil, false)
				if err != nil || len(snap.Registers) < len(want) {
					b.Fatalf("GET state: %d registers, %v", len(snap.Registers), err)
				}
			})
			base, baseAMI, baseHTTP = append(base, dq+dh), append(baseAMI, dq), append(baseHTTP, dh)
		},
		func() {
			var outs []engine.Outcome
			var err error
			defer cpuFrom(inprocCPU)()
			d := timed(func() {
				bs, n := allocs(func() { outs, err = le.resync(ctx, p) })
				allocB, allocN = allocB+bs, allocN+n
			})
			if err != nil {
				b.Fatalf("in-process resync: %v", err)
			}
			for _, o := range outs {
				if o.Changed() {
					b.Fatalf("in-process resync changed %s/%s: %s (%v)", o.Queue, o.Interface, o.Result, o.Err)
				}
			}
			inproc = append(inproc, d)
		},
		func() {
			var out string
			var err error
			d := timed(func() { out, err = bed.Run(B, "resync") })
			if err != nil || !strings.Contains(out, "in sync") {
				b.Fatalf("resync: %v\n%s", err, out)
			}
			execd = append(execd, d)
		},
	}
	i := 0
	for b.Loop() {
		for j := range steps {
			steps[(i+j)%len(steps)]()
		}
		i++
	}
	reportBase(b, "baseline", base)
	reportBase(b, "base-queuestatus", baseAMI)
	reportBase(b, "base-getstate", baseHTTP)
	reportRatio(b, "inproc", inproc, base)
	reportRatio(b, "exec", execd, base)
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(le.phases)) {
		parts = append(parts, fmt.Sprintf("%s %s", name[2:], ms(le.phases[name].median())))
	}
	say(b, "in-process phases (median ms): %s", strings.Join(parts, ", "))
	b.ReportMetric(msf(le.journal.total())/float64(len(inproc)), "inproc-journal-ms")
	say(b, "in-process journal time over %d resyncs: %s", len(inproc), le.journal)
	say(b, "baseline, per run: %s", baseCPU.perRun(len(base)))
	say(b, "in process, per run: %s", inprocCPU.perRun(len(inproc)))
	b.ReportMetric(float64(allocB)/float64(len(inproc)), "inproc-B/resync")
	b.ReportMetric(float64(allocN)/float64(len(inproc)), "inproc-allocs/resync")
}
