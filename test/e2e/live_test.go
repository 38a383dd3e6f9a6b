//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// waitSame waits until both nodes hold the same members and cond holds on
// them, or fails after timeout. It returns how long it took.
func waitSame(t *testing.T, timeout time.Duration, cond func([]memberView) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var a, b []memberView
	for time.Since(start) < timeout {
		a, b = members(t, tb.Nodes[0]), members(t, tb.Nodes[1])
		if render(a) == render(b) && (cond == nil || cond(a)) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nodes did not converge within %s:\nsop1:\n%ssop2:\n%s", timeout, render(a), render(b))
	return 0
}

func has(queue, iface string, pred func(memberView) bool) func([]memberView) bool {
	return func(ms []memberView) bool {
		m := find(ms, queue, iface)
		return m != nil && (pred == nil || pred(*m))
	}
}

func hasNot(queue, iface string) func([]memberView) bool {
	return func(ms []memberView) bool { return find(ms, queue, iface) == nil }
}

// Each kind of change made on one node appears on the other, both ways.
func TestLiveReplicatesEachChange(t *testing.T) {
	reset(t)
	for i, dir := range [][2]*harness.Node{{tb.Nodes[0], tb.Nodes[1]}, {tb.Nodes[1], tb.Nodes[0]}} {
		src, dst := dir[0], dir[1]
		iface := fmt.Sprintf("Local/31%02d@agents", i)
		t.Run(src.Name+"->"+dst.Name, func(t *testing.T) {
			cl := amiClient(t, src)
			ctx := ctxT(t)
			step := func(name string, do func() error, cond func([]memberView) bool) {
				t.Helper()
				if err := do(); err != nil {
					t.Fatalf("%s on %s: %v", name, src.Name, err)
				}
				d := waitSame(t, 15*time.Second, cond)
				t.Logf("%s replicated in %s", name, d)
			}
			step("add", func() error {
				return cl.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Live " + src.Name, Penalty: 1})
			}, has("sales", iface, nil))
			step("pause", func() error { return cl.QueuePause(ctx, "sales", iface, true, "coffee: 5 min, maybe 10") },
				has("sales", iface, func(m memberView) bool { return m.Paused && m.Reason == "coffee: 5 min, maybe 10" }))
			step("unpause", func() error { return cl.QueuePause(ctx, "sales", iface, false, "") },
				has("sales", iface, func(m memberView) bool { return !m.Paused }))
			step("penalty", func() error { return cl.QueuePenalty(ctx, "sales", iface, 4) },
				has("sales", iface, func(m memberView) bool { return m.Penalty == 4 }))
			if err := cl.QueueMemberRingInUse(ctx, "sales", iface, false); err != nil {
				t.Fatal(err)
			}
			waitRinginuse(t, dst, "sales", iface, false)
			step("remove", func() error { return cl.QueueRemove(ctx, "sales", iface) }, hasNot("sales", iface))
		})
	}
}

// waitRinginuse waits until n's CLI shows iface's ringinuse as want
// (QueueStatus does not report it).
func waitRinginuse(t *testing.T, n *harness.Node, queue, iface string, want bool) {
	t.Helper()
	word := map[bool]string{true: "ringinuse enabled", false: "ringinuse disabled"}[want]
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := amiClient(t, n).Command(ctxT(t), "queue show "+queue)
		for _, l := range out {
			if strings.Contains(l, iface) && strings.Contains(l, word) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s in %s never showed %q", n.Name, iface, queue, word)
}

// A change made with the Asterisk CLI, not AMI, is replicated too.
func TestLiveReplicatesCLIChange(t *testing.T) {
	reset(t)
	runTestbed(t, tb.Nodes[0], "rx", "queue add member Local/3110@agents to support penalty 3 as Cli")
	runTestbed(t, tb.Nodes[0], "rx", "queue pause member Local/3110@agents queue support reason cli-break")
	waitSame(t, 15*time.Second, has("support", "Local/3110@agents", func(m memberView) bool {
		return m.Paused && m.Reason == "cli-break" && m.Penalty == 3
	}))
}

// 200 random changes spread over both nodes: both end equal, and neither
// queue_log shows an action that was not needed (no echo, no re-pause).
// A member is changed on the other node than last time only once its
// last change reached it: an operator who reads a member and changes it
// while a change of the other node is on its way may make a change that
// changes nothing, and that line would be the operator's, not
// queuesync's (TestLiveConflictingChanges makes such races on purpose).
func TestLiveRandomChanges(t *testing.T) {
	reset(t)
	rng := rand.New(rand.NewPCG(42, 7))
	marks := [2]int{len(tb.Nodes[0].QueueLog()), len(tb.Nodes[1].QueueLog())}
	clients := [2]*ami.Client{amiClient(t, tb.Nodes[0]), amiClient(t, tb.Nodes[1])}
	queues := []string{"sales", "billing"}
	var ifaces, names []string
	for i := 0; i < 6; i++ {
		ifaces = append(ifaces, fmt.Sprintf("Local/32%02d@agents", i))
		names = append(names, fmt.Sprintf("Rand%d", i))
	}
	lastOn := map[string]int{} // queue/interface -> the node of its last change
	done := 0
	for op := 0; op < 200; op++ {
		n := rng.IntN(2)
		q, mi := queues[rng.IntN(2)], rng.IntN(len(ifaces))
		key := q + "/" + ifaces[mi]
		if last, ok := lastOn[key]; ok && last != n {
			waitMemberSame(t, clients, q, ifaces[mi], 15*time.Second)
		}
		lastOn[key] = n
		ok, err := randomOp(ctxT(t), clients[n], rng, q, ifaces[mi], names[mi])
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			done++
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := waitSame(t, 30*time.Second, nil)
	t.Logf("%d changes applied; converged %s after the last", done, d)
	time.Sleep(500 * time.Millisecond) // let any echo show up before counting
	needles := append(append([]string{}, ifaces...), names...)
	byName := map[string]string{}
	for i, name := range names {
		byName[name] = ifaces[i]
	}
	for i, n := range tb.Nodes {
		lines := queueLog(n, marks[i], needles...)
		if bad := redundant(lines, byName); len(bad) > 0 {
			t.Errorf("%s's queue_log shows actions that changed nothing (echo or re-pause):\n%s\nwhole log:\n%s",
				n.Name, strings.Join(bad, "\n"), strings.Join(lines, "\n"))
		}
	}
	requireSame(t)
}

// Agents on both nodes change the same few members at the same time, as
// fast as Asterisk answers: an action of one node's daemon meets a
// member an agent of that node has just removed, added or changed. The
// nodes must agree again within seconds, by the live path alone (no
// resync runs), and go on replicating every change after.
func TestLiveConflictingChanges(t *testing.T) {
	reset(t)
	var ifaces, names []string
	for i := 0; i < 3; i++ {
		ifaces = append(ifaces, fmt.Sprintf("Local/33%02d@agents", i))
		names = append(names, fmt.Sprintf("Race%d", i))
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i, n := range tb.Nodes {
		cl := amiClient(t, n)
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := 0; op < 150; op++ {
				mi := rng.IntN(len(ifaces))
				if _, err := randomOp(ctx, cl, rng, "sales", ifaces[mi], names[mi]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	d := waitSame(t, 15*time.Second, nil)
	t.Logf("converged %s after the last change", d)
	// Then each member changes once more on each node in turn: a node
	// that missed its agents' changes for a member (a register left
	// pending by a refused action hides them) does not converge.
	rng := rand.New(rand.NewPCG(3, 11))
	for _, n := range tb.Nodes {
		cl := amiClient(t, n)
		for mi := range ifaces {
			if _, err := randomOp(ctx, cl, rng, "sales", ifaces[mi], names[mi]); err != nil {
				t.Fatal(err)
			}
		}
		waitSame(t, 15*time.Second, nil)
	}
}

// waitMemberSame waits until both nodes show the member alike (or both
// lack it), or fails after timeout.
func waitMemberSame(t *testing.T, clients [2]*ami.Client, queue, iface string, timeout time.Duration) {
	t.Helper()
	var a, b string
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(5 * time.Millisecond) {
		a, b = memberOn(t, clients[0], queue, iface), memberOn(t, clients[1], queue, iface)
		if a == b {
			return
		}
	}
	t.Fatalf("%s in %s did not converge within %s: sop1 %s, sop2 %s", iface, queue, timeout, a, b)
}

// memberOn renders one member as a node's Asterisk shows it.
func memberOn(t *testing.T, cl *ami.Client, queue, iface string) string {
	t.Helper()
	qs, err := cl.QueueStatus(ctxT(t), queue, iface)
	if err != nil {
		t.Fatalf("QueueStatus %s %s: %v", queue, iface, err)
	}
	for _, m := range qs.Members {
		if strings.EqualFold(m.Interface, iface) {
			v := memberView{Queue: m.Queue, Interface: m.Interface, Name: m.Name, StateInterface: m.StateInterface,
				Membership: m.Membership, Penalty: m.Penalty, Paused: m.Paused}
			if m.Paused {
				v.Reason = m.PausedReason
			}
			return v.String()
		}
	}
	return "absent"
}

// logMember is a member's state as its queue_log lines tell it.
type logMember struct {
	present, paused bool
	reason          string
	penalty         int // -1: not told (an add does not log it)
}

// redundant replays queue_log lines (members absent at the start) and
// returns those that changed nothing: an add of a present member, a pause of
// a member paused for the same reason, an unpause of an unpaused one, a
// penalty it already had. Conflicting changes on two nodes may legitimately
// cost more than one line per change (last writer wins per member), but
// never a line that changes nothing.
func redundant(lines []string, byName map[string]string) []string {
	ms := map[string]*logMember{}
	var bad []string
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) < 5 {
			continue
		}
		who := f[3]
		if iface, ok := byName[who]; ok {
			who = iface
		}
		key := strings.ToLower(f[2] + "/" + who)
		m := ms[key]
		if m == nil {
			m = &logMember{penalty: -1}
			ms[key] = m
		}
		arg := ""
		if len(f) > 5 {
			arg = f[5]
		}
		if !m.apply(f[4], arg) {
			bad = append(bad, l)
		}
	}
	return bad
}

// apply records one queue_log verb and reports whether it changed the state.
func (m *logMember) apply(verb, arg string) bool {
	switch verb {
	case "ADDMEMBER":
		changed := !m.present
		*m = logMember{present: true, paused: arg == "PAUSED", penalty: -1}
		return changed
	case "REMOVEMEMBER":
		changed := m.present
		*m = logMember{penalty: -1}
		return changed
	case "PAUSE":
		changed := !m.paused || m.reason != arg
		m.paused, m.reason = true, arg
		return changed
	case "UNPAUSE":
		changed := m.paused
		m.paused, m.reason = false, ""
		return changed
	case "PENALTY":
		p, err := strconv.Atoi(arg)
		changed := err != nil || p != m.penalty
		m.penalty = p
		return changed
	}
	return true
}

// randomOp makes one change that is not a no-op on the node it is made on,
// and reports whether Asterisk accepted it; err is a failure to read the
// member first.
func randomOp(ctx context.Context, cl *ami.Client, rng *rand.Rand, q, iface, name string) (bool, error) {
	qs, err := cl.QueueStatus(ctx, q, iface)
	if err != nil {
		return false, fmt.Errorf("QueueStatus %s %s: %w", q, iface, err)
	}
	var cur *ami.QueueMember
	for i := range qs.Members {
		if strings.EqualFold(qs.Members[i].Interface, iface) {
			cur = &qs.Members[i]
		}
	}
	switch {
	case cur == nil:
		err = cl.QueueAdd(ctx, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: name, Penalty: rng.IntN(5), Paused: rng.IntN(2) == 0, Reason: "r"})
	case rng.IntN(5) == 0:
		err = cl.QueueRemove(ctx, q, iface)
	case rng.IntN(2) == 0:
		reason := fmt.Sprintf("reason %d", rng.IntN(3))
		if cur.Paused && cur.PausedReason == reason {
			err = cl.QueuePause(ctx, q, iface, false, "")
		} else {
			err = cl.QueuePause(ctx, q, iface, true, reason)
		}
	default:
		err = cl.QueuePenalty(ctx, q, iface, (cur.Penalty+1+rng.IntN(4))%6)
	}
	return err == nil, nil
}
