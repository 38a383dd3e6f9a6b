//go:build e2e

package e2e

import (
	"context"
	"strings"
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

// wrapuptime returns n's live wrap-up time of iface in queue (-1: absent),
// and whether the member is on a call.
func wrapuptime(t *testing.T, n *harness.Node, queue, iface string) (int, bool) {
	t.Helper()
	qs, err := amiClient(t, n).QueueStatus(ctxT(t), queue, iface)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range qs.Members {
		if m.Interface == iface && m.Wrapuptime != nil {
			return *m.Wrapuptime, m.InCall
		}
	}
	return -1, false
}

// call puts a caller into queue on n (Local/QUEUE@callers): the queue rings
// its members, and one at Local/N@answering answers and stays on the call
// until callsEnd.
func call(t *testing.T, n *harness.Node, queue string) {
	t.Helper()
	act(t, n, "Originate", func(ctx context.Context, cl *ami.Client) error {
		_, err := cl.Do(ctx, ami.Action{Name: "Originate", Headers: []ami.Header{
			{Key: "Channel", Value: "Local/" + queue + "@callers"}, {Key: "Application", Value: "Wait"},
			{Key: "Data", Value: "300"}, {Key: "Async", Value: "true"},
		}})
		return err
	})
	t.Cleanup(func() { callsEnd(t, n) })
}

func callsEnd(t *testing.T, n *harness.Node) {
	t.Helper()
	runTestbed(t, n, "rx", "channel request hangup all")
}

// A member added on A with its own wrap-up time arrives on B with it.
func TestWrapuptimeReplicated(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	const iface = "Local/3501@agents"
	w := 45
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Wrap", Wrapuptime: &w})
	waitSame(t, 15*time.Second, has("sales", iface, nil))
	if got, _ := wrapuptime(t, b, "sales", iface); got != 45 {
		t.Errorf("B's wrap-up time of %s: %d, want 45", iface, got)
	}
}

// A's agent logs in again with a wrap-up time while A's daemon is down and
// the same agent is on a call through B: B may fix the wrap-up time only by
// remove+add, so it waits for the call to end (reported meanwhile), and the
// next pass (resync) fixes it and says so.
func TestWrapuptimeWaitsForTheCall(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	const iface = "Local/3502@answering"
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Wrap"})
	waitSame(t, 15*time.Second, has("sales", iface, nil))
	call(t, b, "sales")
	waitFor(t, "B's member on the call", func() bool { _, in := wrapuptime(t, b, "sales", iface); return in })

	a.Stop()
	remove(t, a, "sales", iface)
	w := 45
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Wrap", Wrapuptime: &w})
	mark := len(b.QueueLog())
	restartDaemon(t, a)
	out := resync(t, b, "-v") // B's pass while the call lasts
	if !strings.Contains(out, "on a call") {
		t.Errorf("resync -v on B during the call does not say why it waits:\n%s", out)
	}
	if got, in := wrapuptime(t, b, "sales", iface); got != 0 || !in {
		t.Errorf("B's member during the call: wrap-up %d, in call %v; want 0, true", got, in)
	}
	if l := queueLog(b, mark, iface); harness.CountVerb(l, "REMOVEMEMBER") != 0 {
		t.Errorf("B removed a member on a call: %v", l)
	}

	callsEnd(t, b)
	waitFor(t, "the call's end", func() bool { _, in := wrapuptime(t, b, "sales", iface); return !in })
	out = resync(t, b, "-v")
	if !strings.Contains(out, "remove+add (wrap-up time)") {
		t.Errorf("resync -v on B after the call does not say remove+add (wrap-up time):\n%s", out)
	}
	if got, _ := wrapuptime(t, b, "sales", iface); got != 45 {
		t.Errorf("B's wrap-up time after the call: %d, want 45", got)
	}
}
