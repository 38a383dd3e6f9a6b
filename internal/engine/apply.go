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
	out.Winner, out.Actions, out.Reports, out.Result = ptr(r), plan.Actions, plan.Said(), Applied
	pending := len(plan.Actions) > 0
	st := &step{out: out, put: &r, pending: pending, via: from, target: r, settle: pending}
	s.journal[k] = store.Entry{Register: r, Pending: pending, Via: from}
	return st
}

// resolveRefused settles the received registers whose first action
// Asterisk refused because the member was no longer as the session read
// it: an agent or the dialplan added or removed it between the read and
// the action (the engine's lock holds off only this process). Left
// pending, such a register would hide the member's later changes from
// Capture, and the next reconcile would undo them. The members are read
// again: one that holds the register anyway is settled; one that changed
// since the read shows a local change made after the register was
// received, journalled as such (Overtaken: stamped after the register, it
// wins and goes to the peers). The rest stay pending and failed, for the
// next reconcile: a member unchanged (Asterisk refused the value itself),
// one some of whose actions succeeded (the difference is partly ours), a
// queue gone, or a read on another run of Asterisk than the session's (a
// restart's loss is not a local change).
func (s *Session) resolveRefused(ctx context.Context, steps []*step) error {
	var refused []*step
	for _, st := range steps {
		if st.pending && st.out.Result == Failed && st.done == 0 && memberMoved(st.out.Err) {
			refused = append(refused, st)
		}
	}
	if len(refused) == 0 || s.e.opts.DryRun {
		return nil
	}
	ctx, cancel := finishing(ctx) // they are journalled pending: finish them
	defer cancel()
	reads, ok := s.readAgain(ctx, refused)
	if !ok {
		return nil
	}
	var holds, local []*step
	for i, st := range refused {
		k, r := st.target.Key(), reads[i]
		switch {
		case r.err != nil || r.queue == "":
			continue
		case r.live.Matches(st.target):
			holds = append(holds, st)
		case changedSince(s.view.Members[k], r.live):
			s.overtake(st, r.live)
			local = append(local, st)
		}
		s.setRead(Member{Queue: st.target.Queue, Interface: st.target.Interface}, r)
	}
	if err := s.journalSteps(ctx, local); err != nil {
		return err
	}
	for _, st := range local {
		if st.out.Result == Failed { // journalled (not stale, not skipped)
			st.out.Result, st.out.Err, st.out.Winner, st.out.Actions = Overtaken, nil, st.put, nil
		}
	}
	for _, st := range holds {
		st.out.Result, st.out.Err = Applied, nil
	}
	return s.settleSteps(ctx, holds)
}

// readAgain reads the steps' members again, and reports whether the read
// was of the same run of Asterisk, on the same connection, as the
// session's.
func (s *Session) readAgain(ctx context.Context, steps []*step) ([]liveRead, bool) {
	reads := make([]liveRead, len(steps))
	startup, gen, err := s.e.steadyRead(ctx, func() error {
		concurrently(len(steps), func(i int) {
			reads[i] = s.e.readLive(ctx, Member{Queue: steps[i].target.Queue, Interface: steps[i].target.Interface})
		})
		return nil
	})
	if err != nil {
		s.e.opts.Log.Warn("read members again after a refused action", "members", len(steps), "err", err)
		return nil, false
	}
	restarted := !startup.IsZero() && !s.view.Startup.IsZero() && !startup.Equal(s.view.Startup)
	return reads, gen == s.view.gen && !restarted
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
// that overtook its register (its outcome says so once it is written).
func (s *Session) overtake(st *step, live *state.Live) {
	ob := s.observeAt(&st.target, live, st.target.Key(), store.SourceAMI, s.seenStamp(&st.target, st.target.Key()))
	st.put, st.pending, st.via, st.source, st.settle = ob.put, false, "", ob.source, false
}
