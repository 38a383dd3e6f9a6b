package engine_test

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// pauseReg is sop2's register pausing alice with reason (unpausing when
// reason is empty), stamped now.
func pauseReg(clk *manualClock, reason string) state.Register {
	return peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) {
		r.MemberName, r.StateInterface, r.Penalty = alice.Name, alice.StateInterface, alice.Penalty
		r.Paused, r.PausedReason = reason != "", reason
	})
}

// kept returns how many of ss DropEchoes keeps.
func (n *node) kept(ss ...engine.Seen) int {
	return len(n.eng.DropEchoes(ss))
}

// The event that shows the state the engine's own actions just set is its
// echo: it needs no session, once. Any other event, a member whose last
// event is not the echo, a member journalled again since, or an echo that
// comes too late, still goes to a session.
func TestDropEchoes(t *testing.T) {
	a, clk := solo(t)
	a.add(alice)
	a.reconcile()

	clk.Advance(time.Second)
	a.apply("sop2", pauseReg(clk, "lunch"))
	echo := a.event("sales", "PJSIP/1001")
	if n := a.kept(echo); n != 0 {
		t.Errorf("the apply's echo was kept")
	}
	if n := a.kept(echo); n != 1 {
		t.Errorf("the same state shown again was dropped: only the first event is the echo")
	}

	clk.Advance(time.Second)
	a.apply("sop2", pauseReg(clk, "break"))
	echo = a.event("sales", "PJSIP/1001")
	other := echo
	other.Member.PausedReason = "coffee"
	if n := a.kept(echo, other); n != 2 {
		t.Errorf("a member whose last event is not the echo lost %d events", 2-n)
	}
	if n := a.kept(other, echo); n != 0 {
		t.Errorf("a member whose last event is the echo kept %d events", n)
	}

	clk.Advance(time.Second)
	a.apply("sop2", pauseReg(clk, "meeting"))
	echo = a.event("sales", "PJSIP/1001")
	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", false, "") // the agent; journalled from its own event
	if o := byKey(t, a.seen(a.event("sales", "PJSIP/1001")), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("the agent's unpause: %s", describe([]engine.Outcome{o}))
	}
	if n := a.kept(echo); n != 1 {
		t.Errorf("an event showing the apply's state after the agent's change was journalled was dropped")
	}

	clk.Advance(time.Second)
	a.apply("sop2", pauseReg(clk, "training"))
	echo = a.event("sales", "PJSIP/1001")
	clk.Advance(6 * time.Second)
	if n := a.kept(echo); n != 1 {
		t.Errorf("an echo that came after the window was dropped")
	}

	clk.Advance(time.Second)
	removed := a.event("sales", "PJSIP/1001")
	removed.Removed = true
	a.apply("sop2", peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.Present = false }))
	if a.live("sales", "PJSIP/1001") != nil {
		t.Fatal("the removal was not applied")
	}
	if n := a.kept(removed); n != 0 {
		t.Errorf("the removal's echo was kept")
	}
}
