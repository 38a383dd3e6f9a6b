//go:build bench

package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// pauseEvent is a QueueMemberPause event as an observer saw it.
type pauseEvent struct {
	key    string
	paused bool
	reason string
	at     time.Time
}

// observer records the QueueMemberPause events of one node, with the time
// each one arrived, on an AMI session of its own (Events: agent).
type observer struct {
	cl   *ami.Client
	mu   sync.Mutex
	evs  []pauseEvent
	gaps int
	done chan struct{}
}

func observe(tb testing.TB, n *node) *observer {
	tb.Helper()
	o := &observer{cl: dialAMI(tb, n, "agent"), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for {
			ev, err := o.cl.NextEvent(context.Background())
			if err != nil {
				return
			}
			at := time.Now()
			if ev.Gap {
				o.mu.Lock()
				o.gaps++
				o.mu.Unlock()
				continue
			}
			if !strings.EqualFold(ev.Event(), "QueueMemberPause") {
				continue
			}
			m := ami.DecodeQueueMember(ev.Message)
			pe := pauseEvent{key: strings.ToLower(m.Queue) + "/" + strings.ToLower(m.Interface), paused: m.Paused, at: at}
			if m.Paused {
				pe.reason = m.PausedReason
			}
			o.mu.Lock()
			o.evs = append(o.evs, pe)
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *observer) close() {
	_ = o.cl.Close()
	<-o.done
}

func (o *observer) events() []pauseEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.evs)
}

// change is one member change made on node A.
type change struct {
	seq    int
	m      member
	paused bool
	reason string
	sent   time.Time // just before the action was queued on A's AMI session
	err    error
	aAt    time.Time // A's QueueMemberPause for it
	bAt    time.Time // B's: the change (or a later one of the same member) applied on B
}

// matchEvents sets aAt and bAt of each change from the events seen on A
// and B. A change's own event is the member's first event after it was
// sent with its paused state and (when pausing) its reason; on B, a change
// counts as applied as soon as it or a later change of the same member is,
// because the daemons replicate state, not every intermediate step.
func matchEvents(chs []*change, aEvs, bEvs []pauseEvent) {
	byMember := map[string][]*change{}
	for _, c := range chs {
		byMember[c.m.key()] = append(byMember[c.m.key()], c)
	}
	set := func(evs []pauseEvent, get func(*change) *time.Time, carry bool) {
		evBy := map[string][]pauseEvent{}
		for _, e := range evs {
			evBy[e.key] = append(evBy[e.key], e)
		}
		for k, cs := range byMember {
			es := evBy[k]
			direct := make([]time.Time, len(cs))
			used := make([]bool, len(es))
			for i, c := range cs {
				for j, e := range es {
					if used[j] || e.at.Before(c.sent) || e.paused != c.paused || (c.paused && e.reason != c.reason) {
						continue
					}
					used[j], direct[i] = true, e.at
					break
				}
			}
			var later time.Time
			for i := len(cs) - 1; i >= 0; i-- {
				t := direct[i]
				if carry && !later.IsZero() && (t.IsZero() || later.Before(t)) {
					t = later
				}
				*get(cs[i]) = t
				if !t.IsZero() {
					later = t
				}
			}
		}
	}
	set(aEvs, func(c *change) *time.Time { return &c.aAt }, false)
	set(bEvs, func(c *change) *time.Time { return &c.bAt }, true)
}

// driver makes changes on A at a fixed rate, pipelined on one AMI session.
type driver struct {
	cl       *ami.Client
	pool     []member
	toggle   bool // alternate pause and unpause per member; else pause with a new reason each time
	tag      string
	maxInFly int64

	mu      sync.Mutex
	changes []*change
	inFly   atomic.Int64
	peak    atomic.Int64
	capped  atomic.Bool
	seq     int
	wg      sync.WaitGroup
}

// run sends rate changes a second for d and returns when all are answered.
func (dr *driver) run(ctx context.Context, rate float64, d time.Duration) []*change {
	start := time.Now()
	tick := 5 * time.Millisecond
	if rate <= 200 {
		tick = time.Duration(float64(time.Second) / rate)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	sent := 0
	var out []*change
	for now := start; now.Sub(start) < d; now = <-t.C {
		due := int(math.Round(rate * now.Sub(start).Seconds()))
		if sent == 0 {
			due = max(due, 1)
		}
		for ; sent < due; sent++ {
			if dr.maxInFly > 0 && dr.inFly.Load() >= dr.maxInFly {
				dr.capped.Store(true)
				sent = due // the driver falls behind: skip, do not queue
				break
			}
			out = append(out, dr.send(ctx))
		}
	}
	dr.wg.Wait()
	return out
}

func (dr *driver) send(ctx context.Context) *change {
	dr.mu.Lock()
	seq := dr.seq
	dr.seq++
	dr.mu.Unlock()
	m := dr.pool[seq%len(dr.pool)]
	c := &change{seq: seq, m: m, paused: true, reason: fmt.Sprintf("%s%d", dr.tag, seq)}
	if dr.toggle && (seq/len(dr.pool))%2 == 1 {
		c.paused, c.reason = false, ""
	}
	dr.mu.Lock()
	dr.changes = append(dr.changes, c)
	dr.mu.Unlock()
	n := dr.inFly.Add(1)
	if n > dr.peak.Load() {
		dr.peak.Store(n)
	}
	dr.wg.Add(1)
	c.sent = time.Now()
	go func() {
		defer dr.wg.Done()
		defer dr.inFly.Add(-1)
		c.err = dr.cl.QueuePause(ctx, m.Queue, m.Interface, c.paused, c.reason)
	}()
	return c
}

// latencies returns bAt-sent (and bAt-aAt) of the applied changes, and how
// many were not applied.
func latencies(chs []*change) (fromSend, fromA samples, missing int) {
	for _, c := range chs {
		if c.bAt.IsZero() {
			missing++
			continue
		}
		fromSend = append(fromSend, c.bAt.Sub(c.sent))
		if !c.aAt.IsZero() {
			fromA = append(fromA, c.bAt.Sub(c.aAt))
		}
	}
	return fromSend, fromA, missing
}

// slowest reports when the n slowest changes were sent (seconds into the
// run) and how long each took, A's event -> B's event: stalls that come
// at a period point at the periodic work that causes them.
func slowest(b *testing.B, chs []*change, n int) {
	var seen []*change
	for _, c := range chs {
		if !c.bAt.IsZero() && !c.aAt.IsZero() {
			seen = append(seen, c)
		}
	}
	if len(seen) == 0 {
		return
	}
	start := chs[0].sent
	sort.Slice(seen, func(i, j int) bool { return seen[i].bAt.Sub(seen[i].aAt) > seen[j].bAt.Sub(seen[j].aAt) })
	var parts []string
	for _, c := range seen[:min(n, len(seen))] {
		parts = append(parts, fmt.Sprintf("%.2fs:%s", c.sent.Sub(start).Seconds(), ms(c.bAt.Sub(c.aAt))))
	}
	say(b, "slowest %d (sent at, A event -> B event ms): %s", len(parts), strings.Join(parts, " "))
}

// waitApplied waits until every change has an event on B (or timeout).
func waitApplied(chs []*change, a, b *observer, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		matchEvents(chs, a.events(), b.events())
		_, _, missing := latencies(chs)
		if missing == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restorePool unpauses the pool on A, waits until B agrees, and waits for
// the journals to settle, so that the next benchmark starts clean.
func restorePool(tb testing.TB, pool, want []member) {
	tb.Helper()
	ctx := context.Background()
	cl := client(tb, bed.Nodes[0])
	if err := parallel(len(pool), 256, func(i int) error {
		return cl.QueuePause(ctx, pool[i].Queue, pool[i].Interface, false, "")
	}); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !sameLive(tb, bed.Nodes[1], want) {
		if time.Now().After(deadline) {
			tb.Logf("B did not converge after the run; the next benchmark prepares again")
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ok, _ := synced(tb, want); !ok {
		time.Sleep(time.Second)
	}
}

// histogram reads a Prometheus histogram's cumulative buckets.
func histogram(m map[string]float64, name string) map[float64]float64 {
	return buckets(m, name+`_bucket{le="`)
}

// buckets returns the buckets of a histogram whose bucket series start
// with prefix (the name and labels up to the le value's quote).
func buckets(m map[string]float64, prefix string) map[float64]float64 {
	out := map[float64]float64{}
	for k, v := range m {
		le, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		le = strings.TrimSuffix(le, `"}`)
		f, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			f, err = math.Inf(1), nil
		}
		if err == nil {
			out[f] = v
		}
	}
	return out
}

// histQuantile returns the upper bound of the bucket holding quantile q of
// the observations between two scrapes, and their count.
func histQuantile(before, after map[float64]float64, q float64) (float64, float64) {
	var les []float64
	for le := range after {
		les = append(les, le)
	}
	slices.Sort(les)
	total := after[math.Inf(1)] - before[math.Inf(1)]
	for _, le := range les {
		if after[le]-before[le] >= q*total {
			return le, total
		}
	}
	return math.Inf(1), total
}

// BenchmarkLiveLatency100: two daemons; 100 changes a second on A for 20 s
// (pause and unpause, each of 200 members of queue q001 in turn, on a node
// holding 10,000 members); each change's latency is the time B's
// QueueMemberPause event arrives minus the time A's action was sent (and
// minus the time A's own event arrived). Baseline: A's own event after the
// action was sent (what a bare AMI change costs on one node).
func BenchmarkLiveLatency100(b *testing.B) { benchLiveLatency(b, true) }

// BenchmarkLiveLatencyReasons100 is BenchmarkLiveLatency100 with each
// change giving a paused member a new reason (the pool paused beforehand):
// Asterisk spends a sixteenth of a real pause's work on it
// (BenchmarkSustainedRate's baseline), so this is queuesync's latency on a
// machine Asterisk's own work does not load.
func BenchmarkLiveLatencyReasons100(b *testing.B) { benchLiveLatency(b, false) }

func benchLiveLatency(b *testing.B, toggle bool) {
	want := members10k()
	prepare(b, want)
	pool := want[:200]
	dur := 20 * time.Second
	if v := os.Getenv("QS_BENCH_LIVE_SECONDS"); v != "" {
		if s, err := strconv.Atoi(v); err == nil {
			dur = time.Duration(s) * time.Second
		}
	}
	rate := 100.0
	if v := os.Getenv("QS_BENCH_LIVE_RATE"); v != "" {
		if r, err := strconv.ParseFloat(v, 64); err == nil && r > 0 {
			rate = r
		}
	}
	if !toggle {
		asteriskAlone(b, bed.Nodes[0], pool, "before") // not a reason the driver gives
	}
	for b.Loop() {
		liveLatency(b, pool, rate, dur, toggle)
	}
	restorePool(b, pool, want)
}

// BenchmarkLiveLatencyWallboard is BenchmarkLiveLatency100 while a
// wallboard polls daemon A's status page (/api/v1/queues, every member of
// both nodes) four times a second: the page's data is read from both
// nodes' Asterisk and journals while their live paths run.
func BenchmarkLiveLatencyWallboard(b *testing.B) {
	want := members10k()
	prepare(b, want)
	A := bed.Nodes[0]
	A.Stop()
	web := startWithPage(b, A)
	defer A.Stop() // the next benchmark's prepare starts it without the page
	waitIdle(b)
	ctx, cancel := context.WithCancel(context.Background())
	builds := make(chan int, 1)
	go func() { builds <- pollPage(ctx, web, 250*time.Millisecond) }()
	for b.Loop() {
		liveLatency(b, want[:200], 100, 20*time.Second, true)
	}
	cancel()
	say(b, "status page: %d answers read while the changes ran", <-builds)
	restorePool(b, want[:200], want)
}

// pollPage reads the status page's data every interval until ctx ends, as
// a wallboard does, and returns how many answers it read.
func pollPage(ctx context.Context, addr string, interval time.Duration) int {
	n := 0
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/queues", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			n++
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
	return n
}

func liveLatency(b *testing.B, pool []member, rate float64, dur time.Duration, toggle bool) {
	A, B := bed.Nodes[0], bed.Nodes[1]
	oa, ob := observe(b, A), observe(b, B)
	defer oa.close()
	defer ob.close()
	before, err := A.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	beforeB, err := B.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	dr := &driver{cl: client(b, A), pool: pool, toggle: toggle, tag: "lat"}
	profiled := profileDaemons(b, b.Name(), dur)
	cpu := startCPU(A, B)
	chs := dr.run(context.Background(), rate, dur)
	waitApplied(chs, oa, ob, 10*time.Second)
	cpus := cpu.shares()
	profiled()
	after, err := A.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	afterB, err := B.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range chs {
		if c.err != nil {
			b.Fatalf("QueuePause on A: %v", c.err)
		}
	}
	fromSend, fromA, missing := latencies(chs)
	var onA samples
	for _, c := range chs {
		if !c.aAt.IsZero() {
			onA = append(onA, c.aAt.Sub(c.sent))
		}
	}
	b.ReportMetric(msf(fromSend.pct(50)), "p50-ms")
	b.ReportMetric(msf(fromSend.pct(99)), "p99-ms")
	b.ReportMetric(msf(fromA.pct(50)), "p50-from-A-event-ms")
	b.ReportMetric(msf(fromA.pct(99)), "p99-from-A-event-ms")
	b.ReportMetric(msf(onA.pct(50)), "base-A-event-p50-ms")
	b.ReportMetric(float64(missing), "missing")
	say(b, "%d changes at %.0f/s for %s; %d not seen on B; event gaps A=%d B=%d", len(chs), rate, dur, missing, oa.gaps, ob.gaps)
	say(b, "A action sent -> B event:  p50 %s  p90 %s  p99 %s  max %s ms", ms(fromSend.pct(50)), ms(fromSend.pct(90)), ms(fromSend.pct(99)), ms(fromSend.pct(100)))
	say(b, "A event seen  -> B event:  p50 %s  p90 %s  p99 %s  max %s ms", ms(fromA.pct(50)), ms(fromA.pct(90)), ms(fromA.pct(99)), ms(fromA.pct(100)))
	say(b, "baseline: A action sent -> A event:  p50 %s  p99 %s ms", ms(onA.pct(50)), ms(onA.pct(99)))
	say(b, "CPU (one CPU = 100%%): %s", cpus)
	stages(b, chs)
	slowest(b, chs, 10)
	h0, h1 := histogram(before, "queuesync_propagation_seconds"), histogram(after, "queuesync_propagation_seconds")
	p50, n := histQuantile(h0, h1, 0.5)
	p99, _ := histQuantile(h0, h1, 0.99)
	say(b, "daemon A queuesync_propagation_seconds (A event -> B acknowledged): %.0f observations, p50 <= %g ms, p99 <= %g ms (bucket bounds)", n, p50*1000, p99*1000)
	say(b, "daemon A's steps (count, mean, p99 bucket bound): %s", stepTimes(before, after))
	say(b, "daemon B's steps (count, mean, p99 bucket bound): %s", stepTimes(beforeB, afterB))
}

// stepTimes describes the observations of queuesync_step_seconds between
// two scrapes of a daemon, step by step: how many, their mean and the
// bucket holding their 99th percentile.
func stepTimes(before, after map[string]float64) string {
	const name = "queuesync_step_seconds"
	var steps []string // every step the daemon reports, whatever the daemon's version names
	for k := range after {
		if step, ok := strings.CutPrefix(k, name+`_count{step="`); ok {
			steps = append(steps, strings.TrimSuffix(step, `"}`))
		}
	}
	slices.Sort(steps)
	var parts []string
	for _, step := range steps {
		label := `{step="` + step + `"}`
		n := after[name+"_count"+label] - before[name+"_count"+label]
		if n == 0 {
			continue
		}
		mean := (after[name+"_sum"+label] - before[name+"_sum"+label]) / n
		p99, _ := histQuantile(stepBuckets(before, step), stepBuckets(after, step), 0.99)
		parts = append(parts, fmt.Sprintf("%s %.0f %.3f ms <=%g ms", step, n, mean*1000, p99*1000))
	}
	return strings.Join(parts, "; ")
}

// scrape returns n's daemon's metrics.
func scrape(b *testing.B, n *node) map[string]float64 {
	m, err := n.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// stepBuckets returns the buckets of one step of queuesync_step_seconds.
func stepBuckets(m map[string]float64, step string) map[float64]float64 {
	return buckets(m, `queuesync_step_seconds_bucket{step="`+step+`",le="`)
}

// BenchmarkSustainedRate ramps the change rate on A (each change gives
// the next of 2,000 members of q001..q010, taken queue by queue in turn
// and all paused beforehand, a new pause reason, on nodes holding
// 10,000 members) through 100, 250, 500, 1000, 1500 and 2000 changes a
// second, 10 s a step, and reports per step the lag between each change
// sent on A and its application on B: overall, per quarter of the step, its
// trend, and how long B took to catch up after the last change. A rate is
// sustained when every change reached B, the driver kept the rate, the lag
// did not grow (least-squares slope over the second half of the step under
// 0.05 s per s) and B caught up within 1 s of the last change. After the
// first rate that fails, the midpoint between it and the last one that
// passed is tried. A bounded lag can still be a long one, so the highest
// sustained rate whose median lag stayed under 100 ms is reported too.
// Baseline: A's Asterisk alone, the pool's reasons changed at once (the
// pipelined rate, and its CPU per change until idle), and, for scale, the
// same for the pauses before (a real pause costs Asterisk far more work
// after its response; steps of real pauses would measure that work).
// Afterwards both nodes' queue_log lines of the run are replayed: a pause
// line that changed nothing (an echo, a change applied twice) fails the
// benchmark. QS_BENCH_RATES=250,250 tries only the rates listed.
func BenchmarkSustainedRate(b *testing.B) {
	want := members10k()
	prepare(b, want)
	// 2,000 members of q001..q010, interleaved (q001's first, q002's
	// first, ...): consecutive changes hit different queues, as agents
	// spread over queues do, so that a batch of events spans queues.
	var pool []member
	for i := range 200 {
		for q := range 10 {
			pool = append(pool, want[q*200+i])
		}
	}
	rates := []float64{100, 250, 500, 1000, 1500, 2000}
	if v := os.Getenv("QS_BENCH_RATES"); v != "" { // e.g. 250,250: one step looked at closely
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 {
				b.Fatalf("QS_BENCH_RATES: %q is not a rate", f)
			}
			rates = append(rates, r)
		}
	}
	step := 10 * time.Second
	A, B := bed.Nodes[0], bed.Nodes[1]
	for b.Loop() {
		// Baseline: A's Asterisk alone. Every member of the pool is paused
		// first (a real pause: Asterisk's own work on it goes on well
		// after its response), then given a new reason at once (what each
		// step's changes are, so that every step costs Asterisk the same
		// per change); both with Asterisk's CPU until it is idle again.
		pause := asteriskAlone(b, A, pool, "ramp")
		reason := asteriskAlone(b, A, pool, "ramp2")
		rawRate := float64(len(pool)) / reason.resp.Seconds()
		b.ReportMetric(rawRate, "base-ami-actions/s")
		b.ReportMetric(pause.cpuEach(), "ast-cpu-ms-per-pause")
		b.ReportMetric(reason.cpuEach(), "ast-cpu-ms-per-reason")
		say(b, "baseline: A's Asterisk takes %d pipelined pauses of unpaused members in %s ms, then works on them: %.2f ms of its CPU each (one CPU: %.0f a second)",
			len(pool), ms(pause.resp), pause.cpuEach(), 1000/pause.cpuEach())
		say(b, "baseline: A's Asterisk takes %d pipelined new reasons of paused members in %s ms (%.0f actions/s): %.2f ms of its CPU each (one CPU: %.0f a second); the steps change reasons",
			len(pool), ms(reason.resp), rawRate, reason.cpuEach(), 1000/reason.cpuEach())
		waitSettled(b)
		marks := [2]int{len(A.QueueLog()), len(B.QueueLog())}
		best, live := 0.0, 0.0
		try := func(rate float64) bool {
			ok, lag := rampStep(b, A, B, pool, rate, step)
			if ok && lag < 100*time.Millisecond && rate > live {
				live = rate
			}
			return ok
		}
		for _, rate := range rates {
			if try(rate) {
				best = rate
				continue
			}
			if mid := math.Round((best + rate) / 2); best > 0 && mid > best && try(mid) {
				best = mid
			}
			break
		}
		waitSettled(b)
		for i, n := range []*node{A, B} {
			lines := n.QueueLog()[marks[i]:]
			bad, total := redundantPauses(lines)
			say(b, "%s's queue_log during the steps: %d pause lines, %d that changed nothing", n.Name, total, len(bad))
			if len(bad) > 0 {
				b.Errorf("%s's queue_log shows %d pauses that changed nothing (echo or re-apply), first: %s", n.Name, len(bad), bad[0])
			}
		}
		b.ReportMetric(best, "sustained-changes/s")
		b.ReportMetric(live, "sustained-under-100ms-changes/s")
		say(b, "highest sustained rate: %.0f changes/s; highest sustained with a median lag under 100 ms: %.0f changes/s (A's Asterisk alone: %.0f actions/s)", best, live, rawRate)
	}
	restorePool(b, pool, want)
}

// redundantPauses replays queue_log PAUSE and UNPAUSE lines per member and
// returns those that changed nothing: a pause of a member paused for the
// same reason, an unpause of an unpaused one. A member's first line is not
// judged (its state before is not in the lines).
func redundantPauses(lines []string) (bad []string, total int) {
	type pause struct {
		paused bool
		reason string
	}
	st := map[string]pause{}
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) < 5 || (f[4] != "PAUSE" && f[4] != "UNPAUSE") {
			continue
		}
		total++
		now := pause{paused: f[4] == "PAUSE"}
		if now.paused && len(f) > 5 {
			now.reason = f[5]
		}
		k := strings.ToLower(f[2] + "|" + f[3])
		if was, ok := st[k]; ok && was == now {
			bad = append(bad, l)
		}
		st[k] = now
	}
	return bad, total
}

// waitSettled waits until B holds what A holds and Asterisk is idle.
func waitSettled(tb testing.TB) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		la, lb := live(tb, bed.Nodes[0]), live(tb, bed.Nodes[1])
		same := len(la) == len(lb)
		for k, v := range la {
			if lb[k] != v {
				same = false
				break
			}
		}
		if same {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitIdle(tb)
}

// cpuShares follows the CPU time of both daemons and both Asterisks.
type cpuShares struct {
	start time.Time
	names []string
	pids  []int
	cpu0  []time.Duration
}

func startCPU(A, B *node) *cpuShares {
	c := &cpuShares{start: time.Now(), names: []string{"daemon A", "daemon B", "asterisk A", "asterisk B"},
		pids: []int{A.Daemon().Pid(), B.Daemon().Pid(), A.AsteriskPid(), B.AsteriskPid()}}
	for _, pid := range c.pids {
		c.cpu0 = append(c.cpu0, harness.CPUTime(pid))
	}
	return c
}

// shares says what share of one CPU each used since startCPU.
func (c *cpuShares) shares() string {
	elapsed := time.Since(c.start).Seconds()
	parts := make([]string, len(c.pids))
	for i, pid := range c.pids {
		parts[i] = fmt.Sprintf("%s %.0f%%", c.names[i], 100*(harness.CPUTime(pid)-c.cpu0[i]).Seconds()/elapsed)
	}
	return strings.Join(parts, ", ")
}

// rampSteps numbers the steps, so that a rate tried twice still gives
// every member new reasons.
var rampSteps int

// aloneRun is a burst of pipelined changes on one Asterisk: how long its
// responses took, and the CPU Asterisk spent until it was idle again.
type aloneRun struct {
	n    int
	resp time.Duration
	cpu  time.Duration
}

func (r aloneRun) cpuEach() float64 { return float64(r.cpu.Microseconds()) / 1000 / float64(r.n) }

// asteriskAlone pauses every member of pool on n's Asterisk with reason,
// all at once, and measures it (aloneRun). The daemons still replicate the
// changes; they are settled before it returns.
func asteriskAlone(b *testing.B, n *node, pool []member, reason string) aloneRun {
	cl := client(b, n)
	pid := n.AsteriskPid()
	cpu0, start := harness.CPUTime(pid), time.Now()
	if err := parallel(len(pool), 1000, func(i int) error {
		return cl.QueuePause(context.Background(), pool[i].Queue, pool[i].Interface, true, reason)
	}); err != nil {
		b.Fatal(err)
	}
	r := aloneRun{n: len(pool), resp: time.Since(start)}
	waitIdleOf(b, n)
	r.cpu = harness.CPUTime(pid) - cpu0
	waitSettled(b)
	return r
}

// rampStep runs one step and reports whether the rate was sustained, and
// the median lag.
func rampStep(b *testing.B, A, B *node, pool []member, rate float64, d time.Duration) (bool, time.Duration) {
	oa, ob := observe(b, A), observe(b, B)
	defer oa.close()
	defer ob.close()
	cpu := startCPU(A, B)
	beforeA, beforeB := scrape(b, A), scrape(b, B)
	rampSteps++
	dr := &driver{cl: client(b, A), pool: pool, tag: fmt.Sprintf("r%.0f-%d-", rate, rampSteps), maxInFly: 5000}
	start := time.Now()
	chs := dr.run(context.Background(), rate, d)
	sendEnd := time.Now()
	waitApplied(chs, oa, ob, 20*time.Second)
	afterA, afterB := scrape(b, A), scrape(b, B)
	cpus := cpu.shares()
	failed := 0
	for _, c := range chs {
		if c.err != nil {
			failed++
		}
	}
	fromSend, fromA, missing := latencies(chs)
	var onA samples
	for _, c := range chs {
		if !c.aAt.IsZero() {
			onA = append(onA, c.aAt.Sub(c.sent))
		}
	}
	var q [4]samples
	var last time.Time
	for _, c := range chs {
		if c.bAt.After(last) {
			last = c.bAt
		}
		if c.bAt.IsZero() {
			continue
		}
		i := min(3, int(4*c.sent.Sub(start).Seconds()/d.Seconds()))
		q[i] = append(q[i], c.bAt.Sub(c.sent))
	}
	achieved := float64(len(chs)) / sendEnd.Sub(start).Seconds()
	drain := last.Sub(sendEnd)
	slope := lagSlope(chs, start.Add(d/2))
	ok := missing == 0 && failed == 0 && !dr.capped.Load() && achieved >= 0.95*rate &&
		slope < 0.05 && drain < time.Second
	verdict := "sustained"
	if !ok {
		verdict = "NOT sustained"
	}
	say(b, "rate %5.0f/s: sent %d (%.0f/s, peak %d in flight on A), %d failed, %d not on B; lag p50 %s p99 %s ms (of which A's own action->event p50 %s p99 %s ms; A event->B event p50 %s p99 %s ms); by quarter p50 %s / %s / %s / %s ms, trend %+.3f s/s; B caught up %s ms after the last change; CPU %s: %s",
		rate, len(chs), achieved, dr.peak.Load(), failed, missing, ms(fromSend.pct(50)), ms(fromSend.pct(99)),
		ms(onA.pct(50)), ms(onA.pct(99)), ms(fromA.pct(50)), ms(fromA.pct(99)),
		ms(q[0].median()), ms(q[1].median()), ms(q[2].median()), ms(q[3].median()), slope, ms(drain), cpus, verdict)
	say(b, "rate %5.0f/s: daemon A's steps (count, mean, p99 bucket bound): %s", rate, stepTimes(beforeA, afterA))
	say(b, "rate %5.0f/s: daemon B's steps (count, mean, p99 bucket bound): %s", rate, stepTimes(beforeB, afterB))
	b.ReportMetric(msf(fromSend.pct(50)), fmt.Sprintf("lag-p50-ms@%.0f", rate))
	// Let B catch up and Asterisk settle before the next step.
	waitSettled(b)
	return ok, fromSend.median()
}

// lagSlope returns the least-squares slope of lag (B applied - A sent)
// against send time, over the changes sent from t on: how many seconds of
// lag each second adds. A flat backlog gives about 0.
func lagSlope(chs []*change, from time.Time) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, c := range chs {
		if c.bAt.IsZero() || c.sent.Before(from) {
			continue
		}
		x, y := c.sent.Sub(from).Seconds(), c.bAt.Sub(c.sent).Seconds()
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if n < 2 || n*sxx-sx*sx == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// BenchmarkLivePathSteps measures, on the nodes of the live benchmarks
// (10,000 members, both daemons running), the bare round trips the live
// path is built from, 300 of each, one at a time: an AMI query on B
// (CoreStatus, QueueStatus of one member, Ping), a journal read of one key
// (Get), a journal write of one register (PutMany on a scratch journal), the
// outbox read (Since, a transaction with the journal lock) and a signed
// GET /queue/v1/health on B's daemon. docs/benchmarks.md adds them up along
// the path a change takes from A's event to B's QueuePause, as the floor
// the live latency is compared with.
func BenchmarkLivePathSteps(b *testing.B) {
	want := members10k()
	prepare(b, want)
	B := bed.Nodes[1]
	ctx := context.Background()
	cl := dialAMI(b, B, "off")
	defer cl.Close()
	scratch := scratchDB(b, "qs_bench_scratch")
	jl := newLocalEngine(b, B, B.DBURL).store
	js := newLocalEngine(b, B, scratch).store
	pc := peerClientOf(b, bed.Nodes[0], B)
	m := want[0]
	k := state.NewKey(m.Queue, m.Interface)
	clock := state.NewClock(time.Now, time.Minute)
	steps := []struct {
		name, short string
		f           func() error
	}{
		{"AMI Ping", "ami-ping", func() error { return cl.Ping(ctx) }},
		{"AMI CoreStatus", "ami-corestatus", func() error { _, err := cl.CoreStatus(ctx); return err }},
		{"AMI QueueStatus(queue, member)", "ami-queuestatus1", func() error { _, err := cl.QueueStatus(ctx, m.Queue, m.Interface); return err }},
		{"journal Get", "pg-get", func() error { _, _, err := jl.Get(ctx, k); return err }},
		{"journal PutMany(1)", "pg-put1", func() error {
			_, err := js.PutMany(ctx, registers([]member{m}, true, false, "", clock), store.PutOptions{})
			return err
		}},
		{"journal Since (outbox)", "pg-since", func() error { _, err := jl.Since(ctx, "sop1", 1<<62, 500); return err }},
		{"HTTP signed GET /health", "http-health", func() error { _, err := pc.Health(ctx); return err }},
	}
	for b.Loop() {
		for _, st := range steps {
			var s samples
			for range 300 {
				var err error
				s = append(s, timed(func() { err = st.f() }))
				if err != nil {
					b.Fatalf("%s: %v", st.name, err)
				}
			}
			say(b, "%-32s p50 %6s ms  p90 %6s ms  p99 %6s ms", st.name, ms(s.pct(50)), ms(s.pct(90)), ms(s.pct(99)))
			b.ReportMetric(float64(s.pct(50).Microseconds()), st.short+"-p50-us")
		}
	}
}

// stages splits the latency of each member's last change at the moment A's
// journal row was written (PostgreSQL's now() of the write, same host
// clock): A event -> A journalled is daemon A's capture; A journalled -> B
// event is delivery and B's apply up to its QueuePause.
func stages(b *testing.B, chs []*change) {
	last := map[string]*change{}
	for _, c := range chs {
		if p, ok := last[c.m.key()]; !ok || c.seq > p.seq {
			last[c.m.key()] = c
		}
	}
	rows := journalTimes(b, bed.Nodes[0].DBURL)
	var capture, deliver samples
	for k, c := range last {
		r, ok := rows[k]
		if !ok || c.aAt.IsZero() || c.bAt.IsZero() || r.paused != c.paused || (c.paused && r.reason != c.reason) {
			continue
		}
		capture, deliver = append(capture, r.updated.Sub(c.aAt)), append(deliver, c.bAt.Sub(r.updated))
	}
	say(b, "stages (%d changes): A event -> A journalled p50 %s p99 %s ms; A journalled -> B event p50 %s p99 %s ms",
		len(capture), ms(capture.pct(50)), ms(capture.pct(99)), ms(deliver.pct(50)), ms(deliver.pct(99)))
}

type journalRow struct {
	paused  bool
	reason  string
	updated time.Time
}

func journalTimes(tb testing.TB, dbURL string) map[string]journalRow {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT queue_key, iface_key, paused, paused_reason, updated_at FROM attribute_state WHERE class = 'queue_sync'`)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]journalRow{}
	for rows.Next() {
		var q, i string
		var r journalRow
		if err := rows.Scan(&q, &i, &r.paused, &r.reason, &r.updated); err != nil {
			tb.Fatal(err)
		}
		out[q+"/"+i] = r
	}
	return out
}
