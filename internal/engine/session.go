package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// Session is one consistent pass over a node's live state and journal. It
// holds the engine's lock until End. A session is not safe for concurrent
// use.
type Session struct {
	e          *Engine
	view       *View
	journal    map[state.Key]store.Entry
	reconciled bool
	ended      bool
	mu         sync.Mutex // guards journal and view while a commit's stages run at once
	scoped     bool       // the view holds only some members (BeginMembers)
	partial    bool       // the view holds only some queues or members: Reconcile must not record Asterisk's start
	// received is when the event that the view shows of a member arrived
	// (BeginSeen; none for a member read from Asterisk).
	received map[state.Key]time.Time
}

// End releases the engine's lock. It is safe to call more than once.
func (s *Session) End() {
	if !s.ended {
		s.ended = true
		s.e.mu.Unlock()
	}
}

// View returns the live state the session works on.
func (s *Session) View() *View { return s.view }

// step is one member's planned change: what to journal, and the AMI actions
// that move live state to target.
type step struct {
	out     Outcome
	put     *state.Register // journal this version (nil: nothing to write)
	pending bool            // journal it as pending until the actions succeed
	via     string          // the peer it came from
	source  string          // how it reached this node, for the history (store.Source*)
	target  state.Register
	settle  bool // clear the pending flag once the actions succeeded
	done    int  // how many of the actions succeeded
	// restored is what Asterisk held before a restore of a settled
	// register (nil: nothing to record; a missing member is a tombstone).
	restored *state.Register
}

// Entries returns the journal entries the session holds, sorted by key.
func (s *Session) Entries() []store.Entry {
	keys := make([]state.Key, 0, len(s.journal))
	for k := range s.journal {
		keys = append(keys, k)
	}
	sortKeys(keys)
	out := make([]store.Entry, len(keys))
	for i, k := range keys {
		out[i] = s.journal[k]
	}
	return out
}

// commit journals the steps' registers, runs their AMI actions and settles
// them. In a dry run it only updates the session's own picture. A large
// commit runs as a pipeline of chunks (commitChunk): the journal writes of
// one chunk overlap the actions of those before it, and their settles.
//
// A chunk that journalled registers pending is acted on and settled even
// when ctx ends meanwhile (the daemon stopping, a resync interrupted),
// within finishTimeout: left pending, its registers would be finished by
// the next reconcile, which would undo whatever an agent changed in
// between. The other chunks (restores of what the journal already holds)
// stop with ctx.
func (s *Session) commit(ctx context.Context, steps []*step) error {
	fctx, cancel := finishing(ctx)
	defer cancel()
	var err error
	if len(steps) <= commitChunk {
		err = s.commitOnce(ctx, fctx, steps)
	} else {
		err = s.commitPipelined(ctx, fctx, steps)
	}
	s.logSteps(ctx, steps)
	if err == nil {
		s.recordRestores(fctx, steps)
	}
	return err
}

// commitChunk is how many steps one stage of a commit carries; the first
// and the last chunk carry at most commitEdge, so that the actions start
// after a short journal write and end with a short settle.
const (
	commitChunk = 250
	commitEdge  = 50
)

// commitChunks cuts n steps into the chunks of a pipelined commit: their
// ends, in order.
func commitChunks(n int) []int {
	var ends []int
	end := min(commitEdge, n)
	for {
		ends = append(ends, end)
		left := n - end
		switch {
		case left == 0:
			return ends
		case left <= commitEdge:
			end = n
		case left <= commitChunk+commitEdge:
			end = n - commitEdge
		default:
			end += commitChunk
		}
	}
}

// finishTimeout bounds the actions and settle of a journalled chunk once
// the session's context has ended: a chunk's actions take well under a
// second on a working Asterisk, and the daemon's shutdown waits for them.
const finishTimeout = 30 * time.Second

// finishing returns a context for finishing what ctx began: not cancelled
// with it, bounded by finishTimeout.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

// commitOnce journals steps under ctx, then acts on them and settles them
// (under fctx, which outlives ctx, when it journalled any pending: see
// commit).
func (s *Session) commitOnce(ctx, fctx context.Context, steps []*step) error {
	if err := s.journalSteps(ctx, steps); err != nil {
		return err
	}
	actx := finishCtx(ctx, fctx, steps)
	s.runActions(actx, steps, newSlots(s.e.opts.Workers))
	return s.settleSteps(actx, steps)
}

// finishCtx returns fctx for steps that journalled a register pending,
// ctx otherwise.
func finishCtx(ctx, fctx context.Context, steps []*step) context.Context {
	for _, st := range steps {
		if st.put != nil && st.pending {
			return fctx
		}
	}
	return ctx
}

// commitPipelined is commitOnce chunk by chunk, the stages overlapping. A
// chunk is acted on only once its registers are journalled (pending), and
// settled only once its actions are done; when a journal write fails, the
// chunks journalled before it are still acted on and settled.
func (s *Session) commitPipelined(ctx, fctx context.Context, steps []*step) error {
	type actedChunk struct {
		ctx   context.Context
		steps []*step
	}
	ends := commitChunks(len(steps))
	acted := make(chan actedChunk, len(ends))
	settled := make(chan error, 1)
	go func() {
		var err error
		for chunk := range acted {
			if e := s.settleSteps(chunk.ctx, chunk.steps); err == nil {
				err = e
			}
		}
		settled <- err
	}()
	sl := newSlots(s.e.opts.Workers) // shared by the chunks in flight
	var wg sync.WaitGroup
	var jerr error
	start := 0
	for _, end := range ends {
		chunk := steps[start:end]
		start = end
		if jerr = s.journalSteps(ctx, chunk); jerr != nil {
			break
		}
		actx := finishCtx(ctx, fctx, chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runActions(actx, chunk, sl)
			acted <- actedChunk{actx, chunk}
		}()
	}
	wg.Wait()
	close(acted)
	if serr := <-settled; jerr == nil {
		return serr
	}
	return jerr
}

// logSteps logs each decision that changed something, at debug level: what
// an operator troubleshooting a member wants to see.
func (s *Session) logSteps(ctx context.Context, steps []*step) {
	log := s.e.opts.Log
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	for _, st := range steps {
		o := st.out
		if !o.Changed() {
			continue
		}
		kinds := make([]string, len(o.Actions))
		for i, a := range o.Actions {
			kinds[i] = string(a.Kind)
		}
		log.Debug("member decision", "queue", o.Queue, "interface", o.Interface, "peer", o.Peer, "result", o.Result,
			"actions", kinds, "reports", o.Reports, "err", o.Err, "dry_run", s.e.opts.DryRun)
	}
}

func (s *Session) journalSteps(ctx context.Context, steps []*step) error {
	type batchKey struct {
		pending     bool
		via, source string
	}
	batches := map[batchKey][]*step{}
	for _, st := range steps {
		if st.put != nil {
			k := batchKey{st.pending, st.via, st.source}
			batches[k] = append(batches[k], st)
		}
	}
	for k, sts := range batches {
		if err := s.putBatch(ctx, sts, store.PutOptions{Pending: k.pending, Via: k.via, Source: k.source}); err != nil {
			return err
		}
	}
	return nil
}

// journalChunk is how many registers one journal write carries at most: a
// node's first reconcile (every member new) is written in chunks, so that
// neither the database round trip nor its memory grows with the node.
const journalChunk = 5000

func (s *Session) putBatch(ctx context.Context, sts []*step, o store.PutOptions) error {
	for len(sts) > journalChunk {
		if err := s.putChunk(ctx, sts[:journalChunk], o); err != nil {
			return err
		}
		sts = sts[journalChunk:]
	}
	return s.putChunk(ctx, sts, o)
}

func (s *Session) putChunk(ctx context.Context, sts []*step, o store.PutOptions) error {
	regs := make([]state.Register, len(sts))
	for i, st := range sts {
		regs[i] = *st.put
	}
	var res []store.PutResult
	if !s.e.opts.DryRun {
		var err error
		start := time.Now()
		res, err = s.e.opts.Journal.PutMany(ctx, regs, o)
		s.e.timed(StepJournalWrite, start)
		if err != nil {
			return fmt.Errorf("journal %d changes: %w", len(regs), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range sts {
		if res != nil && res[i].Err != nil {
			// This one member cannot be journalled (a queue or interface
			// that is not UTF-8): it is skipped and reported, the rest go on.
			st.out.Result, st.out.Err, st.out.Actions = Skipped, res[i].Err, nil
			continue
		}
		if res != nil && !res[i].Stored {
			// A concurrent writer journalled a newer version: it wins, and
			// acts on it. What live state cannot take of it yet (a wrap-up
			// time during a call) is still worth saying here.
			cur := res[i].Current.Register
			st.out.Result, st.out.Winner, st.out.Actions = Stale, ptr(cur), nil
			st.out.Reports = state.Plan(cur, s.view.Members[cur.Key()]).Said()
			s.journal[st.put.Key()] = res[i].Current
			continue
		}
		s.journal[st.put.Key()] = store.Entry{Register: *st.put, Pending: o.Pending, Via: o.Via}
	}
	return nil
}

// runActions runs each step's actions in order, steps concurrently (AMI
// pipelines them), bounded by sl: the steps start in groups, each group
// once slots are free for all of it (see slots).
func (s *Session) runActions(ctx context.Context, steps []*step, sl *slots) {
	var todo []*step
	for _, st := range steps {
		if len(st.out.Actions) > 0 && st.out.Result != Stale && !s.e.opts.DryRun {
			todo = append(todo, st)
		}
	}
	if len(todo) > 0 {
		defer s.e.timed(StepActions, time.Now())
	}
	var wg sync.WaitGroup
	for len(todo) > 0 {
		n := sl.take(len(todo))
		for _, st := range todo[:n] {
			wg.Add(1)
			go func() {
				defer func() { sl.give(); wg.Done() }()
				done, err := s.e.execute(ctx, st.out.Actions)
				if err != nil {
					st.out.Result, st.out.Err = Failed, err
				}
				st.done = done
			}()
		}
		todo = todo[n:]
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range steps {
		if st.out.Result != Failed && st.out.Result != Stale && len(st.out.Actions) > 0 {
			s.setLive(st.target)
		}
	}
}

func (s *Session) settleSteps(ctx context.Context, steps []*step) error {
	var done []state.Register
	s.mu.Lock()
	for _, st := range steps {
		if !st.settle || st.out.Result == Failed || st.out.Result == Stale || st.out.Result == Skipped {
			continue
		}
		k := st.target.Key()
		en := s.journal[k]
		en.Pending = false
		s.journal[k] = en
		done = append(done, st.target)
	}
	s.mu.Unlock()
	if s.e.opts.DryRun || len(done) == 0 {
		return nil
	}
	defer s.e.timed(StepSettle, time.Now())
	return s.e.opts.Journal.SettleMany(ctx, done)
}

// setLive records that live state now holds r.
func (s *Session) setLive(r state.Register) {
	k := r.Key()
	if !r.Present {
		delete(s.view.Members, k)
		return
	}
	l := state.Live{
		Queue: r.Queue, Interface: r.Interface, MemberName: r.MemberName,
		StateInterface: r.StateInterface, Membership: r.Membership, Penalty: r.Penalty,
		Paused: r.Paused, PausedReason: r.PausedReason, Ringinuse: r.Ringinuse, Wrapuptime: r.Wrapuptime,
	}
	if old := s.view.Members[k]; old != nil {
		l.LastPause, l.LoginTime, l.InCall = old.LastPause, old.LoginTime, old.InCall
		if l.Wrapuptime == nil {
			l.Wrapuptime = old.Wrapuptime
		}
		if l.Ringinuse == nil {
			l.Ringinuse = old.Ringinuse
		}
	}
	s.view.Members[k] = &l
}

func outcomes(steps []*step) []Outcome {
	out := make([]Outcome, len(steps))
	for i, st := range steps {
		out[i] = st.out
	}
	return out
}
