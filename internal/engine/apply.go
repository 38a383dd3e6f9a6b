package engine

import (
	"context"
	"fmt"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// Apply merges registers received from the peer named from by the conflict
// rule and moves live state to every register that wins. It returns one
// outcome per register, in order. The session is reconciled first if it was
// not, so that a local change no daemon saw competes with the peer's.
func (s *Session) Apply(ctx context.Context, from string, regs []state.Register) ([]Outcome, error) {
	return s.applyAs(ctx, from, store.PeerSource(from), regs)
}

// applyAs is Apply with the source the history records.
func (s *Session) applyAs(ctx context.Context, from, source string, regs []state.Register) ([]Outcome, error) {
	if !s.reconciled {
		if _, err := s.Reconcile(ctx); err != nil {
			return nil, err
		}
	}
	steps := make([]*step, len(regs))
	for i, r := range regs {
		steps[i] = s.decide(from, r)
		steps[i].source = source
	}
	var todo []*step
	for _, st := range steps {
		if st.put != nil {
			todo = append(todo, st)
		}
	}
	err := s.commit(ctx, todo)
	return outcomes(steps), err
}

// decide compares one incoming register with the journal. The session's
// journal picture is updated at once so that a later duplicate in the same
// batch compares with the winner.
func (s *Session) decide(from string, r state.Register) *step {
	out := Outcome{Queue: r.Queue, Interface: r.Interface, Peer: from, Remote: ptr(r)}
	k := r.Key()
	if !s.view.Defined(r.Queue) {
		out.Result, out.Err = Skipped, fmt.Errorf("queue %s: %w", r.Queue, ErrQueueUndefined)
		return &step{out: out}
	}
	if err := s.e.opts.Clock.Observe(r.Stamp); err != nil {
		out.Result, out.Err = Failed, fmt.Errorf("register %s from %s: %w", k, from, err)
		return &step{out: out}
	}
	cur, ok := s.journal[k]
	if ok {
		out.Local = ptr(cur.Register)
		if !r.Newer(cur.Register) {
			out.Winner, out.Result = out.Local, Stale
			if cur.Version() == r.Version() {
				out.Result = InSync
			}
			return &step{out: out}
		}
	}
	plan := state.Plan(r, s.view.Members[k])
	out.Winner, out.Actions, out.Reports, out.Result = ptr(r), plan.Actions, append(plan.Reports, plan.Deferred...), Applied
	pending := len(plan.Actions) > 0
	st := &step{out: out, put: &r, pending: pending, via: from, target: r, settle: pending}
	s.journal[k] = store.Entry{Register: r, Pending: pending, Via: from}
	return st
}
