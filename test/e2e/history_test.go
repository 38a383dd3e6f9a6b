//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/cli"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// history runs `queuesync history QUEUE --member IFACE --json` on n.
func history(t *testing.T, n *harness.Node, queue, iface string) []cli.HistoryLine {
	t.Helper()
	r := tb.CLI(n, harness.CLIOptions{}, "history", queue, "--member", iface, "--json")
	if r.Err != nil {
		t.Fatalf("history on %s: exit %d\n%s", n.Name, r.Code(), r.Output())
	}
	var out []cli.HistoryLine
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l == "" {
			continue
		}
		var h cli.HistoryLine
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("history on %s: %v in %q", n.Name, err, l)
		}
		out = append(out, h)
	}
	return out
}

// findLine returns the first line of hs for field changed from old to value.
func findLine(hs []cli.HistoryLine, field, old, value string) *cli.HistoryLine {
	for i := range hs {
		if hs[i].Field == field && hs[i].Old == old && hs[i].New == value {
			return &hs[i]
		}
	}
	return nil
}

// clearHistory empties both nodes' history.
func clearHistory(t *testing.T) {
	t.Helper()
	for _, n := range tb.Nodes {
		execSQL(t, n, "DELETE FROM queue_sync_history")
	}
}

// An agent paused on A with the Asterisk CLI, unpaused on B, and restored
// on A after A's Asterisk restarts without persistent members: each node's
// history says what happened, when, on which node and how it got there.
func TestHistoryAcrossNodes(t *testing.T) {
	reset(t)
	clearHistory(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	const q, iface = "sales", "Local/3401@agents"
	addedAt := time.Now()
	add(t, a, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Hana"})
	waitSame(t, 15*time.Second, has(q, iface, nil))
	time.Sleep(1100 * time.Millisecond) // a pause in a second of its own

	pausedAt := time.Now()
	runTestbed(t, a, "rx", "queue pause member "+iface+" queue "+q+" reason lunch")
	waitSame(t, 15*time.Second, has(q, iface, func(m memberView) bool { return m.Paused && m.Reason == "lunch" }))
	time.Sleep(1100 * time.Millisecond)

	unpausedAt := time.Now()
	runTestbed(t, b, "rx", "queue unpause member "+iface+" queue "+q)
	waitSame(t, 15*time.Second, has(q, iface, func(m memberView) bool { return !m.Paused }))
	time.Sleep(2 * time.Second)

	restartedAt := time.Now()
	restartAsterisk(t, a, "no")
	waitSame(t, 30*time.Second, has(q, iface, func(m memberView) bool { return !m.Paused }))

	near := func(got, want time.Time) bool {
		return got.After(want.Add(-2*time.Second)) && got.Before(want.Add(5*time.Second))
	}
	check := func(n *harness.Node, hs []cli.HistoryLine, field, old, value, origin, source string, at time.Time) {
		t.Helper()
		l := findLine(hs, field, old, value)
		switch {
		case l == nil:
			t.Errorf("%s: no %s -> %s in its history:\n%+v", n.Name, field, value, hs)
		case l.Origin != origin || l.Source != source:
			t.Errorf("%s: %s -> %s: origin %s source %s, want %s and %s", n.Name, field, value, l.Origin, l.Source, origin, source)
		case !near(l.Time, at):
			t.Errorf("%s: %s -> %s dated %s, want about %s", n.Name, field, value, l.Time, at.UTC())
		}
	}
	ha, hb := history(t, a, q, iface), history(t, b, q, iface)
	t.Logf("sop1:\n%+v\nsop2:\n%+v", ha, hb)
	check(a, ha, "present", "-", "yes", "sop1", "ami", addedAt)
	check(a, ha, "paused", "no", "yes", "sop1", "ami", pausedAt)
	check(a, ha, "paused", "yes", "no", "sop2", "peer:sop2", unpausedAt)
	check(a, ha, "present", "no", "yes", "sop2", "restore", restartedAt)
	check(b, hb, "present", "-", "yes", "sop1", "peer:sop1", addedAt)
	check(b, hb, "paused", "no", "yes", "sop1", "peer:sop1", pausedAt)
	check(b, hb, "paused", "yes", "no", "sop2", "ami", unpausedAt)
	if l := findLine(hb, "present", "no", "yes"); l != nil {
		t.Errorf("sop2 recorded A's restore, which is local to its node:\n%+v", hb)
	}
	if l := findLine(ha, "paused", "yes", "no"); l != nil && l.Result != "applied" {
		t.Errorf("sop1: the unpause from sop2 is %s, want applied", l.Result)
	}
}
