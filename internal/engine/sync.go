package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
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
	return s.pullFrom(ctx, p, func() (peer.Snapshot, error) { return fetch(ctx, p, queues, s.e.opts.DryRun) })
}

func (s *Session) pullFrom(ctx context.Context, p Peer, read func() (peer.Snapshot, error)) (*peer.Snapshot, []Outcome, error) {
	snap, err := read()
	if err != nil {
		return nil, nil, err
	}
	outs, err := s.ApplySnapshot(ctx, p, snap)
	return &snap, outs, err
}

// Pulls are peers' states being read while the local state is: StartPulls
// before Begin, then Sync, so that a resync takes the longer of the two
// reads, not their sum.
type Pulls struct {
	m map[string]*pulling
}

type pulling struct {
	done chan struct{}
	snap peer.Snapshot
	err  error
}

// StartPulls starts reading the state of every peer (for queues, all shared
// when empty) at once.
func StartPulls(ctx context.Context, peers []Peer, queues []string, dryRun bool) *Pulls {
	ps := &Pulls{m: make(map[string]*pulling, len(peers))}
	for _, p := range peers {
		pl := &pulling{done: make(chan struct{})}
		ps.m[p.Name] = pl
		go func() {
			defer close(pl.done)
			pl.snap, pl.err = fetch(ctx, p, queues, dryRun)
		}()
	}
	return ps
}

// wait returns the state read from p, reading it now if it was not started.
func (ps *Pulls) wait(ctx context.Context, p Peer, queues []string, dryRun bool) (peer.Snapshot, error) {
	pl := ps.get(p.Name)
	if pl == nil {
		return fetch(ctx, p, queues, dryRun)
	}
	select {
	case <-pl.done:
		return pl.snap, pl.err
	case <-ctx.Done():
		return peer.Snapshot{}, ctx.Err()
	}
}

func (ps *Pulls) get(name string) *pulling {
	if ps == nil {
		return nil
	}
	return ps.m[name]
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
	outs, err := s.applyAs(ctx, p.Name, store.SourceResync, regs)
	return append(outs, skippedOutcomes(p.Name, snap.Skipped)...), err
}

// skippedOutcomes reports the members the peer's answer could not carry:
// each is a failed outcome, so that -v, the log and the exit status say so,
// and nothing is done about it.
func skippedOutcomes(from string, skipped []peer.Skipped) []Outcome {
	outs := make([]Outcome, 0, len(skipped))
	for _, sk := range skipped {
		outs = append(outs, Outcome{Queue: sk.Queue, Interface: sk.Interface, Peer: from, Result: Failed, Err: sk.Err})
	}
	return outs
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
	outs, newer, err := Deliver(ctx, p, regs)
	if err != nil || len(newer) == 0 {
		return outs, err
	}
	applied, err := s.applyAs(ctx, p.Name, store.SourceResync, newer)
	return append(outs, applied...), err
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
	var keys []state.Key
	for k, en := range s.journal {
		if !p.Shares(en.Queue) {
			continue
		}
		if v, ok := theirs[k]; known != nil && ok && v == en.Version() {
			continue
		}
		keys = append(keys, k)
	}
	sortKeys(keys) // only what is sent, in key order
	regs := make([]state.Register, len(keys))
	for i, k := range keys {
		regs[i] = s.journal[k].Register
	}
	return regs
}

// sortKeys sorts keys by queue, then interface.
func sortKeys(keys []state.Key) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Queue != keys[j].Queue {
			return keys[i].Queue < keys[j].Queue
		}
		return keys[i].Interface < keys[j].Interface
	})
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

// Deliver sends regs to p and reads its answer, the one place a peer's
// answer to a push is interpreted: an outcome per register it applied
// (Pushed) or refused (Failed), and the registers it answered as stale
// (newer there) for the caller to apply through its own apply path.
func Deliver(ctx context.Context, p Peer, regs []state.Register) (outs []Outcome, newer []state.Register, err error) {
	rs, err := p.Client.Push(ctx, regs)
	if err != nil {
		return nil, nil, fmt.Errorf("push to %s: %w", p.Name, err)
	}
	for i, r := range regs {
		o := Outcome{Queue: r.Queue, Interface: r.Interface, Peer: p.Name, Local: ptr(r), Winner: ptr(r)}
		if i >= len(rs.Results) {
			o.Result, o.Err = Failed, fmt.Errorf("peer %s sent no result for %s", p.Name, r.Key())
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
			o.Result, o.Err = Failed, fmt.Errorf("peer %s refused %s: %s", p.Name, r.Key(), res.Reason)
		}
		outs = append(outs, o)
	}
	return outs, newer, nil
}

// SyncPeer runs a full pull and push with p without holding the engine's
// lock across a request, so that the peer may call back into this node at
// the same time (the daemon's resync when a peer returns). The registers
// the peer answered as stale are returned for the caller to apply.
func (e *Engine) SyncPeer(ctx context.Context, p Peer) (outs []Outcome, newer []state.Register, err error) {
	snap, err := fetch(ctx, p, nil, e.opts.DryRun)
	if err != nil {
		return nil, nil, err
	}
	sess, err := e.Begin(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	outs, err = sess.ApplySnapshot(ctx, p, snap)
	regs := sess.Pushable(p, &snap)
	sess.End()
	if err != nil || len(regs) == 0 || e.opts.DryRun {
		return outs, nil, err
	}
	pushed, newer, err := Deliver(ctx, p, regs)
	return append(outs, pushed...), newer, err
}

// Direction says which ways a Sync runs.
type Direction struct {
	Pull, Push bool
}

// SyncResult is what a Sync did: every outcome, and the peers it could
// not sync with and why.
type SyncResult struct {
	Outcomes   []Outcome
	PeerErrors map[string]error
}

// Sync reconciles the session's live state into the journal, then pulls
// from and pushes to each peer in turn (as dir says), for queues (all
// shared when empty), taking the peers' states from pulls where they were
// started (nil: each is read in its turn). A peer that fails does not stop
// the others; only a local failure or ctx ending does. The one-shot
// commands and status use it; it holds the engine's lock across the
// requests.
func (s *Session) Sync(ctx context.Context, peers []Peer, dir Direction, queues []string, pulls *Pulls) (*SyncResult, error) {
	res := &SyncResult{PeerErrors: map[string]error{}}
	local, err := s.Reconcile(ctx)
	res.Outcomes = append(res.Outcomes, local...)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		outs, err := s.syncWith(ctx, p, dir, queues, pulls)
		res.Outcomes = append(res.Outcomes, outs...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.PeerErrors[p.Name] = err
		}
	}
	return res, nil
}

func (s *Session) syncWith(ctx context.Context, p Peer, dir Direction, queues []string, pulls *Pulls) ([]Outcome, error) {
	if !dir.Pull {
		return s.Push(ctx, p, nil)
	}
	known, outs, err := s.pullFrom(ctx, p, func() (peer.Snapshot, error) { return pulls.wait(ctx, p, queues, s.e.opts.DryRun) })
	if err != nil || !dir.Push {
		return outs, err
	}
	pushed, err := s.Push(ctx, p, known)
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
