//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

func restartDaemon(t *testing.T, n *harness.Node) time.Time {
	t.Helper()
	if err := startDaemon(n); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// B's daemon is stopped while A changes members: B has them soon after its
// daemon is back.
func TestLiveCatchUpAfterDaemonOutage(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	b.Stop()
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "Local/3301@agents", MemberName: "Out1", Paused: true, Reason: "away"})
	add(t, a, ami.QueueAddRequest{Queue: "billing", Interface: "Local/3302@agents", MemberName: "Out2", Penalty: 2})
	time.Sleep(300 * time.Millisecond)
	restartDaemon(t, b)
	d := waitSame(t, 15*time.Second, has("billing", "Local/3302@agents", nil))
	t.Logf("B caught up %s after its daemon restarted", d)
}

// Daemon A is killed with SIGKILL right after a change: the change reaches B
// after A's daemon restarts.
func TestLiveSurvivesSIGKILL(t *testing.T) {
	reset(t)
	a := tb.Nodes[0]
	partition(t) // nothing may leave A before the kill
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "Local/3303@agents", MemberName: "Killed"})
	time.Sleep(100 * time.Millisecond)
	a.Kill()
	tb.Heal()
	restartDaemon(t, a)
	d := waitSame(t, 15*time.Second, has("support", "Local/3303@agents", nil))
	t.Logf("change reached B %s after A's daemon restarted", d)
}

// Asterisk A restarts, with and without persistentmembers: A's members are
// restored and B is left alone.
func TestLiveAsteriskRestart(t *testing.T) {
	for _, persist := range []string{"yes", "no"} {
		t.Run("persistentmembers="+persist, func(t *testing.T) {
			reset(t)
			a, b := tb.Nodes[0], tb.Nodes[1]
			add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "Local/3304@agents", MemberName: "Rs", Paused: true, Reason: "meeting"})
			add(t, b, ami.QueueAddRequest{Queue: "support", Interface: "Local/3305@agents", MemberName: "Rt"})
			setPenalty(t, b, "support", "Local/3305@agents", 6)
			waitSame(t, 15*time.Second, has("support", "Local/3305@agents", func(m memberView) bool { return m.Penalty == 6 }))
			want := render(members(t, a))
			time.Sleep(2 * time.Second) // astdb commits lazily
			markB := len(b.QueueLog())
			restartAsterisk(t, a, persist)
			waitSame(t, 20*time.Second, func(ms []memberView) bool { return render(ms) == want })
			if l := queueLog(b, markB, "Local/3304@agents", "Local/3305@agents", "Rs", "Rt"); len(l) != 0 {
				t.Fatalf("B was touched by A's restart: %v", l)
			}
		})
	}
}

// A's AMI connection is cut from outside: the daemon reconnects, takes a
// snapshot, reconciles, and the change made meanwhile reaches B.
func TestLiveAMIConnectionCut(t *testing.T) {
	reset(t)
	a := tb.Nodes[0]
	a.AMIGate.Cut()
	add(t, a, ami.QueueAddRequest{Queue: "billing", Interface: "Local/3306@agents", MemberName: "Cut", Paused: true, Reason: "while cut"})
	time.Sleep(300 * time.Millisecond)
	a.AMIGate.Heal()
	d := waitSame(t, 20*time.Second, has("billing", "Local/3306@agents", func(m memberView) bool { return m.Paused && m.Reason == "while cut" }))
	t.Logf("converged %s after the AMI connection was restored", d)
}
