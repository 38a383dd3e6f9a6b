package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

func ringinuse(v bool) func(*ami.QueueMember) bool {
	return func(m *ami.QueueMember) bool { return m != nil && m.Ringinuse != nil && *m.Ringinuse == v }
}

// A member's ringinuse "no" reaches the peer. An announced reload of
// app_queue there, which may have put it back to the queue's default (it
// does after persistentmembers was switched on), makes the daemon put it
// back, once; so does a restart of that Asterisk (the member persisted,
// back with its queue's default). The peer is left alone.
func TestRinginuseAfterReloadAndRestart(t *testing.T) {
	a, b := pair(t)
	// Ringinuse is known from events only: a change made before the daemon
	// listens to them is never learnt. Wait until both daemons do.
	barrier(t, a, b, "PJSIP/9000")
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.check(a.op.QueueMemberRingInUse(context.Background(), "sales", "PJSIP/1001", false))
	b.waitMember("sales", "PJSIP/1001", ringinuse(false))
	barrier(t, a, b, "PJSIP/9003") // every change of a's has reached b
	sent := func() int { return b.actions()["QueueMemberRingInUse"] }
	before := sent()

	// The daemon handles the reload's event on its own time (a barrier
	// through the peer API does not wait for it): wait for the action, then
	// make sure no second one follows.
	b.srv.ReloadModule()
	b.waitMember("sales", "PJSIP/1001", ringinuse(false))
	eventually(t, "sop2's daemon puts ringinuse back after the reload", func() bool { return sent() > before }, a, b)
	barrier(t, a, b, "PJSIP/9001")
	if got := sent(); got != before+1 {
		t.Errorf("sop2's daemon sent %d QueueMemberRingInUse after the reload, want 1", got-before)
	}

	b.srv.Restart(true)
	b.waitMember("sales", "PJSIP/1001", ringinuse(false))
	eventually(t, "sop2's daemon puts ringinuse back after the restart", func() bool { return sent() > before+1 }, a, b)
	barrier(t, a, b, "PJSIP/9002")
	if got := sent(); got != before+2 {
		t.Errorf("sop2's daemon sent %d QueueMemberRingInUse after the restart, want 1", got-before-1)
	}
	if got := a.actions()["QueueMemberRingInUse"]; got != 0 {
		t.Errorf("sop2's restart made sop1's daemon send %d QueueMemberRingInUse", got)
	}
}

// Asterisk sends no event for a member whose name is not UTF-8. A reconcile
// (here after a reconnect) finds it; from then on the daemon polls it, so
// a pause made with no event reaches the peer all the same.
func TestSilentMemberPolled(t *testing.T) {
	a, b := pair(t)
	name := "Jos\xe9"
	a.add(member{Queue: "sales", Interface: "PJSIP/1003", Name: name})
	a.srv.DropConnections() // the daemon reconnects and reconciles
	b.waitMember("sales", "PJSIP/1003", func(m *ami.QueueMember) bool { return m != nil && m.Name == name })
	time.Sleep(500 * time.Millisecond) // the reconnect's reconciles and resyncs are over
	a.pause("sales", "PJSIP/1003", true, "caf\xe9")
	b.waitMember("sales", "PJSIP/1003", isPaused("caf\xe9"))
}
