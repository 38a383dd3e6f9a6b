//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// ringinuseOff adds iface to queue on n with ringinuse off, as an agent
// and an administrator would, and waits until the peer has it too.
func ringinuseOff(t *testing.T, n, peer *harness.Node, queue, iface string) {
	t.Helper()
	add(t, n, ami.QueueAddRequest{Queue: queue, Interface: iface, MemberName: "Busy"})
	act(t, n, "QueueMemberRingInUse", func(ctx context.Context, cl *ami.Client) error {
		return cl.QueueMemberRingInUse(ctx, queue, iface, false)
	})
	waitRinginuse(t, peer, queue, iface, false)
}

// A restart of B's Asterisk (its persisted members come back with the
// queue's default ringinuse, yes; without persistence the member is gone)
// makes B's daemon put "no" back with one action, and A is left alone.
func TestRinginuseAfterAsteriskRestart(t *testing.T) {
	for _, persist := range []string{"yes", "no"} {
		t.Run("persistentmembers="+persist, func(t *testing.T) {
			reset(t)
			a, b := tb.Nodes[0], tb.Nodes[1]
			const iface = "Local/3401@agents"
			ringinuseOff(t, a, b, "sales", iface)
			time.Sleep(2 * time.Second) // astdb commits lazily
			markA, markB := len(a.QueueLog()), len(b.QueueLog())
			restartAsterisk(t, b, persist)
			waitRinginuse(t, b, "sales", iface, false)
			barrierMember(t, a, b, "Local/3402@agents")
			if l := queueLog(b, markB, iface); harness.CountVerb(l, "RINGINUSE") != 1 {
				t.Errorf("B's queue_log after the restart, want one RINGINUSE: %v", l)
			}
			if l := queueLog(a, markA, iface); len(l) != 0 {
				t.Errorf("A was touched by B's restart: %v", l)
			}
		})
	}
}

// `queue reload members` after persistentmembers was switched on in
// queues.conf puts every member back to its queue's default ringinuse, and
// says nothing: the daemon cannot see it. `module reload app_queue.so`
// announces itself (Event: Reload): the daemon puts the journalled "no"
// back, with one action.
func TestRinginuseAfterReloads(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	const iface = "Local/3403@agents"
	restartAsterisk(t, b, "no")
	ringinuseOff(t, a, b, "billing", iface)
	runTestbed(t, b, "persist", "yes")
	runTestbed(t, b, "rx", "queue reload members")
	waitRinginuse(t, b, "billing", iface, true) // Asterisk's doing, unannounced
	mark := len(b.QueueLog())
	runTestbed(t, b, "rx", "module reload app_queue.so")
	waitRinginuse(t, b, "billing", iface, false)
	barrierMember(t, a, b, "Local/3404@agents")
	if l := queueLog(b, mark, iface); harness.CountVerb(l, "RINGINUSE") != 1 || len(l) != 1 {
		t.Errorf("B's queue_log after the announced reload, want one RINGINUSE: %v", l)
	}
}

// barrierMember adds iface on from and waits until to has it: whatever from
// and to did before has been handled by then.
func barrierMember(t *testing.T, from, to *harness.Node, iface string) {
	t.Helper()
	add(t, from, ami.QueueAddRequest{Queue: "support", Interface: iface, MemberName: "Barrier"})
	waitSame(t, 15*time.Second, has("support", iface, nil))
}
