package daemon_test

import (
	"context"
	"testing"

	"github.com/queuesync/queuesync/pkg/ami"
)

func ringinuse(v bool) func(*ami.QueueMember) bool {
	return func(m *ami.QueueMember) bool { return m != nil && m.Ringinuse != nil && *m.Ringinuse == v }
}

// A member's ringinuse "no" reaches the peer; a reload of app_queue there
// (Event: Reload) puts every member back to the queue's default with no
// member event, and the daemon puts the "no" back, once.
func TestRinginuseReassertedAfterReload(t *testing.T) {
	a, b := pair(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.do(func(cl *ami.Client) error {
		return cl.QueueMemberRingInUse(context.Background(), "sales", "PJSIP/1001", false)
	})
	b.waitMember("sales", "PJSIP/1001", ringinuse(false))
	before := b.actions()["QueueMemberRingInUse"]

	b.srv.ReloadModule()
	b.waitMember("sales", "PJSIP/1001", ringinuse(false))
	barrier(t, a, b, "PJSIP/9001")
	if got := b.actions()["QueueMemberRingInUse"]; got != before+1 {
		t.Errorf("sop2's daemon sent %d QueueMemberRingInUse after the reload, want 1", got-before)
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || *m.Ringinuse {
		t.Errorf("the reload on sop2 reached sop1: %+v", m)
	}
}
