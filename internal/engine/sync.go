package engine

import (
	"context"
	"fmt"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

// PeerClient is what the engine needs from a peer (internal/peer's Client).
type PeerClient interface {
	State(ctx context.Context, queues []string, dryRun bool) (peer.Snapshot, error)
	Push(ctx context.Context, regs []state.Register) (peer.ResultSet, error)
}

// Peer is a configured peer: its name, its client and the queues the two
// nodes share.
type Peer struct {
	Name   string
	Client PeerClient
	Shares func(queue string) bool
}

// Pull fetches the peer's registers for queues (all shared when empty) and
// applies those that win here. It returns the peer's snapshot for Push.
//
// Pull holds the session, and so the engine's lock, across the request: use
// it only where no peer can call back into this engine (the one-shot
// commands). The daemon uses Engine.SyncPeer.
func (s *Session) Pull(ctx context.Context, p Peer, queues []string) (*peer.Snapshot, []Outcome, error) {
	snap, err := fetch(ctx, p, queues, s.e.opts.DryRun)
	if err != nil {
		return nil, nil, err
	}
	outs, err := s.ApplySnapshot(ctx, p, snap)
	return &snap, outs, err
}

func fetch(ctx context.Context, p Peer, queues []string, dryRun bool) (peer.Snapshot, error) {
	snap, err := p.Client.State(ctx, queues, dryRun)
	if err != nil {
		return snap, fmt.Errorf("pull from %s: %w", p.Name, err)
	}
	return snap, nil
}

// ApplySnapshot applies the registers of a peer's snapshot that are in
// queues both nodes share.
func (s *Session) ApplySnapshot(ctx context.Context, p Peer, snap peer.Snapshot) ([]Outcome, error) {
	var regs []state.Register
	for _, r := range snap.Registers {
		if p.Shares(r.Queue) && s.view.Defined(r.Queue) {
			regs = append(regs, r)
		}
	}
	return s.Apply(ctx, p.Name, regs)
}

// Push sends the peer our registers for the queues it shares. With the
// peer's snapshot from a Pull, only registers whose version differs from the
// peer's are sent. A register the peer answers as stale comes back newer and
// is applied here.
func (s *Session) Push(ctx context.Context, p Peer, known *peer.Snapshot) ([]Outcome, error) {
	regs := s.Pushable(p, known)
	if len(regs) == 0 {
		return nil, nil
	}
	if s.e.opts.DryRun {
		return dryPushed(p.Name, regs, known), nil
	}
	rs, err := p.Client.Push(ctx, regs)
	if err != nil {
		return nil, fmt.Errorf("push to %s: %w", p.Name, err)
	}
	return s.pushResults(ctx, p.Name, regs, rs)
}

// Pushable returns our registers for the queues p shares whose version the
// peer's snapshot (when known) does not hold.
func (s *Session) Pushable(p Peer, known *peer.Snapshot) []state.Register {
	theirs := map[state.Key]state.Version{}
	if known != nil {
		for _, r := range known.Registers {
			theirs[r.Key()] = r.Version()
		}
	}
	var regs []state.Register
	for _, en := range s.Entries() {
		if !p.Shares(en.Queue) {
			continue
		}
		if v, ok := theirs[en.Key()]; known != nil && ok && v == en.Version() {
			continue
		}
		regs = append(regs, en.Register)
	}
	return regs
}

func dryPushed(name string, regs []state.Register, known *peer.Snapshot) []Outcome {
	theirs := map[state.Key]state.Register{}
	if known != nil {
		for _, r := range known.Registers {
			theirs[r.Key()] = r
		}
	}
	var outs []Outcome
	for _, r := range regs {
		o := Outcome{Queue: r.Queue, Interface: r.Interface, Peer: name, Local: ptr(r), Winner: ptr(r), Result: Pushed}
		if t, ok := theirs[r.Key()]; ok {
			o.Remote = ptr(t)
			if !r.Newer(t) {
				continue
			}
		}
		outs = append(outs, o)
	}
	return outs
}

func (s *Session) pushResults(ctx context.Context, name string, regs []state.Register, rs peer.ResultSet) ([]Outcome, error) {
	var outs []Outcome
	var newer []state.Register
	for i, r := range regs {
		o := Outcome{Queue: r.Queue, Interface: r.Interface, Peer: name, Local: ptr(r), Winner: ptr(r)}
		if i >= len(rs.Results) {
			o.Result, o.Err = Failed, fmt.Errorf("peer %s sent no result for %s", name, r.Key())
			outs = append(outs, o)
			continue
		}
		res := rs.Results[i]
		switch res.Status {
		case peer.Applied:
			o.Result = Pushed
		case peer.Stale:
			if res.Register != nil {
				newer = append(newer, *res.Register)
			}
			continue
		default:
			o.Result, o.Err = Failed, fmt.Errorf("peer %s refused %s: %s", name, r.Key(), res.Reason)
		}
		outs = append(outs, o)
	}
	if len(newer) == 0 {
		return outs, nil
	}
	applied, err := s.Apply(ctx, name, newer)
	return append(outs, applied...), err
}

// SyncPeer runs a full pull and push with p without holding the engine's
// lock across a request, so that the peer may call back into this node at
// the same time (the daemon's resync when a peer returns).
func (e *Engine) SyncPeer(ctx context.Context, p Peer) ([]Outcome, error) {
	snap, err := fetch(ctx, p, nil, e.opts.DryRun)
	if err != nil {
		return nil, err
	}
	sess, err := e.Begin(ctx, nil)
	if err != nil {
		return nil, err
	}
	outs, err := sess.ApplySnapshot(ctx, p, snap)
	regs := sess.Pushable(p, &snap)
	sess.End()
	if err != nil || len(regs) == 0 || e.opts.DryRun {
		return outs, err
	}
	rs, err := p.Client.Push(ctx, regs)
	if err != nil {
		return outs, fmt.Errorf("push to %s: %w", p.Name, err)
	}
	sess, err = e.BeginMembers(ctx, Members(regs))
	if err != nil {
		return outs, err
	}
	defer sess.End()
	pushed, err := sess.pushResults(ctx, p.Name, regs, rs)
	return append(outs, pushed...), err
}

// Members names the members of regs, for BeginMembers.
func Members(regs []state.Register) []Member {
	ms := make([]Member, len(regs))
	for i, r := range regs {
		ms[i] = Member{Queue: r.Queue, Interface: r.Interface}
	}
	return ms
}
