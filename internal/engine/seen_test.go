package engine_test

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// seen runs Capture on the members' states as events reported them.
func (n *node) seen(ss ...engine.Seen) []engine.Outcome {
	n.t.Helper()
	sess, err := n.eng.BeginSeen(ctxFor(n.t), ss)
	n.must("begin seen", err)
	return n.run(sess, "capture seen", sess.Capture)
}

// event returns the fake's member as its next member event would carry it.
func (n *node) event(queue, iface string) engine.Seen {
	n.t.Helper()
	m := n.live(queue, iface)
	if m == nil {
		n.t.Fatalf("%s: no member %s in %s", n.name, iface, queue)
	}
	return engine.Seen{Member: *m}
}

// countReads counts the engine's QueueStatus reads from now on.
func (n *node) countReads() *int {
	reads := new(int)
	n.ami.setRead(func(kind string) {
		if kind == "QueueStatus" {
			*reads++
		}
	})
	return reads
}

// A member event carries the member's whole state: a local change is
// journalled from it, and a removal as a tombstone, without asking Asterisk
// again; an event that shows what the journal holds changes nothing.
func TestSeenJournalsEventsWithoutReading(t *testing.T) {
	a, clk := solo(t)
	a.reconcile()
	reads := a.countReads()

	clk.Advance(time.Second)
	a.add(alice)
	if o := byKey(t, a.seen(a.event("sales", "PJSIP/1001")), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("event of a new member: %s", describe([]engine.Outcome{o}))
	}
	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", true, "lunch")
	before := a.event("sales", "PJSIP/1001")
	if outs := a.seen(before, before); len(outs) != 1 || outs[0].Result != engine.Journalled {
		t.Fatalf("event of a pause: %s", describe(outs))
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); !en.Paused || en.PausedReason != "lunch" || en.Penalty != alice.Penalty {
		t.Errorf("journal after the pause: %+v", en.Register)
	}
	seq := a.maxSeq()
	if outs := changed(a.seen(before)); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("an event of nothing new: %s", describe(outs))
	}

	clk.Advance(time.Second)
	gone := a.event("sales", "PJSIP/1001")
	a.remove("sales", "PJSIP/1001")
	gone.Removed = true
	if o := byKey(t, a.seen(gone), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("event of a removal: %s", describe([]engine.Outcome{o}))
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); en.Present {
		t.Errorf("removal journalled as %+v", en.Register)
	}
	if *reads != 0 {
		t.Errorf("%d QueueStatus reads for members whose events said everything", *reads)
	}
	if calls := a.ami.Calls(); len(calls) != 0 {
		t.Errorf("capture acted: %v", calls)
	}
}

// The events of queuesync's own actions may arrive after the change
// settled, and one between two actions shows a state nobody chose (a member
// added, not yet paused): for a member acted on lately, a differing event
// is checked with Asterisk, and only what Asterisk holds is journalled.
func TestSeenAfterActingAsksAsterisk(t *testing.T) {
	a, clk := solo(t)
	a.reconcile()
	clk.Advance(time.Second)
	reg := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) {
		r.Paused, r.PausedReason, r.Penalty = true, "training", 4
	})
	if o := byKey(t, a.apply("sop2", reg), "sales", "PJSIP/1001"); o.Result != engine.Applied {
		t.Fatalf("apply: %s", describe([]engine.Outcome{o}))
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); en.Acted.IsZero() || en.Pending {
		t.Fatalf("settled register not marked as acted on: %+v", en)
	}
	between := a.event("sales", "PJSIP/1001")
	between.Member.Paused, between.Member.PausedReason, between.Member.Penalty = false, "", 0
	reads := a.countReads()
	seq := a.maxSeq()
	if outs := changed(a.seen(between)); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("a late event of queuesync's own add was journalled: %s", describe(outs))
	}
	if *reads != 1 {
		t.Errorf("%d QueueStatus reads, want 1 (the member acted on)", *reads)
	}

	// A real change of that member is journalled: Asterisk confirms it.
	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", false, "")
	if o := byKey(t, a.seen(a.event("sales", "PJSIP/1001")), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("unpause after an apply: %s", describe([]engine.Outcome{o}))
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); en.Paused || !en.Acted.IsZero() {
		t.Errorf("journal after the local unpause: %+v acted %v", en.Register, en.Acted)
	}
}

// An event that waited while a reconcile read Asterisk and journalled a
// newer state (a peer asked for this node's state, a resync ran) is older
// than the journal: taken as the member's state it would journal, and
// propagate, a state already gone. It is checked with Asterisk instead; an
// event received well after the journal's version is taken as it is.
func TestSeenOlderThanJournalAsksAsterisk(t *testing.T) {
	a, clk := solo(t)
	a.staff(alice)
	a.reconcile()

	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", true, "lunch")
	stale := a.event("sales", "PJSIP/1001")
	stale.Received = time.Now()
	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", true, "break")
	if o := byKey(t, a.reconcile(), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("reconcile of the second pause: %s", describe([]engine.Outcome{o}))
	}

	reads := a.countReads()
	seq := a.maxSeq()
	if outs := changed(a.seen(stale)); len(outs) != 0 || a.maxSeq() != seq {
		t.Errorf("an event older than the journal was journalled: %s", describe(outs))
	}
	if *reads != 1 {
		t.Errorf("%d QueueStatus reads, want 1 (the member whose event is older)", *reads)
	}
	if en := a.mustEntry("sales", "PJSIP/1001"); en.PausedReason != "break" {
		t.Errorf("journal %+v, want the pause Asterisk holds", en.Register)
	}

	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", false, "")
	fresh := a.event("sales", "PJSIP/1001")
	fresh.Received = a.mustEntry("sales", "PJSIP/1001").Updated.Add(2 * time.Second)
	*reads = 0
	if o := byKey(t, a.seen(fresh), "sales", "PJSIP/1001"); o.Result != engine.Journalled {
		t.Fatalf("a later event: %s", describe([]engine.Outcome{o}))
	}
	if *reads != 0 {
		t.Errorf("%d QueueStatus reads for an event newer than the journal", *reads)
	}
}
