package daemon_test

import (
	"testing"
	"time"
)

// A reload of app_queue makes a static member anew from queues.conf: still
// paused, but without its reason (Asterisk 22.10.1). The daemon puts the
// reason back, and the loss never reaches the peer.
func TestStaticPauseReasonAfterReload(t *testing.T) {
	a, b := pair(t)
	barrier(t, a, b, "PJSIP/9000") // both daemons have started and synced
	a.pause("support", "Local/2000@agents", true, "lunch")
	b.waitMember("support", "Local/2000@agents", isPaused("lunch"))
	before, _ := a.entry("support", "Local/2000@agents")
	// Asterisk dates the member's new login to the second: reload in a
	// later one than the pause.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	a.srv.ReloadModule()
	a.waitMember("support", "Local/2000@agents", isPaused("lunch"))
	barrier(t, a, b, "PJSIP/9001")
	if m := b.live("support", "Local/2000@agents"); m == nil || !m.Paused || m.PausedReason != "lunch" {
		t.Errorf("sop2's static member %+v, want paused lunch", m)
	}
	for _, n := range []*node{a, b} {
		en, _ := n.entry("support", "Local/2000@agents")
		if !en.Paused || en.PausedReason != "lunch" || en.Stamp != before.Stamp || en.Origin != before.Origin {
			t.Errorf("%s journal %+v, want the register of the pause (%s/%s)", n.name, en.Register, before.Stamp, before.Origin)
		}
	}
}
