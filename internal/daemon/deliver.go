package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// batchSize is how many journal changes one POST carries at most.
const batchSize = peer.PushBatch

// Outbox is what delivery needs from the journal: the changes past a peer's
// watermark, and the acknowledgement that moves it.
type Outbox interface {
	Since(ctx context.Context, peer string, after int64, limit int) ([]store.Entry, error)
	Watermark(ctx context.Context, peer string) (int64, error)
	Ack(ctx context.Context, peer string, seq int64) error
	NoteFailure(ctx context.Context, peer, msg string) error
}

// deliveryHost is all a deliverer uses of the daemon.
type deliveryHost struct {
	outbox Outbox
	// syncPeer runs a full pull and push with a peer (engine.SyncPeer).
	syncPeer func(ctx context.Context, p engine.Peer) ([]engine.Outcome, []state.Register, error)
	// applyNewer applies registers a peer answered as newer than ours.
	applyNewer func(ctx context.Context, from string, regs []state.Register)
	// delivered records the outcomes of one exchange (sync log, metrics).
	delivered func(op string, outs []engine.Outcome)
	// undelivered counts a batch that did not reach the peer.
	undelivered func(peer string, n int)
	// peerState records reachability and backlog.
	peerUp  func(peer string, up bool)
	backlog func(peer string, n int)
	// timeStep records how long a step of delivery took.
	timeStep func(step string, d time.Duration)
}

// deliveryHost returns what the daemon gives its deliverers.
func (d *Daemon) deliveryHost() deliveryHost {
	return deliveryHost{
		outbox:     d.journal,
		syncPeer:   d.eng.SyncPeer,
		applyNewer: d.applyNewer,
		delivered:  d.recordDelivered,
		undelivered: func(peer string, n int) {
			d.metrics.failed.WithLabelValues(peer).Add(float64(n))
		},
		peerUp:   d.metrics.setPeerUp,
		backlog:  d.metrics.setBacklog,
		timeStep: d.metrics.timeStep,
	}
}

// deliverer sends one peer every journalled change past its watermark, in
// sequence order, and watches the peer's health. The journal is the outbox:
// a change journalled before a crash is delivered after the restart.
type deliverer struct {
	host     deliveryHost
	peer     node.Peer
	interval time.Duration
	wake     chan struct{}
	log      *slog.Logger

	mu sync.Mutex
	up bool

	// acked is the peer's watermark as this deliverer last read or moved
	// it; 0: read it from the journal. It spares a query per batch.
	acked int64
	// ack writes acked to the journal, behind the deliverer.
	ack *acker
}

func newDeliverer(p node.Peer, host deliveryHost, interval time.Duration, log *slog.Logger) *deliverer {
	log = log.With("peer", p.Name)
	return &deliverer{host: host, peer: p, interval: interval, wake: make(chan struct{}, 1), log: log,
		ack: newAcker(host.outbox, p.Name, log)}
}

// poke asks the deliverer to look at the journal now.
func (p *deliverer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *deliverer) isUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.up
}

// run delivers until ctx is done. It checks the peer's health every
// health_interval; when the peer comes back it delivers the backlog and runs
// a full resync with it at once.
func (p *deliverer) run(ctx context.Context) {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	defer p.startAcker(ctx)()
	bo := newBackoff(200*time.Millisecond, 10*time.Second)
	p.checkHealth(ctx)
	for ctx.Err() == nil {
		if p.isUp() {
			if err := p.drain(ctx); err != nil {
				p.setDown(ctx, err)
				bo.wait(ctx)
				continue
			}
			bo.reset()
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			if !p.isUp() {
				p.checkHealth(ctx) // news to deliver: ask now, not at the next tick
			}
		case <-tick.C:
			p.checkHealth(ctx)
		}
	}
}

// startAcker runs the deliverer's acker until the func it returns is
// called. The acker outlives ctx: it writes the watermark of a batch that
// ends after ctx (see drain), then the func stops it and waits.
func (p *deliverer) startAcker(ctx context.Context) (stop func()) {
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); p.ack.run(actx, p.interval) }()
	return func() { cancel(); <-done }
}

func (p *deliverer) checkHealth(ctx context.Context) {
	hctx, cancel := context.WithTimeout(ctx, p.interval+time.Second)
	_, err := p.peer.Health(hctx)
	cancel()
	if err != nil {
		p.setDown(ctx, err)
		return
	}
	p.mu.Lock()
	was := p.up
	p.up = true
	p.mu.Unlock()
	p.host.peerUp(p.peer.Name, true)
	if !was {
		p.log.Info("peer REACHABLE")
		if err := p.drain(ctx); err != nil {
			p.setDown(ctx, err)
			return
		}
		p.resync(ctx)
	}
}

func (p *deliverer) setDown(ctx context.Context, err error) {
	p.mu.Lock()
	was := p.up
	p.up = false
	p.mu.Unlock()
	p.host.peerUp(p.peer.Name, false)
	if was && ctx.Err() == nil {
		p.log.Warn("peer UNREACHABLE", "err", err)
		_ = p.ack.flush(ctx) // an acknowledgement written later would clear the failure
		_ = p.host.outbox.NoteFailure(context.WithoutCancel(ctx), p.peer.Name, err.Error())
	}
}

// drain sends everything past the watermark, batch by batch. A batch in
// flight when ctx is cancelled (shutdown) is given one more health
// interval to finish, not more: sent again after the restart, it would only
// be found in sync, and a peer that does not answer (stopped, partitioned)
// must not hold up the shutdown until its timeout.
func (p *deliverer) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		bctx, cancel := p.batchContext(ctx)
		n, err := p.sendBatch(bctx)
		cancel()
		if err != nil || n < batchSize {
			return err
		}
	}
	return nil
}

// batchContext bounds one batch: 30 s, and one health interval once ctx
// ends.
func (p *deliverer) batchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(p.interval)
		defer t.Stop()
		select {
		case <-bctx.Done():
		case <-t.C:
			cancel()
		}
	})
	return bctx, func() { stop(); cancel() }
}

func (p *deliverer) sendBatch(ctx context.Context) (int, error) {
	ob := p.host.outbox
	wm, err := p.watermark(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	entries, err := ob.Since(ctx, p.peer.Name, wm, batchSize)
	p.host.timeStep(stepOutboxRead, time.Since(start))
	p.host.backlog(p.peer.Name, len(entries))
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	if regs := p.shared(entries); len(regs) > 0 {
		start := time.Now()
		outs, newer, err := engine.Deliver(ctx, p.peer.Peer, regs)
		p.host.timeStep(stepDeliver, time.Since(start))
		if err != nil {
			p.host.undelivered(p.peer.Name, len(regs))
			return 0, err
		}
		p.host.delivered("deliver", outs)
		p.host.applyNewer(ctx, p.peer.Name, newer)
	}
	p.acked = entries[len(entries)-1].Seq
	p.ack.set(p.acked)
	return len(entries), nil
}

// watermark returns the peer's watermark: the one this deliverer moved
// last, else the journal's. Another process (queuesync push) may have moved
// it further meanwhile: the changes in between are sent again, and the peer
// finds them in sync.
func (p *deliverer) watermark(ctx context.Context) (int64, error) {
	if p.acked > 0 {
		return p.acked, nil
	}
	return p.host.outbox.Watermark(ctx, p.peer.Name)
}

func (p *deliverer) shared(entries []store.Entry) []state.Register {
	regs := make([]state.Register, 0, len(entries))
	for _, en := range entries {
		if p.peer.Shares(en.Queue) {
			regs = append(regs, en.Register)
		}
	}
	return regs
}

// resync runs a full pull and push with the peer (its return after an
// outage, or a reload).
func (p *deliverer) resync(ctx context.Context) {
	outs, newer, err := p.host.syncPeer(ctx, p.peer.Peer)
	p.host.delivered("resync", outs)
	p.host.applyNewer(ctx, p.peer.Name, newer)
	if err != nil {
		p.log.Warn("resync with returning peer", "err", err)
		return
	}
	p.log.Info("resynced with returning peer", "changes", countChanged(outs))
}
