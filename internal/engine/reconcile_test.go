package engine_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// results maps each changed outcome to its result, by key.
func results(outs []engine.Outcome) map[state.Key]engine.Result {
	m := map[state.Key]engine.Result{}
	for _, o := range changed(outs) {
		m[state.NewKey(o.Queue, o.Interface)] = o.Result
	}
	return m
}

// journalOf renders every register of the journal with its version and
// pending flag, to compare journals before and after.
func journalOf(n *node) []string {
	var out []string
	for _, e := range n.entries() {
		out = append(out, e.Key().String()+" "+e.Stamp.String()+" "+e.Origin+" "+boolStr(e.Present, "present", "tombstone")+
			" "+boolStr(e.Pending, "pending", "settled"))
	}
	return out
}

func boolStr(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// An Asterisk restart without persistentmembers erases every dynamic member:
// the journal restores them all, with their pause, reason and penalty, and
// the loss is not journalled (architecture.md §2 rule 5).
func TestRestartRestoresFromJournal(t *testing.T) {
	a, clk := solo(t)
	a.staff(alice, member{Queue: "billing", Interface: "Local/3001@agents", Name: "Bob"})
	a.reconcile()
	clk.Advance(time.Second)
	a.penalty("sales", "PJSIP/1001", 5) // after the add: journalled, not in astdb
	if r := results(a.reconcile()); r[state.NewKey("sales", "PJSIP/1001")] != engine.Journalled {
		t.Fatalf("penalty change: %v", r)
	}
	before, seq := journalOf(a), a.maxSeq()
	a.ami.Calls()

	clk.Advance(10 * time.Second)
	a.restart(false)
	if len(a.srv.Members("sales")) != 0 || len(a.srv.Members("billing")) != 0 {
		t.Fatal("the fake kept dynamic members over a restart without persistence")
	}
	outs := a.reconcile()
	r := results(outs)
	if r[state.NewKey("sales", "PJSIP/1001")] != engine.Restored || r[state.NewKey("billing", "Local/3001@agents")] != engine.Restored || len(r) != 2 {
		t.Fatalf("after restart: %s", describe(changed(outs)))
	}
	if got := kinds(a.ami.Calls()); !slices.Equal(got, []string{"QueueAdd", "QueueAdd"}) {
		t.Errorf("actions %v, want two QueueAdd", got)
	}
	m := a.live("sales", "PJSIP/1001")
	if m == nil || m.Penalty != 5 || !m.Paused || m.PausedReason != alice.Reason || m.Name != "Alice" || m.StateInterface != "Custom:1001" {
		t.Errorf("restored member %+v", m)
	}
	if after := journalOf(a); !slices.Equal(after, before) || a.maxSeq() != seq {
		t.Errorf("the restart was journalled:\nbefore %v\nafter  %v", before, after)
	}
	st, err := a.store.Startup(ctxFor(t))
	if err != nil || !st.Equal(a.srv.StartupTime()) {
		t.Errorf("recorded start %v (%v), want %v", st, err, a.srv.StartupTime())
	}
	if outs := changed(a.reconcile()); len(outs) != 0 || len(a.ami.Calls()) != 0 {
		t.Errorf("second reconcile: %s", describe(outs))
	}
}

// With persistentmembers, Asterisk restores members from astdb, but a
// penalty set after the queue's last add, remove or pause reverts: the
// journal puts it back with one QueuePenalty, and journals nothing.
func TestRestartWithPersistenceRestoresPenalty(t *testing.T) {
	a, clk := solo(t)
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
	a.penalty("sales", "PJSIP/1001", 7)
	a.reconcile()
	seq := a.maxSeq()
	a.ami.Calls()

	clk.Advance(5 * time.Second)
	a.restart(true)
	if m := a.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 2 {
		t.Fatalf("the fake should restore penalty 2 from astdb, got %+v", m)
	}
	r := results(a.reconcile())
	if r[state.NewKey("sales", "PJSIP/1001")] != engine.Restored || len(r) != 1 {
		t.Errorf("after restart: %v", r)
	}
	if calls := a.ami.Calls(); len(calls) != 1 || calls[0].Kind != "QueuePenalty" || calls[0].Detail != "penalty=7" {
		t.Errorf("actions %v, want one QueuePenalty 7", calls)
	}
	if a.maxSeq() != seq {
		t.Error("the restart's penalty loss was journalled")
	}
}

// A difference that no restart explains is a local change no daemon saw: it
// is journalled, stamped with the time Asterisk reports for it (LoginTime
// for an add, LastPause for a pause), but never at or before the register it
// replaces; a change Asterisk does not date (penalty) takes the clock.
func TestMissedLocalChangesJournalled(t *testing.T) {
	a, clk := solo(t)
	a.reconcile() // records Asterisk's start
	sec := func(t time.Time) int64 { return t.Truncate(time.Second).UnixMilli() }

	clk.Advance(time.Second)
	added := clk.Now()
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	clk.Advance(3 * time.Second)
	o := byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner.Stamp != (state.Stamp{Wall: sec(added)}) || o.Winner.Origin != "sop1" {
		t.Fatalf("add: %s stamp %s, want journalled at LoginTime %d", o.Result, o.Winner.Stamp, sec(added))
	}

	clk.Advance(5 * time.Second)
	paused := clk.Now()
	a.pause("sales", "PJSIP/1001", true, "meeting")
	clk.Advance(2 * time.Second)
	o = byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner.Stamp != (state.Stamp{Wall: sec(paused)}) || !o.Winner.Paused {
		t.Fatalf("pause: %s stamp %s, want journalled at LastPause %d", o.Result, o.Winner.Stamp, sec(paused))
	}

	clk.Advance(time.Second)
	a.penalty("sales", "PJSIP/1001", 4)
	o = byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	prev := o.Winner.Stamp
	if o.Result != engine.Journalled || prev.Wall != clk.Now().UnixMilli() {
		t.Fatalf("penalty: %s stamp %s, want the clock %d", o.Result, prev, clk.Now().UnixMilli())
	}

	// A pause in the same second as the penalty: LastPause (whole seconds)
	// is older than the register it replaces.
	a.pause("sales", "PJSIP/1001", true, "coffee")
	o = byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner.Stamp.Compare(prev) <= 0 || o.Winner.PausedReason != "coffee" {
		t.Fatalf("same-second pause: %s stamp %s, want after %s", o.Result, o.Winner.Stamp, prev)
	}
	if calls := a.ami.Calls(); len(calls) != 0 {
		t.Errorf("journalling local changes acted on Asterisk: %v", calls)
	}

	// A removal no daemon saw is a tombstone, stamped by the clock.
	clk.Advance(time.Second)
	a.remove("sales", "PJSIP/1001")
	o = byKey(t, a.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner.Present || o.Winner.Stamp.Wall != clk.Now().UnixMilli() {
		t.Errorf("removal: %s", describe([]engine.Outcome{o}))
	}
}

// A member seen for the first time already paused is dated by its pause,
// not by its login: the pause is the latest change Asterisk reports for it,
// and it must win over an older state of the member on the peer.
func TestFirstSeenPausedMemberDatedByPause(t *testing.T) {
	a, b, toA, _ := pair(t)
	a.reconcile()
	b.reconcile()
	a.clk.Advance(time.Second)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"}) // 10:00:01
	a.clk.Advance(time.Second)
	b.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 3}) // 10:00:02
	a.clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", true, "lunch") // 10:00:03: the last change
	a.clk.Advance(time.Second)

	b.pull(toA)
	for _, n := range []*node{a, b} {
		if m := n.live("sales", "PJSIP/1001"); m == nil || !m.Paused || m.PausedReason != "lunch" {
			t.Errorf("%s: member %+v, want sop1's later pause", n.name, m)
		}
	}
}

// The least-privilege AMI user (read = agent, write = agent) may not run
// CoreStatus: the engine estimates Asterisk's start from the members'
// LoginTime and works as usual, restart detection included.
func TestLeastPrivilegeUser(t *testing.T) {
	a, clk := solo(t, asUser("queuesync-min"))
	if _, err := newRecAMI(a.srv, "queuesync-min").CoreStatus(ctxFor(t)); err == nil {
		t.Fatal("the fake let queuesync-min run CoreStatus")
	}
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})

	sess := a.begin(a.eng, nil)
	if got := sess.View().Startup; !got.Equal(a.srv.StartupTime()) {
		t.Errorf("estimated start %v, want %v (the static member's login)", got, a.srv.StartupTime())
	}
	outs := a.run(sess, "reconcile", sess.Reconcile)
	if o := byKey(t, outs, "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Errorf("first reconcile: %s", describe(outs))
	}

	clk.Advance(10 * time.Second)
	a.restart(false)
	if o := byKey(t, a.reconcile(), "sales", "PJSIP/1001"); o.Result != engine.Restored {
		t.Errorf("after restart: %s", describe([]engine.Outcome{o}))
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 2 {
		t.Errorf("restored member %+v", m)
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); !en.Present {
		t.Error("the restart's loss was journalled")
	}

	// Without a restart, a change is journalled.
	clk.Advance(time.Second)
	a.penalty("sales", "PJSIP/1001", 6)
	if o := byKey(t, a.reconcile(), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Errorf("missed change: %s", describe([]engine.Outcome{o}))
	}
}

// A reconcile of some queues only (resync QUEUE, or a large peer batch)
// after a restart restores those queues but must not record the restart as
// handled: the next full reconcile still restores the other queues instead
// of journalling their loss as removals (which peers would then apply).
func TestQueueScopedReconcileKeepsRestartPending(t *testing.T) {
	a, clk := solo(t)
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"},
		member{Queue: "billing", Interface: "PJSIP/1002", Name: "Bob", Penalty: 4})
	a.reconcile()
	seq := a.maxSeq()

	clk.Advance(10 * time.Second)
	a.restart(false)
	if o := byKey(t, a.reconcileWith(a.eng, []string{"sales"}), "sales", "PJSIP/1001"); o.Result != engine.Restored {
		t.Errorf("sales: %s", describe([]engine.Outcome{o}))
	}
	o := byKey(t, a.reconcile(), "billing", "PJSIP/1002")
	if o.Result != engine.Restored {
		t.Errorf("billing after the scoped reconcile: %s, want restored", describe([]engine.Outcome{o}))
	}
	if en := a.mustEntry("billing", "PJSIP/1002"); !en.Present {
		t.Error("the restart's loss in billing was journalled as a removal")
	}
	if m := a.live("billing", "PJSIP/1002"); m == nil || m.Penalty != 4 {
		t.Errorf("billing member %+v", m)
	}
	if a.maxSeq() != seq {
		t.Error("the restart was journalled")
	}
}

// The same with the least-privilege user: a reconcile of one queue cannot
// estimate Asterisk's start (it does not see all members), so it takes the
// safe side (restores, propagates nothing), and it must not overwrite the
// start the last full reconcile recorded.
func TestLeastPrivilegeQueueScopedReconcile(t *testing.T) {
	a, clk := solo(t, asUser("queuesync-min"))
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.reconcile()
	before, err := a.store.Startup(ctxFor(t))
	if err != nil || before.IsZero() {
		t.Fatalf("recorded start %v, %v", before, err)
	}

	seq := a.maxSeq()
	clk.Advance(10 * time.Second)
	a.restart(false)
	o := byKey(t, a.reconcileWith(a.eng, []string{"sales"}), "sales", "PJSIP/1001")
	if o.Result != engine.Restored || a.maxSeq() != seq {
		t.Errorf("one-queue reconcile after a restart: %s, want restored", describe([]engine.Outcome{o}))
	}
	if after, _ := a.store.Startup(ctxFor(t)); !after.Equal(before) {
		t.Errorf("recorded start moved from %v to %v", before, after)
	}
	if outs := changed(a.reconcile()); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("full reconcile: %s", describe(outs))
	}
}

// genAMI is recAMI numbered by connection, as the daemon's ami.Link is: the
// engine then asks Asterisk's start once per connection.
type genAMI struct{ *recAMI }

func (a genAMI) Generation() uint64 { return a.link.Generation() }

// With the least-privilege user, a reconcile of some queues on the
// connection a full reconcile estimated Asterisk's start on keeps that
// estimate: a pause nobody journalled yet is a local change (the daemon
// reconciles a queue a peer asks for while the pause's event waits),
// not a restart's loss to undo. On a new connection the start is unknown
// again, and it restores.
func TestLeastPrivilegeQueueScopedOnSameConnection(t *testing.T) {
	a, clk := solo(t, asUser("queuesync-min"))
	eng := engine.New(engine.Options{Node: a.name, AMI: genAMI{a.ami}, Journal: a.store, Clock: a.clock, Now: clk.Now})
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.reconcileWith(eng, nil)

	clk.Advance(2 * time.Second)
	a.pause("sales", "PJSIP/1001", true, "lunch")
	if o := byKey(t, a.reconcileWith(eng, []string{"sales"}), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Errorf("one-queue reconcile of an agent's pause: %s, want journalled", describe([]engine.Outcome{o}))
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || !m.Paused {
		t.Errorf("the agent's pause was undone: %+v", m)
	}

	clk.Advance(10 * time.Second)
	a.restart(false)
	seq := a.maxSeq()
	if o := byKey(t, a.reconcileWith(eng, []string{"sales"}), "sales", "PJSIP/1001"); o.Result != engine.Restored || a.maxSeq() != seq {
		t.Errorf("one-queue reconcile on a new connection: %s, want restored", describe([]engine.Outcome{o}))
	}
}

// An Asterisk 11 style server (other spellings, no LoginTime, no
// PausedReason) still syncs pause and penalty.
func TestAsterisk11Spellings(t *testing.T) {
	clk := &manualClock{t: base}
	old := func(o *amitest.ServerOptions, _ *string) { o.Asterisk11 = true }
	a := newNode(t, "sop1", clk, old)
	b := newNode(t, "sop2", clk)
	toB := link(t, a, b)
	b.add(member{Queue: "sales", Interface: "SIP/1001", Name: "Alice", Penalty: 2, Paused: true})
	clk.Advance(time.Second)
	a.pull(toB)
	m := a.live("sales", "SIP/1001")
	if m == nil || !m.Paused || m.Penalty != 2 || m.Name != "Alice" {
		t.Errorf("member on the Asterisk 11 node: %+v", m)
	}
	if outs := changed(a.reconcile()); len(outs) != 0 {
		t.Errorf("reconcile after the pull: %s", describe(outs))
	}
}

// restartAt returns a read hook that restarts the node's Asterisk (without
// persistence) before the nth read of kind, once.
func restartAt(n *node, kind string, nth int) func(string) {
	seen := 0
	return func(k string) {
		if k == kind {
			if seen++; seen == nth {
				n.restart(false)
			}
		}
	}
}

// Asterisk restarting between the reads of one session (after CoreStatus,
// before QueueStatus, say) must not make the restart's losses look like
// local removals, nor the old run's members be taken for the new run's:
// wherever the restart falls, the session sees it and restores.
func TestRestartBetweenReadsIsSeen(t *testing.T) {
	for _, at := range []struct {
		kind string
		nth  int
	}{{"CoreStatus", 1}, {"QueueStatus", 1}, {"CoreStatus", 2}} {
		t.Run(fmt.Sprintf("before %s %d", at.kind, at.nth), func(t *testing.T) {
			a, clk := solo(t)
			a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
			a.reconcile()
			seq := a.maxSeq()
			clk.Advance(10 * time.Second)

			a.ami.setRead(restartAt(a, at.kind, at.nth))
			a.reconcile()
			a.ami.setRead(nil)
			a.reconcile()
			if m := a.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 2 {
				t.Errorf("member %+v, want restored", m)
			}
			if en := a.mustEntry("sales", "PJSIP/1001"); !en.Present || a.maxSeq() != seq {
				t.Errorf("the restart's loss was journalled: %+v", en.Register)
			}
		})
	}
}

// A peer's change applied right after an Asterisk restart, before the full
// reconcile, restores the members it touches and journals no loss.
func TestApplyAfterUnreconciledRestart(t *testing.T) {
	a, clk := solo(t)
	a.staff(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
	a.reconcile()
	clk.Advance(10 * time.Second)
	a.restart(false)

	cur := a.mustEntry("sales", "PJSIP/1001").Register
	older := cur
	older.Penalty, older.Origin = 9, "sop0" // same stamp, smaller origin: loses
	o := byKey(t, a.apply("sop0", older), "sales", "PJSIP/1001")
	if o.Result != engine.Stale {
		t.Errorf("older peer register: %s", describe([]engine.Outcome{o}))
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); !en.Present || en.Penalty != 2 {
		t.Errorf("journal after the apply: %+v", en.Register)
	}
	if m := a.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 2 {
		t.Errorf("member %+v, want restored", m)
	}
}
