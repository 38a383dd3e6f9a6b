package daemon

import (
	"container/list"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

// metrics are the daemon's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	events     *prometheus.CounterVec
	journalled prometheus.Counter
	delivered  *prometheus.CounterVec
	stale      *prometheus.CounterVec
	failed     *prometheus.CounterVec
	applied    prometheus.Counter
	peerUp     *prometheus.GaugeVec
	backlog    *prometheus.GaugeVec
	amiUp      prometheus.Gauge
	latency    prometheus.Histogram
	steps      *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg:        prometheus.NewRegistry(),
		events:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "queuesync_ami_events_total", Help: "Queue member events observed on AMI."}, []string{"event"}),
		journalled: prometheus.NewCounter(prometheus.CounterOpts{Name: "queuesync_changes_journalled_total", Help: "Local changes journalled."}),
		delivered:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "queuesync_changes_delivered_total", Help: "Changes a peer applied."}, []string{"peer"}),
		stale:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "queuesync_changes_stale_total", Help: "Changes a peer answered as stale."}, []string{"peer"}),
		failed:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "queuesync_changes_failed_total", Help: "Changes a peer refused or that could not be sent."}, []string{"peer"}),
		applied:    prometheus.NewCounter(prometheus.CounterOpts{Name: "queuesync_changes_applied_total", Help: "Changes received from peers and applied here."}),
		peerUp:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_peer_up", Help: "1 when the peer answers its health check."}, []string{"peer"}),
		backlog:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_peer_backlog", Help: "Journal changes waiting for delivery to the peer (up to one batch)."}, []string{"peer"}),
		amiUp:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "queuesync_ami_up", Help: "1 while the AMI event session is connected."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "queuesync_propagation_seconds", Help: "From a local AMI event to the peer's acknowledgement of the change.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5}}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "queuesync_step_seconds",
			Help:    "Time of each step of the sync path, by step (lock_wait, asterisk_read, journal_read, journal_write, asterisk_actions, journal_settle, outbox_read, peer_deliver, serve_apply).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"step"}),
	}
	m.reg.MustRegister(m.events, m.journalled, m.delivered, m.stale, m.failed, m.applied, m.peerUp, m.backlog, m.amiUp, m.latency, m.steps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// exportRefusals exports the peer API's refusal counts as
// queuesync_peer_requests_refused_total{kind}.
func (m *metrics) exportRefusals(r *peer.Refusals) {
	m.reg.MustRegister(refusalCollector{r})
}

var refusedDesc = prometheus.NewDesc("queuesync_peer_requests_refused_total",
	"Peer API requests refused, by kind (unauthenticated, replayed, busy, too_large, bad_request, clock_skew, failed).",
	[]string{"kind"}, nil)

type refusalCollector struct{ r *peer.Refusals }

func (c refusalCollector) Describe(ch chan<- *prometheus.Desc) { ch <- refusedDesc }

func (c refusalCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range c.r.Counts() {
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(n), kind)
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) setPeerUp(peer string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.peerUp.WithLabelValues(peer).Set(v)
}

// timeStep records how long one step of the sync path took (an
// engine.Timing, and the daemon's own steps: stepOutboxRead, stepDeliver,
// stepServeApply).
func (m *metrics) timeStep(step string, d time.Duration) {
	m.steps.WithLabelValues(step).Observe(d.Seconds())
}

// timeSince records a step that started at start and ends now.
func (m *metrics) timeSince(step string, start time.Time) {
	m.timeStep(step, time.Since(start))
}

// The daemon's own steps of the sync path, beside the engine's.
const (
	stepOutboxRead = "outbox_read"  // a deliverer reading the changes past a peer's watermark
	stepDeliver    = "peer_deliver" // a batch sent to a peer, until its answer
	stepServeApply = "serve_apply"  // a peer's batch applied here, from its receipt to the answer
)

func (m *metrics) setBacklog(peer string, n int) {
	m.backlog.WithLabelValues(peer).Set(float64(n))
}

// latencyTracker remembers when each local change was seen, until a peer
// acknowledges it. It holds at most maxTracked changes: when full, it
// forgets the oldest (a change no peer acknowledged, or one superseded
// before delivery), so that it keeps measuring new ones.
type latencyTracker struct {
	mu    sync.Mutex
	seen  map[trackKey]*list.Element // of trackEntry, oldest at the front
	order *list.List
	max   int
	hist  prometheus.Histogram
	now   func() time.Time
}

type trackEntry struct {
	key  trackKey
	seen time.Time
}

const maxTracked = 100000

func newLatencyTracker(hist prometheus.Histogram, now func() time.Time) *latencyTracker {
	return &latencyTracker{seen: map[trackKey]*list.Element{}, order: list.New(), max: maxTracked, hist: hist, now: now}
}

type trackKey struct {
	key state.Key
	v   state.Version
}

func (l *latencyTracker) noteJournalled(o engine.Outcome, seen time.Time) {
	if o.Winner == nil {
		return
	}
	k := trackKey{o.Winner.Key(), o.Winner.Version()}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[k]; ok {
		return
	}
	for len(l.seen) >= l.max {
		oldest := l.order.Front()
		delete(l.seen, l.order.Remove(oldest).(trackEntry).key)
	}
	l.seen[k] = l.order.PushBack(trackEntry{key: k, seen: seen})
}

func (l *latencyTracker) noteDelivered(r state.Register) {
	l.mu.Lock()
	k := trackKey{r.Key(), r.Version()}
	el, ok := l.seen[k]
	var t time.Time
	if ok {
		t = l.order.Remove(el).(trackEntry).seen
		delete(l.seen, k)
	}
	l.mu.Unlock()
	if ok {
		l.hist.Observe(l.now().Sub(t).Seconds())
	}
}
