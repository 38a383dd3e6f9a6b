package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
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
	if err == nil {
		err = s.resolveRefused(ctx, todo)
	}
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

// resolveRefused settles the received registers whose actions Asterisk
// refused because the member was no longer as the session read it: an
// agent or the dialplan added or removed it between the read and the
// action (the engine's lock holds off only this process). Left pending,
// such a register would hide the member's later changes from Capture, and
// the next reconcile would undo them. The member is read again: one that
// holds the register anyway is settled; one that changed since the read
// shows a local change made after the register was received, journalled as
// such (Overtaken: it is stamped after the register, wins, and goes to the
// peers). A member that did not change stays pending and failed, for the
// next reconcile to retry.
func (s *Session) resolveRefused(ctx context.Context, steps []*step) error {
	var refused []*step
	var ms []Member
	before := map[state.Key]*state.Live{}
	for _, st := range steps {
		if st.pending && st.out.Result == Failed && memberMoved(st.out.Err) {
			k := st.target.Key()
			refused, before[k] = append(refused, st), s.view.Members[k]
			ms = append(ms, Member{Queue: st.target.Queue, Interface: st.target.Interface})
		}
	}
	if len(refused) == 0 || s.e.opts.DryRun {
		return nil
	}
	ctx, cancel := finishing(ctx) // they are journalled pending: finish them
	defer cancel()
	if err := s.readLives(ctx, ms); err != nil {
		s.e.opts.Log.Warn("read members again after a refused action", "members", len(ms), "err", err)
		return nil // they stay pending: the next reconcile retries them
	}
	var holds, local []*step
	for _, st := range refused {
		k := st.target.Key()
		live := s.view.Members[k]
		switch {
		case live.Matches(st.target):
			holds = append(holds, st)
		case changedSince(before[k], live):
			s.overtake(st, live)
			local = append(local, st)
		}
	}
	if err := s.journalSteps(ctx, local); err != nil {
		return err
	}
	for _, st := range holds {
		st.out.Result, st.out.Err = Applied, nil
	}
	return s.settleSteps(ctx, holds)
}

// memberMoved reports whether Asterisk refused an action because the
// member is not, or no longer, as the session read it (added, removed).
func memberMoved(err error) bool {
	for _, e := range []error{ami.ErrNotThere, ami.ErrAlreadyThere, ami.ErrInvalid, ami.ErrInterfaceNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// changedSince reports whether a member's live state now differs from what
// an earlier read showed: its values, or when it logged in or last paused.
func changedSince(was, now *state.Live) bool {
	if was == nil || now == nil {
		return (was == nil) != (now == nil)
	}
	return !now.Matches(was.Register(state.Stamp{}, "")) || now.LoginTime != was.LoginTime || now.LastPause != was.LastPause
}

// overtake turns a refused step into the journalling of the local change
// that overtook its register.
func (s *Session) overtake(st *step, live *state.Live) {
	ob := s.observeAt(&st.target, live, st.target.Key(), store.SourceAMI, s.seenStamp(&st.target))
	st.put, st.pending, st.via, st.source, st.settle = ob.put, false, "", ob.source, false
	st.out.Result, st.out.Err, st.out.Winner = Overtaken, nil, ob.put
}
