package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// A pending register whose actions were interrupted (the daemon killed
// between journal and Asterisk) does not undo a pause made after it was
// journalled: the next reconcile finishes its other actions, keeps the
// pause, and journals the result as a local change.
func TestPendingKeepsAPauseMadeSince(t *testing.T) {
	// Asterisk's clock (the fake's) and PostgreSQL's (the row's time) are
	// the same host's in production: start the fake's at the real time.
	clk := &manualClock{t: time.Now().Truncate(time.Second).Add(250 * time.Millisecond)}
	b := newNode(t, "sop2", clk)
	b.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1, Paused: true, Reason: "meeting"})
	b.reconcile()
	clk.Advance(time.Second)
	// sop1's register (penalty 2, unpaused) is journalled pending here, and
	// the daemon dies before its QueuePenalty and QueuePause.
	r := b.mustEntry("sales", "PJSIP/1001").Register
	r.Penalty, r.Paused, r.PausedReason = 2, false, ""
	r.Stamp, r.Origin = state.Stamp{Wall: clk.Now().UnixMilli()}, "sop1"
	if _, err := b.store.PutMany(ctxFor(t), []state.Register{r}, store.PutOptions{Pending: true, Via: "sop1"}); err != nil {
		t.Fatal(err)
	}
	// While it is down, the agent pauses again, in a later second.
	clk.Advance(2 * time.Second)
	b.pause("sales", "PJSIP/1001", true, "brb")
	before := len(b.ami.Calls())

	o := byKey(t, b.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled {
		t.Errorf("reconcile: %s, want journalled", describe([]engine.Outcome{o}))
	}
	if got := kinds(b.ami.Calls()[before:]); !slices.Equal(got, []string{"QueuePenalty"}) {
		t.Errorf("actions %v, want the interrupted QueuePenalty only", got)
	}
	m := b.live("sales", "PJSIP/1001")
	if m == nil || m.Penalty != 2 || !m.Paused || m.PausedReason != "brb" {
		t.Errorf("live %+v, want penalty 2, paused brb", m)
	}
	en := b.mustEntry("sales", "PJSIP/1001")
	if en.Pending || en.Origin != "sop2" || en.Penalty != 2 || !en.Paused || en.PausedReason != "brb" || en.Stamp.Compare(r.Stamp) <= 0 {
		t.Errorf("journal %+v, want sop2's penalty 2 paused brb after %s", en, r.Stamp)
	}
}

// A one-shot command (Options.PendingGrace) leaves a register journalled
// pending a moment ago to the daemon applying it, instead of making its
// change too; an older one it finishes, as the daemon does at once.
func TestFreshPendingLeftToItsApplier(t *testing.T) {
	clk := &manualClock{t: time.Now()} // the journal's clock is the host's
	b := newNode(t, "sop2", clk)
	b.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1})
	b.reconcile()
	clk.Advance(time.Second)
	r := b.mustEntry("sales", "PJSIP/1001").Register
	r.Penalty, r.Stamp, r.Origin = 4, state.Stamp{Wall: clk.Now().UnixMilli()}, "sop1"
	b.putPending(r) // a daemon journalled sop1's change and is about to act
	before := len(b.ami.Calls())

	oneShot := engine.New(engine.Options{Node: "sop2", AMI: b.ami, Journal: b.store, Clock: b.clock,
		Now: clk.Now, PendingGrace: 10 * time.Second})
	if outs := changed(b.reconcileWith(oneShot, nil)); len(outs) != 0 {
		t.Errorf("one-shot reconcile acted on a fresh pending register: %s", describe(outs))
	}
	if calls := b.ami.Calls()[before:]; len(calls) != 0 {
		t.Errorf("one-shot reconcile sent %v", calls)
	}
	if !b.mustEntry("sales", "PJSIP/1001").Pending {
		t.Error("the register is no longer pending")
	}

	clk.Advance(11 * time.Second) // the daemon did not finish it: the next run does
	o := byKey(t, b.reconcileWith(oneShot, nil), "sales", "PJSIP/1001")
	if o.Result != engine.Restored || b.live("sales", "PJSIP/1001").Penalty != 4 {
		t.Errorf("older pending register: %s", describe([]engine.Outcome{o}))
	}
}
