package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// peerReg is a register as peer sop2 sends it, stamped now.
func peerReg(clk *manualClock, queue, iface string, set func(*state.Register)) state.Register {
	r := state.Register{Queue: queue, Interface: iface, Present: true, MemberName: iface, StateInterface: iface,
		Membership: state.Dynamic, Stamp: state.Stamp{Wall: clk.Now().UnixMilli()}, Origin: "sop2"}
	set(&r)
	return r
}

// After an Asterisk restart (persisted members come back with their queue's
// default ringinuse, yes) the reconcile puts back a journalled "no", and
// only that: a journalled "yes" is what the restart left. The loss is not
// journalled (architecture.md §2 rule 8).
func TestRestartReassertsRinginuse(t *testing.T) {
	a, clk := solo(t)
	a.reconcile()
	clk.Advance(time.Second)
	no := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.Ringinuse = state.Bool(false) })
	yes := peerReg(clk, "sales", "PJSIP/1002", func(r *state.Register) { r.Ringinuse = state.Bool(true) })
	a.apply("sop2", no, yes)
	if m := a.live("sales", "PJSIP/1001"); m == nil || *m.Ringinuse {
		t.Fatalf("ringinuse no was not applied: %+v", m)
	}
	a.ami.Calls()
	seq := a.maxSeq()

	clk.Advance(5 * time.Second)
	a.restart(true)
	outs := a.reconcile()
	calls := a.ami.Calls()
	if len(calls) != 1 || calls[0].Kind != "QueueMemberRingInUse" || calls[0].Interface != "PJSIP/1001" || calls[0].Detail != "ringinuse=false" {
		t.Errorf("actions %v, want one QueueMemberRingInUse false for PJSIP/1001", calls)
	}
	if o := byKey(t, outs, "sales", "PJSIP/1001"); o.Result != engine.Restored {
		t.Errorf("PJSIP/1001: %s", describe([]engine.Outcome{o}))
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || *m.Ringinuse {
		t.Errorf("ringinuse not put back: %+v", m)
	}
	if a.maxSeq() != seq {
		t.Error("the restart's ringinuse reset was journalled")
	}
	if outs := changed(a.reconcile()); len(outs) != 0 || len(a.ami.Calls()) != 0 {
		t.Errorf("second reconcile: %s", describe(outs))
	}
}

// A wrap-up time is set only by QueueAdd: a difference is fixed by
// remove+add, but not while the member is on a call. Meanwhile the
// difference is reported, is never journalled as a local change, and the
// next pass after the call fixes it.
func TestWrapuptimeWaitsForTheCall(t *testing.T) {
	a, clk := solo(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1})
	a.reconcile()
	a.srv.SetInCall("PJSIP/1001", true)
	a.ami.Calls()
	clk.Advance(5 * time.Second)

	r := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.MemberName, r.Penalty, r.Wrapuptime = "Alice", 1, state.Seconds(45) })
	o := byKey(t, a.apply("sop2", r), "sales", "PJSIP/1001")
	if o.Result != engine.Applied || len(o.Reports) != 1 || len(o.Actions) != 0 {
		t.Errorf("on a call: %s reports %v", describe([]engine.Outcome{o}), o.Reports)
	}
	seq := a.maxSeq()
	if outs := changed(a.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"})); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("the owed wrap-up time was captured as a local change: %s", describe(outs))
	}
	if calls := a.ami.Calls(); len(calls) != 0 {
		t.Errorf("actions during the call: %v", calls)
	}

	a.srv.SetInCall("PJSIP/1001", false) // the call's end is an event: a hint
	if outs := changed(a.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"})); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("after the call, the owed wrap-up time was captured as a local change: %s", describe(outs))
	}
	o = byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Restored {
		t.Errorf("after the call: %s", describe([]engine.Outcome{o}))
	}
	if got := kinds(a.ami.Calls()); !slices.Equal(got, []string{"QueueRemove", "QueueAdd"}) {
		t.Errorf("actions %v, want remove+add", got)
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || m.Wrapuptime == nil || *m.Wrapuptime != 45 || m.Penalty != 1 {
		t.Errorf("live after the fix: %+v", m)
	}
	if a.maxSeq() != seq {
		t.Error("the fix was journalled as a local change")
	}
}

// A resync that finds the peer's wrap-up time already journalled by the
// daemon (between its reconcile and its apply) still says why live state
// lacks it: the member is on a call.
func TestWrapuptimeJournalledMeanwhileStillReported(t *testing.T) {
	a, clk := solo(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1})
	a.reconcile()
	a.srv.SetInCall("PJSIP/1001", true)
	clk.Advance(5 * time.Second)

	resync := engine.New(engine.Options{Node: "sop1", AMI: a.ami, Journal: a.store, Clock: a.clock, Now: clk.Now})
	sess := a.begin(resync, nil)
	defer sess.End()
	if _, err := sess.Reconcile(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	r := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.MemberName, r.Penalty, r.Wrapuptime = "Alice", 1, state.Seconds(45) })
	a.apply("sop2", r) // the daemon, meanwhile
	outs, err := sess.Apply(ctxFor(t), "sop2", []state.Register{r})
	if err != nil {
		t.Fatal(err)
	}
	o := byKey(t, outs, "sales", "PJSIP/1001")
	if o.Result != engine.Stale || !o.Notable() || len(o.Reports) != 1 || !strings.Contains(o.Reports[0], "on a call") {
		t.Errorf("resync's apply: %s reports %v; want stale, reporting the call", describe([]engine.Outcome{o}), o.Reports)
	}
}

// A member re-added here with another wrap-up time (an agent logging in
// again) is a local change: it is journalled, not reverted.
func TestLocalReaddWithWrapuptimeJournalled(t *testing.T) {
	a, clk := solo(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.reconcile()
	clk.Advance(5 * time.Second)
	a.remove("sales", "PJSIP/1001")
	a.addWith(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"}, 30)
	o := byKey(t, a.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"}), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner == nil || o.Winner.Wrapuptime == nil || *o.Winner.Wrapuptime != 30 {
		t.Errorf("re-add with wrap-up 30: %s", describe([]engine.Outcome{o}))
	}
}

// A pause whose reason is in local_pause_reasons stays on its node: it is
// not journalled, and a peer's register that says unpaused does not undo
// it; a pause with another reason from the peer still replaces it.
func TestLocalPauseReasonsStayLocal(t *testing.T) {
	a, clk := solo(t)
	a.eng = engine.New(engine.Options{Node: "sop1", AMI: a.ami, Journal: a.store, Clock: a.clock, Now: clk.Now,
		LocalPauseReasons: []string{"Auto-Pause"}})
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.reconcile()
	seq := a.maxSeq()
	clk.Advance(time.Second)

	a.pause("sales", "PJSIP/1001", true, "Auto-Pause")
	if outs := changed(a.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"})); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("a local pause was journalled: %s", describe(outs))
	}
	clk.Advance(time.Second)
	unpaused := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.MemberName = "Alice" })
	a.apply("sop2", unpaused)
	if m := a.live("sales", "PJSIP/1001"); m == nil || !m.Paused || m.PausedReason != "Auto-Pause" {
		t.Errorf("the peer's register undid the local pause: %+v", m)
	}
	clk.Advance(time.Second)
	lunch := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.MemberName, r.Paused, r.PausedReason = "Alice", true, "lunch" })
	a.apply("sop2", lunch)
	if m := a.live("sales", "PJSIP/1001"); m == nil || !m.Paused || m.PausedReason != "lunch" {
		t.Errorf("the peer's pause did not replace the local one: %+v", m)
	}
}

// A member that cannot be journalled (its interface is not UTF-8: Asterisk
// accepts any bytes) is skipped and reported; the reconcile journals the
// others and does not fail.
func TestUncarriableMemberSkipped(t *testing.T) {
	a, _ := solo(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/\xe9", Name: "Odd"})
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	outs := a.reconcile()
	if o := byKey(t, outs, "sales", "PJSIP/\xe9"); o.Result != engine.Skipped || o.Err == nil {
		t.Errorf("odd member: %s", describe([]engine.Outcome{o}))
	}
	if _, ok := a.entry("sales", "PJSIP/1001"); !ok {
		t.Error("the member beside it was not journalled")
	}
}
