package daemon_test

import (
	"maps"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

func isPaused(reason string) func(*ami.QueueMember) bool {
	return func(m *ami.QueueMember) bool { return m != nil && m.Paused && m.PausedReason == reason }
}

func present(m *ami.QueueMember) bool { return m != nil }
func absent(m *ami.QueueMember) bool  { return m == nil }

// A change on one node's Asterisk reaches the other and back, each applied
// with the minimal actions and never echoed: no node acts on its own
// change, and nothing is applied twice.
func TestReplicationBothWaysNoEcho(t *testing.T) {
	a, b := pair(t)

	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 3, Paused: true, Reason: "lunch"})
	b.waitMember("sales", "PJSIP/1001", isPaused("lunch"))
	if m := b.live("sales", "PJSIP/1001"); m.Penalty != 3 || m.Name != "Alice" {
		t.Errorf("sop2 member %+v", m)
	}

	b.pause("sales", "PJSIP/1001", false, "")
	a.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && !m.Paused })

	a.penalty("sales", "PJSIP/1001", 5)
	b.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 5 })

	b.remove("sales", "PJSIP/1001")
	a.waitMember("sales", "PJSIP/1001", absent)

	barrier(t, a, b, "PJSIP/9001")
	barrier(t, b, a, "PJSIP/9002")
	for _, q := range []string{"sales", "billing", "support"} {
		waitSame(t, a, b, q)
	}

	wantA := map[string]int{"QueuePause": 1, "QueueRemove": 1, "QueueAdd": 1} // sop2's unpause, removal, barrier
	wantB := map[string]int{"QueueAdd": 2, "QueuePenalty": 1}                 // sop1's add and barrier, penalty
	gotA, gotB := a.actions(), b.actions()
	if !maps.Equal(gotA, wantA) || !maps.Equal(gotB, wantB) {
		a.describe()
		b.describe()
		t.Errorf("sop1's daemon sent %v, want %v; sop2's sent %v, want %v", gotA, wantA, gotB, wantB)
	}

	// The journals agree, version for version, once the receiving daemon
	// settled its last apply (its member shows before its register is
	// settled).
	for _, k := range []struct{ q, i string }{{"sales", "PJSIP/1001"}, {"billing", "PJSIP/9001"}, {"billing", "PJSIP/9002"}} {
		eventually(t, "both journals hold "+k.q+"/"+k.i+" settled, the same version", func() bool {
			ea, oka := a.entry(k.q, k.i)
			eb, okb := b.entry(k.q, k.i)
			return oka && okb && ea.Version() == eb.Version() && !ea.Pending && !eb.Pending
		}, a, b)
	}
	if en, _ := a.entry("sales", "PJSIP/1001"); en.Present || en.Origin != "sop2" {
		t.Errorf("sales/PJSIP/1001 journal %+v, want sop2's tombstone", en.Register)
	}
}

// A cut AMI connection costs nothing: the daemon reconnects, reconciles, and
// a change made while it was away is journalled and replicated.
func TestDropConnectionsReconnectsNothingLost(t *testing.T) {
	a, b := pair(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	b.waitMember("sales", "PJSIP/1001", present)
	before := a.actions()

	a.srv.DropConnections()
	a.pause("sales", "PJSIP/1001", true, "while cut")
	b.waitMember("sales", "PJSIP/1001", isPaused("while cut"))

	a.srv.DropConnections()
	a.add(member{Queue: "billing", Interface: "PJSIP/1002", Name: "Bob", Penalty: 2})
	b.waitMember("billing", "PJSIP/1002", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 2 })

	barrier(t, b, a, "PJSIP/9001")
	before["QueueAdd"]++ // the barrier
	if got := a.actions(); !maps.Equal(got, before) {
		t.Errorf("sop1's daemon acted on its own Asterisk after the reconnects: %v, was %v", got, before)
	}
	eventually(t, "sop1's daemon reconnected", func() bool { return a.srv.Connections() >= 2 })
}

// An Asterisk restart without persistence on one node is repaired from that
// node's journal; the peer is untouched (the loss is not propagated).
func TestRestartRestoresLocallyPeerUntouched(t *testing.T) {
	a, b := pair(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 4, Paused: true, Reason: "training"})
	a.add(member{Queue: "billing", Interface: "PJSIP/1002", Name: "Bob"})
	b.waitMember("sales", "PJSIP/1001", isPaused("training"))
	b.waitMember("billing", "PJSIP/1002", present)
	a.penalty("billing", "PJSIP/1002", 6) // after the add: astdb would not keep it
	b.waitMember("billing", "PJSIP/1002", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 6 })
	seqB, actsB := b.maxSeq(), b.actions()

	a.srv.Restart(false)
	a.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool {
		return m != nil && m.Paused && m.PausedReason == "training" && m.Penalty == 4
	})
	a.waitMember("billing", "PJSIP/1002", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 6 })

	barrier(t, a, b, "PJSIP/9001")
	actsB["QueueAdd"]++
	if got := b.actions(); !maps.Equal(got, actsB) {
		t.Errorf("sop2's daemon acted after sop1's restart: %v, was %v", got, actsB)
	}
	if b.maxSeq() != seqB+1 { // the barrier only
		t.Errorf("sop2 journalled %d changes after sop1's restart, want 1 (the barrier)", b.maxSeq()-seqB)
	}
	if b.live("sales", "PJSIP/1001") == nil || b.live("billing", "PJSIP/1002") == nil {
		t.Error("the restart's loss reached sop2")
	}
	if en, _ := a.entry("billing", "PJSIP/1002"); !en.Present || en.Origin != "sop1" {
		t.Errorf("sop1 journal %+v", en.Register)
	}
}

// Changes made while the peer's daemon is down are kept and delivered when
// it returns; so are the changes the peer's Asterisk saw while its own
// daemon was down.
func TestPeerDownBacklogDelivered(t *testing.T) {
	a, b := pair(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	b.waitMember("sales", "PJSIP/1001", present)

	b.halt()
	a.add(member{Queue: "sales", Interface: "PJSIP/1002", Name: "Bob", Penalty: 1})
	a.pause("sales", "PJSIP/1001", true, "while sop2 was down")
	a.add(member{Queue: "billing", Interface: "PJSIP/1003", Name: "Carol"})
	b.add(member{Queue: "support", Interface: "PJSIP/2001", Name: "Dave"}) // no daemon on sop2 sees it
	eventually(t, "sop1 journalled its changes", func() bool {
		en, ok := a.entry("billing", "PJSIP/1003")
		return ok && en.Present
	})
	if b.live("sales", "PJSIP/1002") != nil {
		t.Fatal("a change reached sop2 with its daemon down")
	}
	eventually(t, "sop1 notes sop2 unreachable", func() bool {
		ps, err := a.store.Peers(ctxFor(t))
		return err == nil && len(ps) == 1 && ps[0].LastError != ""
	})

	b.start()
	b.waitMember("sales", "PJSIP/1002", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 1 })
	b.waitMember("sales", "PJSIP/1001", isPaused("while sop2 was down"))
	b.waitMember("billing", "PJSIP/1003", present)
	a.waitMember("support", "PJSIP/2001", present)
	eventually(t, "sop1's backlog for sop2 is acknowledged", func() bool {
		ps, err := a.store.Peers(ctxFor(t))
		return err == nil && len(ps) == 1 && ps[0].Backlog == 0 && ps[0].LastError == ""
	})
	for _, q := range []string{"sales", "billing", "support"} {
		waitSame(t, a, b, q)
	}
}

// Conflicting changes made during a partition (sop2's daemon down, its
// Asterisk changed by hand) converge on the last writer when it returns: an
// older change is answered stale and the newer one applied on both.
func TestPartitionConflictLastWriterWins(t *testing.T) {
	a, b := pair(t)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.add(member{Queue: "sales", Interface: "PJSIP/1002", Name: "Bob"})
	b.waitMember("sales", "PJSIP/1002", present)

	b.halt()
	a.penalty("sales", "PJSIP/1001", 3) // older
	a.penalty("sales", "PJSIP/1002", 4) // older
	eventually(t, "sop1 journalled its changes", func() bool {
		en, _ := a.entry("sales", "PJSIP/1002")
		return en.Penalty == 4
	})
	b.penalty("sales", "PJSIP/1001", 8) // newer, no daemon sees it yet
	b.remove("sales", "PJSIP/1002")     // newer removal
	b.start()

	a.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 8 })
	a.waitMember("sales", "PJSIP/1002", absent)
	waitSame(t, a, b, "sales")
	barrier(t, a, b, "PJSIP/9001")
	if m := b.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 8 {
		t.Errorf("sop2 member %+v, want its own later penalty", m)
	}
	if b.live("sales", "PJSIP/1002") != nil {
		t.Error("sop2's removal was undone by sop1's older change")
	}
}

// The least-privilege AMI user (read = agent, write = agent: no CoreStatus)
// is enough for the daemon: replication and restart repair work.
func TestLeastPrivilegeDaemons(t *testing.T) {
	a, b := pairAs(t, "queuesync-min")
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
	b.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 2 })
	b.pause("sales", "PJSIP/1001", true, "least privilege")
	a.waitMember("sales", "PJSIP/1001", isPaused("least privilege"))

	a.srv.Restart(false)
	a.waitMember("sales", "PJSIP/1001", isPaused("least privilege"))
	barrier(t, a, b, "PJSIP/9001")
	if b.live("sales", "PJSIP/1001") == nil {
		t.Error("sop1's restart removed the member on sop2")
	}
	if en, _ := b.entry("sales", "PJSIP/1001"); !en.Present {
		t.Errorf("sop2 journal %+v", en.Register)
	}
}

// An Asterisk restart while the daemon is reading a member it got an event
// for: the member's absence is the restart's doing and must be restored, not
// journalled as a removal that the peer would apply. With the least
// privilege user the engine cannot read Asterisk's start: the daemon must
// notice the new connection itself.
func TestRestartDuringCaptureNotPropagated(t *testing.T) {
	for _, user := range []string{daemonUser, "queuesync-min"} {
		t.Run(user, func(t *testing.T) {
			a, b := pairAs(t, user)
			a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})
			b.waitMember("sales", "PJSIP/1001", present)

			// An event arrives; the daemon's reads for it block...
			a.srv.SetStall(true)
			a.srv.Inject(ami.Header{Key: "Event", Value: "QueueMemberPause"}, ami.Header{Key: "Privilege", Value: "agent,all"},
				ami.Header{Key: "Queue", Value: "sales"}, ami.Header{Key: "MemberName", Value: "Alice"},
				ami.Header{Key: "Interface", Value: "PJSIP/1001"}, ami.Header{Key: "StateInterface", Value: "PJSIP/1001"},
				ami.Header{Key: "Membership", Value: "dynamic"}, ami.Header{Key: "Penalty", Value: "2"},
				ami.Header{Key: "Paused", Value: "0"}, ami.Header{Key: "PausedReason", Value: ""},
				ami.Header{Key: "Ringinuse", Value: "1"})
			eventually(t, "the daemon waits for an answer", func() bool { return a.srv.Held() >= 1 })
			// ...Asterisk restarts without persistence, and the reads resume
			// on a new connection.
			a.srv.Restart(false)
			eventually(t, "the daemon redials", func() bool { return a.srv.Held() >= 2 })
			a.srv.SetStall(false)

			a.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 2 })
			barrier(t, a, b, "PJSIP/9001")
			if b.live("sales", "PJSIP/1001") == nil {
				t.Error("sop1's restart removed the member on sop2")
			}
			for _, n := range []*node{a, b} {
				if en, _ := n.entry("sales", "PJSIP/1001"); !en.Present {
					t.Errorf("%s journal %+v: the restart's loss was journalled", n.name, en.Register)
				}
			}
		})
	}
}

// Asterisk sends FullyBooted at login when it has booted already: the
// connect reconcile, which read after it, is not followed by another. A
// FullyBooted that comes later (Asterisk finished booting after the
// daemon connected) is followed by a full reconcile.
func TestFullyBootedAtLoginNeedsNoSecondReconcile(t *testing.T) {
	a, _ := pair(t)
	eventually(t, "sop1 reconciled at connect", func() bool {
		return a.logs.Lines(`msg="reconciled live state"`, "why=connect") == 1
	})
	time.Sleep(300 * time.Millisecond) // several health intervals: any second reconcile would be done
	if n := a.logs.Lines(`msg="reconciled live state"`, "why=FullyBooted"); n != 0 {
		t.Fatalf("%d full reconciles for the FullyBooted of the login, want none:\n%s", n, a.logs.String())
	}
	a.srv.Inject(ami.Header{Key: "Event", Value: "FullyBooted"}, ami.Header{Key: "Privilege", Value: "system,all"},
		ami.Header{Key: "Uptime", Value: "3"}, ami.Header{Key: "LastReload", Value: "3"}, ami.Header{Key: "Status", Value: "Fully Booted"})
	eventually(t, "sop1 reconciled after a later FullyBooted", func() bool {
		return a.logs.Lines(`msg="reconciled live state"`, "why=FullyBooted") == 1
	})
}
