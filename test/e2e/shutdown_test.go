//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// A daemon stopped while its delivery to a peer that answers nothing (the
// peer's daemon stopped by SIGSTOP) is in flight does not wait out its
// shutdown timeout for it: the change stays in its journal and reaches the
// peer after the restart.
func TestShutdownDoesNotWaitForAFrozenPeer(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	const q, iface = "sales", "Local/3601@agents"
	addAndWait(t, a, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Frozen"})
	mark := a.Daemon().Mark
	if err := b.Daemon().Pause(); err != nil {
		t.Fatal(err)
	}
	pause(t, a, q, iface, true, "while sop2 is frozen")
	time.Sleep(time.Second) // journalled, and its delivery to sop2 waiting for an answer
	a.Stop()
	if a.LogHas(mark, "shutdown timeout") {
		t.Errorf("sop1 waited out its shutdown timeout for a peer that answers nothing; see %s", a.LogFile)
	}
	if err := b.Daemon().Resume(); err != nil {
		t.Fatal(err)
	}
	if err := startDaemon(a); err != nil {
		t.Fatal(err)
	}
	waitSame(t, 15*time.Second, has(q, iface, func(m memberView) bool { return m.Paused && m.Reason == "while sop2 is frozen" }))
}
