package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// batchSize is how many journal changes one POST carries at most.
const batchSize = 500

// Outbox is what delivery needs from the journal: the changes past a peer's
// watermark, and the acknowledgement that moves it.
type Outbox interface {
	Since(ctx context.Context, peer string, after int64, limit int) ([]store.Entry, error)
	Watermark(ctx context.Context, peer string) (int64, error)
	Ack(ctx context.Context, peer string, seq int64) error
	NoteFailure(ctx context.Context, peer, msg string) error
}

// deliverer sends one peer every journalled change past its watermark, in
// sequence order, and watches the peer's health. The journal is the outbox:
// a change journalled before a crash is delivered after the restart.
type deliverer struct {
	d      *Daemon
	peer   engine.Peer
	health func(ctx context.Context) error
	wake   chan struct{}
	log    *slog.Logger

	mu sync.Mutex
	up bool
}

func newDeliverer(d *Daemon, p engine.Peer, health func(context.Context) error) *deliverer {
	return &deliverer{d: d, peer: p, health: health, wake: make(chan struct{}, 1), log: d.opts.Log.With("peer", p.Name)}
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
	tick := time.NewTicker(p.d.cfg().HealthInterval)
	defer tick.Stop()
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

func (p *deliverer) checkHealth(ctx context.Context) {
	hctx, cancel := context.WithTimeout(ctx, p.d.cfg().HealthInterval+time.Second)
	err := p.health(hctx)
	cancel()
	if err != nil {
		p.setDown(ctx, err)
		return
	}
	p.mu.Lock()
	was := p.up
	p.up = true
	p.mu.Unlock()
	p.d.metrics.peerUp.WithLabelValues(p.peer.Name).Set(1)
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
	p.d.metrics.peerUp.WithLabelValues(p.peer.Name).Set(0)
	if was && ctx.Err() == nil {
		p.log.Warn("peer UNREACHABLE", "err", err)
		_ = p.d.opts.Journal.NoteFailure(context.WithoutCancel(ctx), p.peer.Name, err.Error())
	}
}

// drain sends everything past the watermark, batch by batch. A batch in
// flight is finished even when ctx is cancelled (shutdown drains it).
func (p *deliverer) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		n, err := p.sendBatch(bctx)
		cancel()
		if err != nil || n < batchSize {
			return err
		}
	}
	return nil
}

func (p *deliverer) sendBatch(ctx context.Context) (int, error) {
	ob := p.d.opts.Journal
	wm, err := ob.Watermark(ctx, p.peer.Name)
	if err != nil {
		return 0, err
	}
	entries, err := ob.Since(ctx, p.peer.Name, wm, batchSize)
	if err != nil || len(entries) == 0 {
		p.d.metrics.backlog.WithLabelValues(p.peer.Name).Set(0)
		return 0, err
	}
	p.d.metrics.backlog.WithLabelValues(p.peer.Name).Set(float64(len(entries)))
	regs := p.shared(entries)
	if len(regs) > 0 {
		rs, err := p.peer.Client.Push(ctx, regs)
		if err != nil {
			p.d.metrics.failed.WithLabelValues(p.peer.Name).Add(float64(len(regs)))
			return 0, err
		}
		p.results(ctx, regs, rs)
	}
	last := entries[len(entries)-1].Seq
	return len(entries), ob.Ack(ctx, p.peer.Name, last)
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

// results accounts for the peer's answers; a register it answers as stale
// is newer than ours and is applied here.
func (p *deliverer) results(ctx context.Context, regs []state.Register, rs peer.ResultSet) {
	var newer []state.Register
	for i, r := range rs.Results {
		switch r.Status {
		case peer.Applied:
			p.d.metrics.delivered.WithLabelValues(p.peer.Name).Inc()
			if i < len(regs) {
				p.d.latency.noteDelivered(regs[i])
			}
			p.d.opts.SyncLog.Line("delivered queue=%s interface=%s peer=%s", r.Queue, r.Interface, p.peer.Name)
		case peer.Stale:
			p.d.metrics.stale.WithLabelValues(p.peer.Name).Inc()
			p.d.opts.SyncLog.Line("stale queue=%s interface=%s peer=%s", r.Queue, r.Interface, p.peer.Name)
			if r.Register != nil {
				newer = append(newer, *r.Register)
			}
		default:
			p.d.metrics.failed.WithLabelValues(p.peer.Name).Inc()
			p.d.opts.SyncLog.Line("failed queue=%s interface=%s peer=%s reason=%q", r.Queue, r.Interface, p.peer.Name, r.Reason)
		}
	}
	if len(newer) > 0 {
		if _, err := p.d.applyFrom(ctx, p.peer.Name, newer); err != nil {
			p.log.Warn("apply newer registers returned by peer", "err", err)
		}
	}
}

// resync runs a full pull and push with the peer (its return after an
// outage, or a reload).
func (p *deliverer) resync(ctx context.Context) {
	outs, err := p.d.eng.SyncPeer(ctx, p.peer)
	for _, o := range outs {
		p.d.opts.SyncLog.Outcome("resync", o)
	}
	if err != nil {
		p.log.Warn("resync with returning peer", "err", err)
		return
	}
	p.log.Info("resynced with returning peer", "changes", countChanged(outs))
}
