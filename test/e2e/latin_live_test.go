//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// Asterisk sends no member event at all for a member whose name or pause
// reason is not UTF-8 (Latin-1 here). Once a resync has found such a
// member, the daemon polls it: a pause made on A with no event reaches B,
// byte for byte, without another resync.
func TestLatin1MemberPolled(t *testing.T) {
	reset(t)
	a := tb.Nodes[0]
	name, reason := "Jos\xe9 Mu\xf1oz", "caf\xe9 con le\xf1a"
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "PJSIP/4111", MemberName: name})
	resync(t, a)
	waitSame(t, 15*time.Second, has("support", "PJSIP/4111", func(m memberView) bool { return m.Name == name }))

	pause(t, a, "support", "PJSIP/4111", true, reason)
	d := waitSame(t, 15*time.Second, has("support", "PJSIP/4111", func(m memberView) bool { return m.Paused && m.Reason == reason }))
	t.Logf("a pause with no event reached B in %s", d)
	pause(t, a, "support", "PJSIP/4111", false, "")
	waitSame(t, 15*time.Second, has("support", "PJSIP/4111", func(m memberView) bool { return !m.Paused }))
}
