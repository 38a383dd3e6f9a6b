package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// A dry run decides everything and changes nothing: not the local Asterisk,
// not the local journal, not the peer's journal.
func TestDryRunChangesNothing(t *testing.T) {
	a, b, toA, _ := pair(t)
	a.reconcile()
	b.reconcile()
	a.clk.Advance(time.Second)
	a.add(alice)                                                          // sop1's missed change
	b.add(member{Queue: "billing", Interface: "PJSIP/2002", Name: "Bob"}) // sop2's missed change
	a.clk.Advance(time.Second)
	journalA, journalB := journalOf(a), journalOf(b)
	startB, _ := b.store.Startup(ctxFor(t))

	// resync --dry-run: reconcile, pull, push.
	ctx := ctxFor(t)
	sess := b.begin(b.eng.DryRun(), nil)
	defer sess.End()
	local, err := sess.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o := byKey(t, local, "billing", "PJSIP/2002"); o.Result != engine.Journalled {
		t.Errorf("dry reconcile of sop2's change: %s", describe([]engine.Outcome{o}))
	}
	snap, outs, err := sess.Pull(ctx, toA, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := byKey(t, outs, "sales", "PJSIP/1001")
	if o.Result != engine.Applied || len(o.Actions) != 1 || o.Actions[0].Kind != state.ActAdd {
		t.Errorf("dry pull: %s, want the QueueAdd it would run", describe(outs))
	}
	// The peer reconciled in memory only: its answer has sop1's change.
	if !slices.ContainsFunc(snap.Registers, func(r state.Register) bool { return r.Interface == "PJSIP/1001" }) {
		t.Error("the peer's dry snapshot lacks its missed local change")
	}
	pushed, err := sess.Push(ctx, link(t, b, a), snap)
	if err != nil {
		t.Fatal(err)
	}
	if o := byKey(t, pushed, "billing", "PJSIP/2002"); o.Result != engine.Pushed {
		t.Errorf("dry push: %s", describe(pushed))
	}
	sess.End()

	// A restart, reconciled dry: restored in words only.
	b.clk.Advance(10 * time.Second)
	b.restart(false)
	b.reconcileWith(b.eng.DryRun(), nil)

	if calls := append(a.ami.Calls(), b.ami.Calls()...); len(calls) != 0 {
		t.Errorf("a dry run acted: %v", calls)
	}
	if b.live("sales", "PJSIP/1001") != nil || a.live("billing", "PJSIP/2002") != nil {
		t.Error("a dry run changed an Asterisk")
	}
	if got := journalOf(a); !slices.Equal(got, journalA) {
		t.Errorf("sop1's journal changed in a dry run:\n%v\n%v", journalA, got)
	}
	if got := journalOf(b); !slices.Equal(got, journalB) {
		t.Errorf("sop2's journal changed in a dry run:\n%v\n%v", journalB, got)
	}
	if got, _ := b.store.Startup(ctxFor(t)); !got.Equal(startB) {
		t.Errorf("a dry run recorded Asterisk's start %v (was %v)", got, startB)
	}
}

// A register whose action failed (the AMI connection broke mid-apply) stays
// pending; Capture leaves it alone, and the next Reconcile retries it (not
// journalled as a local change) and settles it.
func TestFailedApplyStaysPendingAndIsRetried(t *testing.T) {
	a, b, toA, _ := pair(t)
	a.clk.Advance(time.Second)
	a.add(alice)
	a.clk.Advance(time.Second)

	b.ami.setBefore(func(kind string) {
		if kind == "QueueAdd" {
			b.srv.DropConnections()
		}
	})
	o := byKey(t, b.pull(toA), "sales", "PJSIP/1001")
	b.ami.setBefore(nil)
	if o.Result != engine.Failed || o.Err == nil {
		t.Fatalf("apply over a dropped connection: %s", describe([]engine.Outcome{o}))
	}
	en := b.mustEntry("sales", "PJSIP/1001")
	if !en.Pending || en.Origin != "sop1" || en.Via != "sop1" {
		t.Fatalf("journal after the failure: %+v", en)
	}
	if b.live("sales", "PJSIP/1001") != nil {
		t.Fatal("the fake added the member although the connection was cut first")
	}
	seq := b.maxSeq()
	b.ami.Calls()

	// An event for the member while it is pending is not a local change.
	if outs := b.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"}); len(outs) != 0 {
		t.Errorf("capture of a pending member: %s", describe(outs))
	}
	o = byKey(t, b.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Restored {
		t.Errorf("retry: %s, want restored", describe([]engine.Outcome{o}))
	}
	if got := kinds(b.ami.Calls()); !slices.Equal(got, []string{"QueueAdd"}) {
		t.Errorf("retry actions %v", got)
	}
	en = b.mustEntry("sales", "PJSIP/1001")
	if en.Pending || en.Origin != "sop1" || b.maxSeq() != seq {
		t.Errorf("after the retry: %+v (seq %d, was %d)", en, b.maxSeq(), seq)
	}
	sameMembers(t, a, b, "sales")
}

// A pending register whose action did reach Asterisk (only the answer was
// lost) is settled by the next Reconcile without acting again.
func TestPendingAlreadyAppliedIsSettled(t *testing.T) {
	clk := &manualClock{t: base}
	b := newNode(t, "sop2", clk)
	b.reconcile()
	clk.Advance(time.Second)
	b.putPending(peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) {
		r.MemberName, r.Penalty, r.Origin = "Alice", 1, "sop1"
	}))
	b.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1})
	seq := b.maxSeq()
	b.reconcile()
	if calls := b.ami.Calls(); len(calls) != 0 {
		t.Errorf("acted on a pending register that already holds: %v", calls)
	}
	if en := b.mustEntry("sales", "PJSIP/1001"); en.Pending || en.Origin != "sop1" || b.maxSeq() != seq {
		t.Errorf("after reconcile: %+v", en)
	}
}

// Static members are never added or removed over AMI: a peer's static member
// this node lacks, or a removal of a static member, is reported; their pause
// and penalty do sync.
func TestStaticMembersReportedNeverAddedOrRemoved(t *testing.T) {
	static := func(extra ...amitest.StaticMember) nodeOption {
		return withQueues(amitest.Queue{Name: "support", Members: append([]amitest.StaticMember{
			{Interface: "Local/2000@agents", Name: "Static Agent", StateInterface: "Custom:2000"}}, extra...)},
			amitest.Queue{Name: "sales"})
	}
	a, clk := solo(t, static())
	b := newNode(t, "sop2", clk, static(amitest.StaticMember{Interface: "Local/2001@agents", Name: "Only On B"}))
	toB := link(t, a, b)
	clk.Advance(time.Second)
	b.pause("support", "Local/2000@agents", true, "static break")
	b.penalty("support", "Local/2001@agents", 2)
	clk.Advance(time.Second)

	outs := a.pull(toB)
	o := byKey(t, outs, "support", "Local/2001@agents")
	if len(o.Reports) == 0 || len(o.Actions) != 0 || !strings.Contains(o.Reports[0], "queues.conf") {
		t.Errorf("static member missing here: %s, want a report", describe([]engine.Outcome{o}))
	}
	if got := kinds(a.ami.Calls()); !slices.Equal(got, []string{"QueuePause"}) {
		t.Errorf("sop1 actions %v, want only the static member's pause", got)
	}
	if m := a.live("support", "Local/2000@agents"); m == nil || !m.Paused || m.PausedReason != "static break" {
		t.Errorf("static member's pause not synced: %+v", m)
	}
	if a.live("support", "Local/2001@agents") != nil {
		t.Error("a static member was added over AMI")
	}

	// A removal of a static member (a peer's tombstone) is reported.
	clk.Advance(time.Second)
	tomb := state.Register{Queue: "support", Interface: "Local/2000@agents", Membership: state.Dynamic,
		Stamp: state.Stamp{Wall: clk.Now().UnixMilli()}, Origin: "sop2"}
	outs = a.apply("sop2", tomb)
	if o := byKey(t, outs, "support", "Local/2000@agents"); len(o.Reports) == 0 || len(o.Actions) != 0 {
		t.Errorf("tombstone of a static member: %s", describe(outs))
	}
	if calls := a.ami.Calls(); len(calls) != 0 {
		t.Errorf("actions for a static member's removal: %v", calls)
	}
	if a.live("support", "Local/2000@agents") == nil {
		t.Error("a static member was removed")
	}
	// Reconciling afterwards finds nothing new to journal: the report is
	// not a local change.
	if outs := changed(a.reconcile()); len(outs) != 0 {
		t.Errorf("reconcile after reports: %s", describe(outs))
	}
}

// Capture journals only real changes: an event whose member state equals
// the journal (Asterisk fires them for no-op pauses and penalties) is not
// news, and a pending member is being applied by queuesync itself.
func TestCaptureIgnoresNoOpsAndPending(t *testing.T) {
	a, clk := solo(t)
	a.reconcile() // the daemon reconciles at every connect, then captures
	clk.Advance(time.Second)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
	hint := engine.Member{Queue: "sales", Interface: "PJSIP/1001"}
	if o := byKey(t, a.capture(hint), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("capture of a new member: %s", describe([]engine.Outcome{o}))
	}
	seq := a.maxSeq()

	clk.Advance(time.Second)
	a.penalty("sales", "PJSIP/1001", 2)              // same value: Asterisk still emits an event
	a.pause("sales", "PJSIP/1001", false, "ignored") // unpause an unpaused member with a reason
	if outs := a.capture(hint, hint); len(outs) != 0 {
		t.Errorf("capture of no-op events: %s", describe(outs))
	}
	// A hint with another spelling of the same member.
	if outs := a.capture(engine.Member{Queue: "SALES", Interface: "pjsip/1001"}); len(outs) != 0 {
		t.Errorf("capture with other case: %s", describe(outs))
	}
	if a.maxSeq() != seq {
		t.Error("a no-op was journalled")
	}

	// A pending register (queuesync applying a peer's change) is left alone.
	clk.Advance(time.Second)
	a.putPending(peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) { r.MemberName, r.Penalty = "Alice", 8 }))
	seq = a.maxSeq()
	if outs := a.capture(hint); len(outs) != 0 {
		t.Errorf("capture of a pending member: %s", describe(outs))
	}
	if a.maxSeq() != seq {
		t.Error("capture journalled over a pending register")
	}

	// A real change of another member is journalled.
	clk.Advance(time.Second)
	a.add(member{Queue: "sales", Interface: "PJSIP/1002", Name: "Carol"})
	outs := a.capture(hint, engine.Member{Queue: "sales", Interface: "PJSIP/1002"})
	if len(outs) != 1 || outs[0].Result != engine.Journalled || outs[0].Interface != "PJSIP/1002" {
		t.Errorf("capture: %s", describe(outs))
	}
	if calls := a.ami.Calls(); len(calls) != 0 {
		t.Errorf("capture acted: %v", calls)
	}
}

// A peer register that equals what the journal already holds is in sync:
// nothing is journalled or done.
func TestApplySameVersionInSync(t *testing.T) {
	a, b, _, _ := pairSharing(t, alice)
	seq := b.maxSeq()
	en := a.mustEntry("sales", "PJSIP/1001")
	o := byKey(t, b.apply("sop1", en.Register), "sales", "PJSIP/1001")
	if o.Result != engine.InSync || b.maxSeq() != seq || len(b.ami.Calls()) != 0 {
		t.Errorf("re-applied register: %s", describe([]engine.Outcome{o}))
	}
}

// A batch larger than one commit chunk is journalled, acted on and settled
// chunk by chunk, the stages overlapping: every register ends applied,
// settled, and live in Asterisk.
func TestApplyManyPipelined(t *testing.T) {
	a, clk := solo(t)
	a.reconcile()
	clk.Advance(time.Second)
	var regs []state.Register
	for i := range 600 {
		regs = append(regs, peerReg(clk, "sales", fmt.Sprintf("PJSIP/%d", 5000+i), func(r *state.Register) {
			r.Paused, r.PausedReason, r.Penalty = i%2 == 0, "", i%5
			if r.Paused {
				r.PausedReason = "batch"
			}
		}))
	}
	outs := a.apply("sop2", regs...)
	if len(outs) != len(regs) {
		t.Fatalf("%d outcomes for %d registers", len(outs), len(regs))
	}
	for _, o := range outs {
		if o.Result != engine.Applied {
			t.Fatalf("not applied: %s", describe([]engine.Outcome{o}))
		}
	}
	for _, en := range a.entries() {
		if en.Pending {
			t.Errorf("%s/%s still pending", en.Queue, en.Interface)
		}
	}
	if got := len(a.srv.Members("sales")); got != len(regs) {
		t.Errorf("Asterisk holds %d members of sales, want %d", got, len(regs))
	}
	for _, r := range regs[:20] {
		m := a.live(r.Queue, r.Interface)
		if m == nil || m.Paused != r.Paused || m.Penalty != r.Penalty || m.PausedReason != r.PausedReason {
			t.Errorf("%s live %+v, want %+v", r.Interface, m, r)
		}
	}
}

// An agent removes a member while a peer's change to it is being applied:
// Asterisk refuses the action, and the removal, made after the peer's
// register arrived, is journalled as a local change that wins and is
// answered to the peer. Left pending instead, the register would hide the
// member's later changes from Capture until a reconcile undid them.
func TestApplyOvertakenByLocalChange(t *testing.T) {
	a, b, _, _ := pairSharing(t, alice)
	m := engine.Member{Queue: "sales", Interface: "PJSIP/1001"}
	b.clk.Advance(time.Second)
	reg := a.mustEntry("sales", "PJSIP/1001").Register
	reg.Penalty, reg.Stamp = 4, state.Stamp{Wall: b.clk.Now().UnixMilli()}
	b.ami.setBefore(func(kind string) {
		if kind == "QueuePenalty" {
			b.remove("sales", "PJSIP/1001")
		}
	})
	o := byKey(t, b.apply("sop1", reg), "sales", "PJSIP/1001")
	b.ami.setBefore(nil)
	if o.Result != engine.Overtaken || o.Err != nil || o.Winner == nil || o.Winner.Present {
		t.Fatalf("apply overtaken by a removal: %s", describe([]engine.Outcome{o}))
	}
	en := b.mustEntry("sales", "PJSIP/1001")
	if en.Pending || en.Present || en.Origin != "sop2" || !en.Register.Newer(reg) {
		t.Fatalf("journal after the removal: %+v", en)
	}
	if outs := changed(b.capture(m)); len(outs) != 0 {
		t.Errorf("capture after the removal was journalled: %s", describe(outs))
	}
	b.clk.Advance(time.Second)
	b.add(alice)
	if o := byKey(t, b.capture(m), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Errorf("the agent's next change: %s, want journalled", describe([]engine.Outcome{o}))
	}
}

// An action refused although the member is as the session read it (here
// a penalty Asterisk does not take) is no local change: the register
// stays pending and failed, for the next reconcile to retry.
func TestApplyRefusedUnchangedStaysPending(t *testing.T) {
	a, b, _, _ := pairSharing(t, alice)
	b.clk.Advance(time.Second)
	reg := a.mustEntry("sales", "PJSIP/1001").Register
	reg.Penalty, reg.Stamp = -1, state.Stamp{Wall: b.clk.Now().UnixMilli()}
	o := byKey(t, b.apply("sop1", reg), "sales", "PJSIP/1001")
	if o.Result != engine.Failed {
		t.Fatalf("apply of a refused penalty: %s", describe([]engine.Outcome{o}))
	}
	if en := b.mustEntry("sales", "PJSIP/1001"); !en.Pending || en.Origin != "sop1" {
		t.Errorf("journal after the refusal: %+v", en)
	}
}

// The daemon stops while it applies a peer's change (its context ends
// between the journal write and the action): once journalled, the change
// is acted on and settled all the same. Left pending, it would be finished
// by the next reconcile, after whatever an agent changed in between, and
// undo that.
func TestApplyFinishedWhenCancelled(t *testing.T) {
	a, b, _, _ := pair(t)
	a.staff(alice)
	a.reconcile()
	reg := a.mustEntry("sales", "PJSIP/1001").Register
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	b.ami.setBefore(func(kind string) {
		if kind == "QueueAdd" {
			cancel()
		}
	})
	sess, err := b.eng.BeginMembers(ctx, engine.Members([]state.Register{reg}))
	b.must("begin members", err)
	outs, err := sess.Apply(ctx, "sop1", []state.Register{reg})
	sess.End()
	b.ami.setBefore(nil)
	if o := byKey(t, outs, "sales", "PJSIP/1001"); err != nil || o.Result != engine.Applied {
		t.Fatalf("apply cancelled before its action: %v, %s", err, describe(outs))
	}
	if en := b.mustEntry("sales", "PJSIP/1001"); en.Pending {
		t.Errorf("left pending: %+v", en)
	}
	if b.live("sales", "PJSIP/1001") == nil {
		t.Error("the member was not added")
	}
}

// An agent's pause seen as it happens is stamped now, not at LastPause
// (whole seconds): dated to the start of its second, it would lose to a
// register another node wrote earlier in that second, here sop2's first
// sight of the same member, and sop2 would undo the pause.
func TestCapturedChangeStampedNow(t *testing.T) {
	a, b, _, _ := pair(t)
	m := engine.Member{Queue: "sales", Interface: "PJSIP/1001"}
	a.staff(alice)
	a.reconcile()
	b.add(alice) // the same member, in a later second
	b.reconcile()
	a.clk.Advance(500 * time.Millisecond) // still b's second
	a.pause("sales", "PJSIP/1001", true, "meeting")
	o := byKey(t, a.capture(m), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner.Stamp.Wall != a.clk.Now().UnixMilli() {
		t.Fatalf("captured pause: %s, want journalled now (%d)", describe([]engine.Outcome{o}), a.clk.Now().UnixMilli())
	}
	if o := byKey(t, b.apply("sop1", *o.Winner), "sales", "PJSIP/1001"); o.Result != engine.Applied {
		t.Errorf("sop2 given the pause: %s, want applied", describe([]engine.Outcome{o}))
	}
	if m := b.live("sales", "PJSIP/1001"); m == nil || !m.Paused || m.PausedReason != "meeting" {
		t.Errorf("sop2's member %+v, want paused for the meeting", m)
	}
}

// A plan whose first action succeeded and whose second Asterisk refused
// (a penalty, then an unpause of a member an agent removed in between):
// the member differs from the read partly by queuesync's own doing, and
// what of it is the agent's cannot be told. The register stays pending
// and failed, for the next reconcile.
func TestApplyPartlyDoneStaysPending(t *testing.T) {
	a, b, _, _ := pairSharing(t, alice)
	b.clk.Advance(time.Second)
	reg := a.mustEntry("sales", "PJSIP/1001").Register
	reg.Paused, reg.PausedReason, reg.Penalty = false, "", 4
	reg.Stamp = state.Stamp{Wall: b.clk.Now().UnixMilli()}
	b.ami.setBefore(func(kind string) {
		if kind == "QueuePause" {
			b.remove("sales", "PJSIP/1001")
		}
	})
	o := byKey(t, b.apply("sop1", reg), "sales", "PJSIP/1001")
	b.ami.setBefore(nil)
	if calls := kinds(b.ami.Calls()); o.Result != engine.Failed || !slices.Equal(calls, []string{"QueuePenalty", "QueuePause"}) {
		t.Fatalf("apply of a penalty and a refused unpause: %s, %v (actions %v)", o.Result, o.Err, calls)
	}
	if en := b.mustEntry("sales", "PJSIP/1001"); !en.Pending || en.Origin != "sop1" {
		t.Errorf("journal after the refusal: %+v", en)
	}
}
