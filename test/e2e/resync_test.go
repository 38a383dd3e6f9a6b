//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/store"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// a. A member added, paused with a reason and given a penalty on A only:
// resync on B makes B equal with exactly one QueueAdd.
func TestResyncCopiesNewMember(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "Local/3001@agents", MemberName: "Alice", StateInterface: "Custom:3001"})
	pause(t, a, "sales", "Local/3001@agents", true, "lunch: back at 2, promise")
	setPenalty(t, a, "sales", "Local/3001@agents", 3)
	mark := len(b.QueueLog())
	out := resync(t, b, "-v")
	ms := requireSame(t)
	m := find(ms, "sales", "Local/3001@agents")
	if m == nil || !m.Paused || m.Reason != "lunch: back at 2, promise" || m.Penalty != 3 || m.Name != "Alice" || m.StateInterface != "Custom:3001" {
		t.Fatalf("B's member = %v\n%s", m, out)
	}
	lines := queueLog(b, mark, "Local/3001@agents", "Alice")
	if harness.CountVerb(lines, "ADDMEMBER") != 1 || harness.CountVerb(lines, "PAUSE") != 0 || harness.CountVerb(lines, "PENALTY") != 0 || harness.CountVerb(lines, "UNPAUSE") != 0 {
		t.Fatalf("B's queue_log shows more than one QueueAdd:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(out, "QueueAdd") || !strings.Contains(out, "applied") {
		t.Fatalf("resync -v does not show the add:\n%s", out)
	}
	// A second resync finds nothing to do and touches nothing.
	mark = len(b.QueueLog())
	out = resync(t, b, "-v")
	if l := queueLog(b, mark, "Local/3001@agents", "Alice"); len(l) != 0 {
		t.Fatalf("second resync acted again: %v\n%s", l, out)
	}
	if !strings.Contains(out, "in sync") {
		t.Fatalf("second resync output: %s", out)
	}
}

// b. Conflicting changes on both nodes while they are not syncing: resync on
// both makes them identical, and equal to the last writer.
func TestResyncConflictLastWriterWins(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "Local/3002@agents", MemberName: "Bob", Penalty: 1, Paused: true, Reason: "from A"})
	time.Sleep(1100 * time.Millisecond) // Asterisk dates changes to the second
	add(t, b, ami.QueueAddRequest{Queue: "support", Interface: "Local/3002@agents", MemberName: "Bob", Penalty: 5, Paused: true, Reason: "from B"})
	resync(t, a)
	resync(t, b)
	ms := requireSame(t)
	m := find(ms, "support", "Local/3002@agents")
	if m == nil || m.Penalty != 5 || m.Reason != "from B" {
		t.Fatalf("winner = %v, want B's later change (penalty 5, from B)", m)
	}
	if ja, jb := journal(t, a), journal(t, b); ja != jb {
		t.Fatalf("journals differ:\nsop1:\n%s\nsop2:\n%s", ja, jb)
	}
}

// c. A removal on A while B still has the member: the newer removal wins and
// B's older copy does not bring it back.
func TestResyncRemovalWins(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, a, ami.QueueAddRequest{Queue: "billing", Interface: "Local/3003@agents", MemberName: "Carol"})
	resync(t, a)
	requireSame(t)
	time.Sleep(1100 * time.Millisecond)
	remove(t, a, "billing", "Local/3003@agents")
	resync(t, b)
	resync(t, a)
	ms := requireSame(t)
	if m := find(ms, "billing", "Local/3003@agents"); m != nil {
		t.Fatalf("removed member came back: %v", m)
	}
}

// d. Asterisk A restarted without persistentmembers: resync restores A from
// the journal, including a penalty changed after the add, and B keeps its
// members (the loss is not propagated).
func TestResyncRestoresAfterRestart(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "Local/3004@agents", MemberName: "Dave", Paused: true, Reason: "training"})
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "Local/3005@agents", MemberName: "Erin"})
	setPenalty(t, a, "support", "Local/3005@agents", 7)
	resync(t, b)
	before := requireSame(t)
	a.Stop() // the command, not the daemon, must do the restore here
	t.Cleanup(func() {
		if err := startDaemon(a); err != nil {
			t.Error(err)
		}
	})
	restartAsterisk(t, a, "no")
	if len(members(t, a)) >= len(before) {
		t.Fatalf("restart without persistentmembers kept the dynamic members")
	}
	markB := len(b.QueueLog())
	out := resync(t, a, "-v")
	after := requireSame(t)
	if render(after) != render(before) {
		t.Fatalf("after restart + resync:\n%s\nwant:\n%s\n%s", render(after), render(before), out)
	}
	if l := queueLog(b, markB, "Local/3004@agents", "Local/3005@agents", "Dave", "Erin"); len(l) != 0 {
		t.Fatalf("B was touched: %v", l)
	}
	if !strings.Contains(out, "restored") {
		t.Fatalf("resync -v does not say restored:\n%s", out)
	}
}

func restartAsterisk(t *testing.T, n *harness.Node, persist string) {
	t.Helper()
	runTestbed(t, n, "persist", persist)
	t.Cleanup(func() { runTestbed(t, n, "persist", "yes") })
	runTestbed(t, n, "restart")
}

// e. --dry-run changes nothing on either node or journal.
func TestResyncDryRun(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "Local/3006@agents", MemberName: "Fay", Penalty: 2})
	add(t, b, ami.QueueAddRequest{Queue: "billing", Interface: "Local/3007@agents", MemberName: "Gus"})
	resync(t, a) // journals both, converges
	time.Sleep(1100 * time.Millisecond)
	pause(t, b, "sales", "Local/3006@agents", true, "dry")
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "Local/3008@agents"})
	// Each daemon journals its node's change a moment after Asterisk's
	// event; the snapshot is taken once both have.
	waitFor(t, "the daemons journal the pause on B and the add on A", func() bool {
		return strings.Contains(journal(t, b), "dry") && strings.Contains(journal(t, a), "support")
	})
	ma, mb, ja, jb := members(t, a), members(t, b), journal(t, a), journal(t, b)
	out := resync(t, a, "-v", "--dry-run")
	if !strings.Contains(out, "would") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run shows no planned actions:\n%s", out)
	}
	if render(members(t, a)) != render(ma) || render(members(t, b)) != render(mb) {
		t.Fatal("dry run changed live state")
	}
	if got := journal(t, a); got != ja {
		t.Fatalf("dry run changed A's journal:\n%s\nwas:\n%s", got, ja)
	}
	if got := journal(t, b); got != jb {
		t.Fatalf("dry run changed B's journal:\n%s\nwas:\n%s", got, jb)
	}
}

// f. A second concurrent resync exits 4.
func TestResyncLocked(t *testing.T) {
	a := tb.Nodes[0]
	st, err := store.Open(ctxT(t), a.DBURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	release, ok, err := st.TryLock(ctxT(t), "resync")
	if err != nil || !ok {
		t.Fatalf("take the resync lock: ok=%v err=%v", ok, err)
	}
	defer release()
	r := tb.CLI(a, harness.CLIOptions{}, "resync")
	if r.Code() != 4 {
		t.Fatalf("resync while locked: exit %d, want 4\n%s%s", r.Code(), r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "another queuesync") {
		t.Fatalf("no clear message: %s", r.Stderr)
	}
}
