package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

// receiver is the daemon's receive path: it serves the peer API
// (peer.Receiver) from the daemon's engine.
type receiver struct {
	d *Daemon
}

var (
	_ peer.Receiver     = (*receiver)(nil)
	_ peer.DigestSource = (*receiver)(nil)
)

// State reconciles live state into the journal, then returns the registers.
// A dry run reconciles in memory only.
func (n *receiver) State(ctx context.Context, queues []string, dryRun bool) ([]state.Register, error) {
	sess, err := n.reconciled(ctx, queues, dryRun)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	entries := sess.Entries()
	regs := make([]state.Register, len(entries))
	for i, en := range entries {
		regs[i] = en.Register
	}
	return regs, nil
}

// reconciled begins a session of queues (all when empty) whose journal
// has been brought up to date with the live state (in memory only, in a
// dry run). The caller ends it.
func (n *receiver) reconciled(ctx context.Context, queues []string, dryRun bool) (*engine.Session, error) {
	eng := n.d.eng
	if dryRun {
		eng = n.d.reader
	} else if !n.d.upToDate() {
		if err := n.d.reconcileAll(ctx, "peer state request"); err != nil {
			return nil, err
		}
	}
	sess, err := eng.Begin(ctx, queues)
	if err != nil {
		return nil, err
	}
	outs, err := sess.Reconcile(ctx)
	if err != nil {
		sess.End()
		return nil, err
	}
	if !dryRun {
		n.d.recordLocal(outs, n.d.opts.Now())
	}
	return sess, nil
}

// applyTimeout bounds an apply that no longer has a sender waiting.
const applyTimeout = 2 * time.Minute

// Apply applies a peer's registers and answers one result per register.
// Once begun, the apply runs to its end even when the sender goes away
// (killed, timed out, cut off): stopping between two AMI actions would
// leave a member half-changed, its register pending until some later
// reconcile, and a change an agent makes meanwhile would then be undone by
// the restore.
func (n *receiver) Apply(ctx context.Context, from string, regs []state.Register) ([]peer.Result, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
	defer cancel()
	defer n.d.metrics.timeSince(stepServeApply, time.Now())
	outs, err := n.d.applyFrom(ctx, from, regs)
	if err != nil {
		return nil, err
	}
	res := make([]peer.Result, len(outs))
	for i, o := range outs {
		res[i] = resultOf(o)
	}
	return res, nil
}

// applyFrom applies registers received from a peer (pushed to us, or
// returned as newer by a peer we pushed to).
func (d *Daemon) applyFrom(ctx context.Context, from string, regs []state.Register) ([]engine.Outcome, error) {
	if !d.upToDate() {
		if err := d.reconcileAll(ctx, "peer change"); err != nil {
			return nil, err
		}
	}
	sess, err := d.eng.BeginMembers(ctx, engine.Members(regs))
	if err != nil {
		return nil, err
	}
	defer sess.End()
	if !d.upToDate() {
		return nil, errors.New("apply peer changes: the asterisk manager connection changed while reading; try again")
	}
	outs, err := sess.Apply(ctx, from, regs)
	var applied, local []string
	for _, o := range outs {
		d.opts.SyncLog.Outcome("receive", o)
		switch o.Result {
		case engine.Applied:
			applied = append(applied, o.Queue)
		case engine.Overtaken:
			local = append(local, o.Queue)
		}
	}
	d.metrics.applied.Add(float64(len(applied)))
	d.metrics.journalled.Add(float64(len(local)))
	d.wakeFor(from, applied) // forward to the other peers that share the queue
	d.wakeFor("", local)     // a local change: for every peer, the sender too (not every path answers it)
	return outs, err
}

// applyNewer applies the registers a peer answered as newer than ours
// (to a delivery or a resync).
func (d *Daemon) applyNewer(ctx context.Context, from string, regs []state.Register) {
	if len(regs) == 0 {
		return
	}
	d.metrics.stale.WithLabelValues(from).Add(float64(len(regs)))
	if _, err := d.applyFrom(ctx, from, regs); err != nil {
		d.opts.Log.Warn("apply newer registers returned by peer", "peer", from, "err", err)
	}
}

// recordDelivered records the outcomes of an exchange with a peer: the
// sync log, and the delivery metrics and latency of what it applied.
func (d *Daemon) recordDelivered(op string, outs []engine.Outcome) {
	for _, o := range outs {
		d.opts.SyncLog.Outcome(op, o)
		switch o.Result {
		case engine.Pushed:
			d.metrics.delivered.WithLabelValues(o.Peer).Inc()
			if o.Local != nil {
				d.latency.noteDelivered(*o.Local)
			}
		case engine.Failed:
			d.metrics.failed.WithLabelValues(o.Peer).Inc()
		}
	}
}

func resultOf(o engine.Outcome) peer.Result {
	r := peer.Result{Queue: o.Queue, Interface: o.Interface}
	switch o.Result {
	case engine.Applied, engine.InSync:
		r.Status = peer.Applied
	case engine.Stale, engine.Overtaken:
		r.Status, r.Register = peer.Stale, o.Winner
	default:
		r.Status, r.Reason = peer.Error, reason(o)
	}
	return r
}

func reason(o engine.Outcome) string {
	if o.Err == nil {
		return string(o.Result)
	}
	if errors.Is(o.Err, engine.ErrQueueUndefined) {
		return "queue " + o.Queue + " is not defined on this node"
	}
	return o.Err.Error()
}
