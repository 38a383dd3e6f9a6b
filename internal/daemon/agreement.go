package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// digester is the part of the journal that sums it up (store.Store).
type digester interface {
	Digests(ctx context.Context, queues []string) ([]store.QueueDigest, error)
	Undelivered(ctx context.Context, peer string) (int64, time.Time, error)
}

// peerDigester is the part of a peer client that reads the peer's digests
// (peer.Client).
type peerDigester interface {
	Digests(ctx context.Context) (peer.Digests, error)
}

// PeerAgreement is what this node knows of its agreement with one peer.
type PeerAgreement struct {
	Peer      string
	Reachable bool
	Reason    string    // why the peer is unreachable or agreement unknown; "" when known
	Checked   time.Time // the last time the digests were compared; zero when never
	// InSync holds, per shared queue (lower case), whether the two nodes'
	// digests matched at the last check (a mismatch counts once seen twice
	// in a row, so that a change on its way is not taken for a drift).
	InSync map[string]bool
	// Undelivered counts the journal changes waiting for the peer, and
	// Oldest is when the oldest of them was written (zero when none).
	Undelivered int64
	Oldest      time.Time
}

// agreement checks, every health_interval, whether this node and each peer
// hold the same journal, queue by queue, and exports what it finds.
type agreement struct {
	d       *Daemon
	inSync  *prometheus.GaugeVec
	checked *prometheus.GaugeVec
	undeliv *prometheus.GaugeVec
	oldest  *prometheus.GaugeVec
	members *prometheus.GaugeVec

	mu      sync.Mutex
	peers   map[string]*PeerAgreement
	suspect map[[2]string]bool // (peer, queue) seen different once
}

func newAgreement(d *Daemon) *agreement {
	a := &agreement{d: d, peers: map[string]*PeerAgreement{}, suspect: map[[2]string]bool{},
		inSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_queue_in_sync",
			Help: "1 when this node's and the peer's digests of the queue matched at the last check, else 0."}, []string{"peer", "queue"}),
		checked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_queue_last_compared_timestamp_seconds",
			Help: "When this node last compared its digest of the queue with the peer's (Unix time)."}, []string{"peer", "queue"}),
		undeliv: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_peer_undelivered_changes",
			Help: "Journal changes not yet acknowledged by the peer."}, []string{"peer"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_peer_oldest_undelivered_age_seconds",
			Help: "Age of the oldest change not yet acknowledged by the peer; 0 when none."}, []string{"peer"}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "queuesync_queue_members",
			Help: "Members of the queue on this node, by state: available, paused, in_call (a paused member on a call counts as paused)."}, []string{"queue", "state"}),
	}
	d.metrics.reg.MustRegister(a.inSync, a.checked, a.undeliv, a.oldest, a.members)
	return a
}

// countEvery is how many checks pass between two counts of the members
// by state (a full read of the local Asterisk).
const countEvery = 5

// run checks every interval until ctx ends.
func (a *agreement) run(ctx context.Context, interval time.Duration) {
	if interval < time.Second {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		a.checkAll(ctx, interval)
		if n%countEvery == countEvery-1 && a.d.cfg().MetricsListen != "" && a.d.upToDate() {
			sctx, cancel := context.WithTimeout(ctx, interval)
			a.countLive(sctx)
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkAll checks every current peer at once.
func (a *agreement) checkAll(ctx context.Context, timeout time.Duration) {
	a.d.mu.Lock()
	peers := make([]node.Peer, len(a.d.peers))
	for i, p := range a.d.peers {
		peers[i] = p.peer
	}
	a.d.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			a.check(cctx, p)
		}()
	}
	wg.Wait()
}

// check compares this node's digests with one peer's.
func (a *agreement) check(ctx context.Context, p node.Peer) {
	j, ok := a.d.journal.(digester)
	if !ok {
		return
	}
	res := PeerAgreement{Peer: p.Name, InSync: map[string]bool{}}
	if n, oldest, err := j.Undelivered(ctx, p.Name); err == nil {
		res.Undelivered, res.Oldest = n, oldest
	}
	remote, err := a.remoteDigests(ctx, p)
	var local []store.QueueDigest
	if err == nil {
		res.Reachable = true
		local, err = j.Digests(ctx, nil)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return
		}
		res.Reason = err.Error()
		a.record(res, nil)
		return
	}
	res.Checked = a.d.opts.Now()
	a.record(res, CompareDigests(local, remote.Queues, p.Shares))
}

func (a *agreement) remoteDigests(ctx context.Context, p node.Peer) (peer.Digests, error) {
	if p.Err != nil {
		return peer.Digests{}, p.Err
	}
	c, ok := p.Client.(peerDigester)
	if !ok {
		return peer.Digests{}, fmt.Errorf("peer %s: its client cannot read digests", p.Name)
	}
	return c.Digests(ctx)
}

// CompareDigests tells, per queue shared with the peer that either side
// journals, whether both sides' digests match (a queue one side does not
// journal matches only an absent one).
func CompareDigests(local []store.QueueDigest, remote []peer.QueueDigest, shares func(string) bool) map[string]bool {
	mine := map[string]string{}
	for _, q := range local {
		mine[q.Queue] = q.Digest
	}
	theirs := map[string]string{}
	for _, q := range remote {
		theirs[q.Queue] = q.Digest
	}
	out := map[string]bool{}
	for q := range mine {
		if shares == nil || shares(q) {
			out[q] = mine[q] == theirs[q]
		}
	}
	for q := range theirs {
		if _, seen := out[q]; !seen && (shares == nil || shares(q)) {
			out[q] = mine[q] == theirs[q]
		}
	}
	return out
}

// record keeps res, exports it and announces what changed. cmp is nil when
// the digests could not be compared: every known queue is then not in sync.
func (a *agreement) record(res PeerAgreement, cmp map[string]bool) {
	prev, cur := a.recordOnly(res, cmp)
	a.export(cur)
	a.announce(prev, cur)
}

// recordOnly keeps res and returns the previous and the new agreement.
func (a *agreement) recordOnly(res PeerAgreement, cmp map[string]bool) (PeerAgreement, PeerAgreement) {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.peers[res.Peer]
	if prev == nil {
		prev = &PeerAgreement{Peer: res.Peer, InSync: map[string]bool{}, Reachable: true}
	}
	if cmp == nil {
		for q := range prev.InSync {
			res.InSync[q] = false
		}
		res.Checked = prev.Checked
	}
	for q, same := range cmp {
		k := [2]string{res.Peer, q}
		was, known := prev.InSync[q]
		switch {
		case same:
			delete(a.suspect, k)
		case !a.suspect[k] && (!known || was):
			// Seen different once: a change may be on its way. Keep the
			// previous answer (in sync when new) until the next check.
			a.suspect[k] = true
			same = !known || was
		default:
			delete(a.suspect, k)
		}
		res.InSync[q] = same
	}
	a.peers[res.Peer] = &res
	return *prev, res
}

func (a *agreement) export(res PeerAgreement) {
	for q, same := range res.InSync {
		v := 0.0
		if same {
			v = 1
		}
		a.inSync.WithLabelValues(res.Peer, q).Set(v)
		if !res.Checked.IsZero() {
			a.checked.WithLabelValues(res.Peer, q).Set(float64(res.Checked.UnixMilli()) / 1000)
		}
	}
	a.undeliv.WithLabelValues(res.Peer).Set(float64(res.Undelivered))
	age := 0.0
	if !res.Oldest.IsZero() {
		age = max(a.d.opts.Now().Sub(res.Oldest).Seconds(), 0)
	}
	a.oldest.WithLabelValues(res.Peer).Set(age)
}

// Agreements returns what the last checks found, by peer name.
func (a *agreement) Agreements() []PeerAgreement {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PeerAgreement, 0, len(a.peers))
	for _, p := range a.peers {
		c := *p
		c.InSync = make(map[string]bool, len(p.InSync))
		for q, v := range p.InSync {
			c.InSync[q] = v
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out
}

// membersDesc are the states queuesync_queue_members counts.
var membersDesc = []string{"available", "paused", "in_call"}

// countLive counts the members by state from the live state alone, read
// by the node's reader (engine.Reader): on the readers' manager session,
// one queue at a time. Asterisk holds a queue's lock while it lists the
// queue's members, and a pause waits for the lock of every queue: one read
// of every member held up the live path's actions for as long as it took
// (100 ms at 10,000 members), the reads of one queue each only for an
// instant.
func (a *agreement) countLive(ctx context.Context) {
	all, err := a.d.reader.QueueMembers(ctx)
	if err != nil {
		return
	}
	v := localView{queues: map[string]string{}, regs: map[state.Key]state.Register{}, inCall: map[state.Key]bool{}}
	for _, p := range all.Params {
		v.queues[strings.ToLower(p.Queue)] = p.Queue
	}
	for _, m := range all.Members {
		k := state.NewKey(m.Queue, m.Interface)
		v.regs[k] = state.Register{Present: true, Paused: m.Paused}
		if m.InCall {
			v.inCall[k] = true
		}
	}
	a.countMembers(v)
}

// countMembers exports queuesync_queue_members from a local snapshot.
func (a *agreement) countMembers(v localView) {
	counts := map[string]*[3]int{}
	for k := range v.queues {
		counts[k] = &[3]int{}
	}
	for k, r := range v.regs {
		c := counts[k.Queue]
		if c == nil || !r.Present {
			continue
		}
		switch {
		case r.Paused:
			c[1]++
		case v.inCall[k]:
			c[2]++
		default:
			c[0]++
		}
	}
	for k, c := range counts {
		for i, st := range membersDesc {
			a.members.WithLabelValues(v.queues[k], st).Set(float64(c[i]))
		}
	}
}
