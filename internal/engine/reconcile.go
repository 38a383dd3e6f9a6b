package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// Reconcile brings the journal and live state together for every member of
// the session's queues (architecture.md §2 rule 5): a live difference that a restart
// of Asterisk explains is restored from the journal and not propagated; any
// other difference is a local change no daemon saw, and is journalled with a
// new stamp so that it is propagated.
//
// A restart explains a difference only if the journal has not yet been
// reconciled against this run of Asterisk: once it has, every later
// difference is a real change, however old the register.
func (s *Session) Reconcile(ctx context.Context) ([]Outcome, error) {
	var outs []Outcome
	err := s.ReconcileEach(ctx, func(chunk []Outcome) { outs = append(outs, chunk...) })
	return outs, err
}

// ReconcileEach is Reconcile handing each chunk's outcomes to each as soon
// as the chunk is committed, instead of returning them all at the end: a
// caller that only records them (the daemon) holds none of a large
// node's.
func (s *Session) ReconcileEach(ctx context.Context, each func([]Outcome)) error {
	last, err := s.e.opts.Journal.Startup(ctx)
	if err != nil {
		return fmt.Errorf("read last asterisk start: %w", err)
	}
	if s.scoped && s.view.Startup.IsZero() {
		// A few members cannot tell when Asterisk started: trust the last
		// full reconcile (the daemon runs one at every connect).
		s.view.Startup = last
	}
	restarted := s.view.Startup.IsZero() || !s.view.Startup.Equal(last)
	if restarted {
		s.e.assumeDefaultRinginuse(s.view)
	}
	failed, err := s.reconcileKeys(ctx, s.keys(), restarted, each)
	if err != nil {
		return err
	}
	s.reconciled = true
	if restarted && !s.partial && !s.e.opts.DryRun && !failed {
		if err := s.e.opts.Journal.SetStartup(ctx, s.view.Startup); err != nil {
			return fmt.Errorf("record asterisk start: %w", err)
		}
	}
	return nil
}

// reconcileChunk is how many keys a reconcile decides and commits at a
// time: a node's first reconcile (every member new) then holds the
// decisions of one chunk, not of every member, at once.
const reconcileChunk = 5000

// reconcileKeys reconciles keys chunk by chunk, hands each chunk's
// outcomes to each, and returns whether any failed and the first error (the
// chunks after it are not reconciled).
func (s *Session) reconcileKeys(ctx context.Context, keys []state.Key, restarted bool, each func([]Outcome)) (failed bool, err error) {
	analyzed := false
	for start := 0; start < len(keys); start += reconcileChunk {
		if err := ctx.Err(); err != nil {
			return failed, err
		}
		var steps []*step
		for _, k := range keys[start:min(start+reconcileChunk, len(keys))] {
			if st := s.reconcileKey(k, restarted); st != nil {
				steps = append(steps, st)
			}
		}
		err := s.commit(ctx, steps)
		failed = failed || anyFailed(steps)
		each(outcomes(steps))
		if err != nil {
			return failed, err
		}
		if !analyzed {
			analyzed = s.analyzeAfter(ctx, steps)
		}
	}
	return failed, nil
}

// analyzeThreshold is how many registers a reconcile journals before the
// journal's statistics are refreshed (a first start, a node's first
// resync).
const analyzeThreshold = 1000

// analyzer is the part of a journal that refreshes the database's
// statistics (store.Store).
type analyzer interface {
	Analyze(ctx context.Context) error
}

// analyzeAfter refreshes the journal's statistics after steps that
// journalled many registers, and reports whether it did: the database's
// plans for the writes that follow were made for a journal that was
// (nearly) empty.
func (s *Session) analyzeAfter(ctx context.Context, steps []*step) bool {
	a, ok := s.e.opts.Journal.(analyzer)
	if !ok || s.e.opts.DryRun {
		return false
	}
	n := 0
	for _, st := range steps {
		if st.put != nil {
			n++
		}
	}
	if n < analyzeThreshold {
		return false
	}
	if err := a.Analyze(ctx); err != nil {
		s.e.opts.Log.Warn("journal statistics not refreshed", "err", err)
	}
	return true
}

func anyFailed(steps []*step) bool {
	for _, st := range steps {
		if st.out.Result == Failed {
			return true
		}
	}
	return false
}

// keys returns every key of a defined queue that is live or journalled.
func (s *Session) keys() []state.Key {
	seen := make(map[state.Key]bool, len(s.view.Members)+len(s.journal))
	var keys []state.Key
	add := func(k state.Key) {
		if !seen[k] && s.view.Defined(k.Queue) {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for k := range s.view.Members {
		add(k)
	}
	for k := range s.journal {
		add(k)
	}
	return keys
}

func (s *Session) reconcileKey(k state.Key, restarted bool) *step {
	live := s.view.Members[k]
	en, ok := s.journal[k]
	if !ok {
		if live == nil {
			return nil
		}
		return s.observe(nil, live, k, store.SourceResync)
	}
	reg := en.Register
	if plan := state.Plan(reg, live); len(plan.Actions) == 0 && len(plan.Deferred) == 0 {
		if !en.Pending {
			return nil
		}
		return &step{out: s.outcome(reg, InSync), target: reg, settle: true}
	}
	if en.Pending && s.applying(en) {
		return nil
	}
	if en.Pending && !(restarted && s.erasedByRestart(reg, live)) && pausedSince(en, live) {
		return s.keepPause(en, live)
	}
	if en.Pending || (restarted && s.erasedByRestart(reg, live)) || owed(reg, live) {
		return s.restore(en)
	}
	return s.observe(&reg, live, k, store.SourceResync)
}

// applying reports whether a pending register is young enough that its
// writer is still applying it (Options.PendingGrace): acting on it too
// would make its change twice.
func (s *Session) applying(en store.Entry) bool {
	g := s.e.opts.PendingGrace
	return g > 0 && !en.Updated.IsZero() && s.e.opts.Now().Sub(en.Updated) < g
}

// pausedSince reports whether live's pause differs from a pending
// register's and was made after the register was journalled (Asterisk
// dates it to the second, in a second later than the write): someone paused
// or unpaused the member while the actions that realise the register were
// interrupted (the daemon killed between the two). That pause is newer
// than the register; restoring the register would undo it.
func pausedSince(en store.Entry, live *state.Live) bool {
	reg := en.Register
	if live == nil || !reg.Present || live.LastPause == 0 || en.Updated.IsZero() {
		return false
	}
	if live.Paused == reg.Paused && (!live.Paused || live.PausedReason == reg.PausedReason) {
		return false
	}
	return live.LastPause*1000 > en.Updated.UnixMilli()
}

// keepPause finishes a pending register's interrupted actions but keeps
// the pause made since: the register with live's pause is a local change,
// stamped after the register it replaces, and propagated.
func (s *Session) keepPause(en store.Entry, live *state.Live) *step {
	prev := en.Register
	reg := prev
	reg.Paused, reg.PausedReason = live.Paused, ""
	if live.Paused {
		reg.PausedReason = live.PausedReason
	}
	reg.Stamp, reg.Origin = s.observedStamp(&prev, live), s.e.opts.Node
	plan := state.Plan(reg, live)
	out := s.outcome(reg, Journalled)
	out.Local = &prev
	out.Actions, out.Reports = plan.Actions, plan.Said()
	acts := len(plan.Actions) > 0
	return &step{out: out, put: &reg, pending: acts, target: reg, settle: acts}
}

// owed reports whether live differs from reg only in what queuesync still
// owes Asterisk, which is never a local change (architecture.md §2 rules 7
// and 8): a ringinuse that Asterisk put back to the queue's default at a
// restart or reload, the pause reason a reload of app_queue took from a
// static member (it makes the member anew, paused still, with no reason,
// its login and pause at the reload, after reg; a pause since is an
// agent's), or a wrap-up time not yet set because
// the member was on a call (a member re-added since reg, with a login after
// it, changed its wrap-up time here: that is a local change).
func owed(reg state.Register, live *state.Live) bool {
	if live == nil || !reg.Present {
		return false
	}
	l := *live
	if l.RinginuseAssumed {
		l.Ringinuse = reg.Ringinuse
	}
	if reg.Membership == state.Static && reg.Paused && l.Paused && l.PausedReason == "" &&
		l.LoginTime*1000 > reg.Stamp.Wall && l.LastPause <= l.LoginTime {
		l.PausedReason = reg.PausedReason
	}
	if l.LoginTime == 0 || l.LoginTime*1000 <= reg.Stamp.Wall {
		l.Wrapuptime = reg.Wrapuptime
	}
	plan := state.Plan(reg, &l)
	return len(plan.Actions) == 0 && len(plan.Deferred) == 0
}

// erasedByRestart reports whether the restart of Asterisk explains the
// difference between reg and live. It does when Asterisk started after reg
// was stamped (Asterisk reports its start time to the second: a register from
// that second counts as before the restart).
//
// A stamp is not this node's wall-clock time, though: the hybrid clock
// carries the fastest clock of the cluster, so a register may be stamped up
// to max_clock_skew after the local clock (a peer's clock runs ahead, and
// every node's later stamps follow it). A stamp after the start then does
// not prove that the register was written after it, and the live state
// decides: a member that is missing, or that Asterisk loaded itself at its
// start (astdb, queues.conf) and nobody paused since, is the restart's doing.
func (s *Session) erasedByRestart(reg state.Register, live *state.Live) bool {
	if s.view.Startup.IsZero() {
		return true // start unknown and nothing live to date it: restore
	}
	if reg.Stamp.Wall < s.view.Startup.Add(time.Second).UnixMilli() {
		return true
	}
	return madeAtStart(live, s.view.Startup)
}

// bootSlack is how long after Asterisk's start it may still be loading the
// members it restores (astdb) or defines (queues.conf).
const bootSlack = 2 * time.Second

// madeAtStart reports whether live is what Asterisk made when it started: no
// member (a removal while no daemon watched cannot be told from the
// restart's loss, architecture.md §2 rule 5: the register wins), or a member logged in
// at the start and not paused since.
func madeAtStart(live *state.Live, startup time.Time) bool {
	if live == nil {
		return true
	}
	boot := startup.Add(bootSlack).Unix()
	return live.LoginTime > 0 && live.LoginTime <= boot && live.LastPause <= boot
}

func (s *Session) restore(en store.Entry) *step {
	reg := en.Register
	plan := state.Plan(reg, s.view.Members[reg.Key()])
	out := s.outcome(reg, Restored)
	out.Actions, out.Reports = plan.Actions, plan.Said()
	if len(plan.Actions) == 0 && len(out.Reports) > 0 {
		out.Result = Reported
	}
	st := &step{out: out, target: reg, settle: en.Pending}
	if !en.Pending && len(plan.Actions) > 0 {
		st.restored = liveRegister(reg, s.view.Members[reg.Key()])
	}
	return st
}

// observe journals what live state shows as a new local change that no
// daemon saw happen, dated by observedStamp.
func (s *Session) observe(prev *state.Register, live *state.Live, k state.Key, source string) *step {
	return s.observeAt(prev, live, k, source, s.observedStamp(prev, live))
}

// observeAt journals what live state shows as a new local change, stamped st.
func (s *Session) observeAt(prev *state.Register, live *state.Live, k state.Key, source string, st state.Stamp) *step {
	queue, iface := k.Queue, k.Interface
	if prev != nil {
		queue, iface = prev.Queue, prev.Interface
	}
	if live != nil {
		queue, iface = live.Queue, live.Interface
	}
	reg := state.Observed(queue, iface, live, st, s.e.opts.Node)
	out := Outcome{Queue: reg.Queue, Interface: reg.Interface, Local: prev, Winner: &reg, Result: Journalled}
	// No target: an observation has no actions and is not settled.
	return &step{out: out, put: &reg, source: source}
}

// observedStamp dates a local change no daemon saw: at the time Asterisk
// reports for it (LoginTime for an add, LastPause for a pause) where it has
// one, else now; never at or before the register it replaces.
func (s *Session) observedStamp(prev *state.Register, live *state.Live) state.Stamp {
	st := s.e.opts.Clock.Now()
	if sec := eventTime(prev, live); sec > 0 && sec*1000 < st.Wall {
		st = state.Stamp{Wall: sec * 1000}
	}
	return s.after(prev, st)
}

// seenStamp dates a local change seen as it happens (an AMI event, a
// poll, an action refused because of it): when the event that showed it
// arrived, else now. Asterisk's LastPause and LoginTime count whole
// seconds; dated by them, the change could lose to a register another node
// wrote earlier in the same second.
func (s *Session) seenStamp(prev *state.Register, k state.Key) state.Stamp {
	st := s.e.opts.Clock.Now()
	if t := s.received[k]; !t.IsZero() && t.UnixMilli() < st.Wall {
		st = state.Stamp{Wall: t.UnixMilli()}
	}
	return s.after(prev, st)
}

// after returns st, or the stamp just after prev's when st is not later.
func (s *Session) after(prev *state.Register, st state.Stamp) state.Stamp {
	if prev != nil && st.Compare(prev.Stamp) <= 0 {
		st = prev.Stamp.Next()
		_ = s.e.opts.Clock.Observe(st)
	}
	return st
}

func eventTime(prev *state.Register, live *state.Live) int64 {
	switch {
	case live == nil:
		return 0
	case prev == nil || !prev.Present:
		// First seen, or back: the latest time Asterisk dates of this member
		// (a member seen paused was paused after its login).
		if live.Paused && live.LastPause > live.LoginTime {
			return live.LastPause
		}
		return live.LoginTime
	case live.Paused && (!prev.Paused || prev.PausedReason != live.PausedReason):
		return live.LastPause
	}
	return 0
}

func (s *Session) outcome(winner state.Register, r Result) Outcome {
	return Outcome{Queue: winner.Queue, Interface: winner.Interface, Local: ptr(winner), Winner: ptr(winner), Result: r}
}
