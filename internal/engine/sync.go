package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// PeerClient is what the engine needs from a peer (internal/peer's Client).
type PeerClient interface {
	StatePages(ctx context.Context, queues []string, dryRun bool, each func(page peer.Snapshot, fresh bool) error) error
	ReconciledDigests(ctx context.Context) (peer.Digests, error)
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
// reads, not their sum. Sync applies each page of a peer's state as it
// arrives.
type Pulls struct {
	m map[string]*pulling
}

// pulling is one peer's state being read: the pages read and not yet
// taken, then the read's end.
type pulling struct {
	mu    sync.Mutex
	pages []pulledPage
	done  bool
	err   error
	more  chan struct{} // signalled when a page arrives or the read ends

	// A pull that compares digests first (see compareDigests): digested
	// is closed once the peer's digests are read (digests) or could not
	// be (nil: the whole state is read); the state of the queues sent on
	// want is read then, none when want gets an empty list.
	digested chan struct{}
	digests  *peer.Digests
	want     chan []string
}

type pulledPage struct {
	snap  peer.Snapshot
	fresh bool
}

// StartPulls starts reading the state of every peer (for queues, all shared
// when empty) at once. Unless in a dry run, each pull first reads the peer's
// digests (its journal brought up to date with its live state) and reads
// then only the state of the queues whose digests differ here (Sync).
func StartPulls(ctx context.Context, peers []Peer, queues []string, dryRun bool) *Pulls {
	ps := &Pulls{m: make(map[string]*pulling, len(peers))}
	for _, p := range peers {
		ps.m[p.Name] = startPull(ctx, p, queues, dryRun)
	}
	return ps
}

// startPull starts reading p's state: unless in a dry run (the peer must
// not write), its reconciled digests first.
func startPull(ctx context.Context, p Peer, queues []string, dryRun bool) *pulling {
	pl := &pulling{more: make(chan struct{}, 1), digested: make(chan struct{}), want: make(chan []string, 1)}
	if dryRun {
		close(pl.digested)
	}
	go func() {
		if !dryRun {
			var ok bool
			if queues, ok = pl.readDigests(ctx, p, queues); !ok {
				return
			}
		}
		err := p.Client.StatePages(ctx, queues, dryRun, func(page peer.Snapshot, fresh bool) error {
			pl.update(func() { pl.pages = append(pl.pages, pulledPage{page, fresh}) })
			return nil
		})
		pl.finish(err, p)
	}()
	return pl
}

// readDigests reads p's digests, then waits for the queues whose state to
// read; ok is false when there are none (the pull is over).
func (pl *pulling) readDigests(ctx context.Context, p Peer, queues []string) (_ []string, ok bool) {
	d, err := p.Client.ReconciledDigests(ctx)
	if err == nil {
		pl.digests = &d
	}
	close(pl.digested)
	switch {
	case servesNoDigests(err):
		return queues, true // a peer that serves no digests: its whole state
	case err != nil:
		pl.finish(err, p) // unreachable, or an answer not to be trusted
		return nil, false
	}
	select {
	case want := <-pl.want:
		if len(want) == 0 {
			pl.finish(nil, p)
			return nil, false
		}
		return want, true
	case <-ctx.Done():
		pl.finish(ctx.Err(), p)
		return nil, false
	}
}

func (pl *pulling) finish(err error, p Peer) {
	if err != nil {
		err = fmt.Errorf("pull from %s: %w", p.Name, err)
	}
	pl.update(func() { pl.done, pl.err = true, err })
}

func (pl *pulling) update(f func()) {
	pl.mu.Lock()
	f()
	pl.mu.Unlock()
	select {
	case pl.more <- struct{}{}:
	default:
	}
}

// next returns the next page read; ok is false at the end of the read,
// with its error.
func (pl *pulling) next(ctx context.Context) (page pulledPage, ok bool, err error) {
	for {
		pl.mu.Lock()
		switch {
		case len(pl.pages) > 0:
			page, pl.pages = pl.pages[0], pl.pages[1:]
			pl.mu.Unlock()
			return page, true, nil
		case pl.done:
			pl.mu.Unlock()
			return pulledPage{}, false, pl.err
		}
		pl.mu.Unlock()
		select {
		case <-pl.more:
		case <-ctx.Done():
			return pulledPage{}, false, ctx.Err()
		}
	}
}

// pulled returns the read of p's state started by StartPulls, or starts it.
func (ps *Pulls) pulled(ctx context.Context, p Peer, queues []string, dryRun bool) *pulling {
	if ps != nil && ps.m[p.Name] != nil {
		return ps.m[p.Name]
	}
	return startPull(ctx, p, queues, dryRun)
}

// fetch reads p's whole state.
func fetch(ctx context.Context, p Peer, queues []string, dryRun bool) (peer.Snapshot, error) {
	var all peer.Snapshot
	err := p.Client.StatePages(ctx, queues, dryRun, func(page peer.Snapshot, fresh bool) error {
		all.Gather(page, fresh)
		return nil
	})
	if err != nil {
		return all, fmt.Errorf("pull from %s: %w", p.Name, err)
	}
	return all, nil
}

// pullPages applies each page of p's state as it arrives, and returns the
// whole state for Push.
func (s *Session) pullPages(ctx context.Context, p Peer, pl *pulling) (*peer.Snapshot, []Outcome, error) {
	var all peer.Snapshot
	var outs []Outcome
	for {
		pg, ok, err := pl.next(ctx)
		if !ok {
			return &all, outs, err
		}
		all.Gather(pg.snap, pg.fresh)
		o, err := s.ApplySnapshot(ctx, p, pg.snap)
		outs = append(outs, o...)
		if err != nil {
			return &all, outs, err
		}
	}
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
	return s.push(ctx, p, known, nil)
}

// push is Push of the registers of the queues only holds (keys; all when
// nil).
func (s *Session) push(ctx context.Context, p Peer, known *peer.Snapshot, only map[string]bool) ([]Outcome, error) {
	regs := s.pushable(p, known, only)
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
	return s.pushable(p, known, nil)
}

func (s *Session) pushable(p Peer, known *peer.Snapshot, only map[string]bool) []state.Register {
	theirs := map[state.Key]state.Version{}
	if known != nil {
		for _, r := range known.Registers {
			theirs[r.Key()] = r.Version()
		}
	}
	var keys []state.Key
	for k, en := range s.journal {
		if !p.Shares(en.Queue) || only != nil && !only[k.Queue] {
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
// the same time (the daemon's resync when a peer returns). It reconciles
// the local state and compares digests first, and reads, and pushes, only
// the queues that differ. The
// registers the peer answered as stale are returned for the caller to
// apply.
func (e *Engine) SyncPeer(ctx context.Context, p Peer) (outs []Outcome, newer []state.Register, err error) {
	differ, all, err := e.peerDiffers(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	var queues []string
	if !all {
		if len(differ) == 0 {
			return nil, nil, nil // in sync
		}
		queues = slices.Sorted(maps.Keys(differ))
	}
	snap, err := fetch(ctx, p, queues, e.opts.DryRun)
	if err != nil {
		return nil, nil, err
	}
	sess, err := e.Begin(ctx, queues)
	if err != nil {
		return nil, nil, err
	}
	outs, err = sess.ApplySnapshot(ctx, p, snap)
	regs := sess.pushable(p, &snap, differ)
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
	pl := pulls.pulled(ctx, p, queues, s.e.opts.DryRun)
	only, err := s.compareDigests(ctx, p, pl, queues)
	if err != nil || only != nil && len(only) == 0 {
		return nil, err // in sync: no state read, nothing to push
	}
	known, outs, err := s.pullPages(ctx, p, pl)
	if err != nil || !dir.Push {
		return outs, err
	}
	pushed, err := s.push(ctx, p, known, only)
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
