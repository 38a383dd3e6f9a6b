package engine_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// TestReaderStaysOffTheLivePath: a reader (the status page's, a peer's dry
// run) reads on its own manager session, one queue at a time, while a live
// session holds the engine's lock, and changes nothing; a change the live
// engine applies between the reader's journal and Asterisk reads shows as
// its new value, not as a difference to correct.
func TestReaderStaysOffTheLivePath(t *testing.T) {
	n, clk := solo(t)
	n.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	n.add(member{Queue: "support", Interface: "PJSIP/1002", Name: "Bob"})
	n.reconcile()
	clk.Advance(time.Second)
	n.pause("support", "PJSIP/1002", true, "lunch") // not yet journalled
	n.ami.Calls()
	rd := newRecAMI(n.srv, "queuesync")
	t.Cleanup(rd.close)
	reader := n.eng.Reader(rd)
	var reads atomic.Int32 // the reader's one-queue reads run at the same time
	rd.setRead(func(kind string) {
		if kind == "QueueStatus" {
			reads.Add(1)
		}
	})

	live := n.begin(n.eng, nil) // the live path's session: the lock held
	done := make(chan []state.Register, 1)
	go func() { done <- readAll(t, reader) }()
	var regs []state.Register
	select {
	case regs = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader waited for the live session's lock")
	}
	live.End()
	if queues := len(amitest.DefaultQueues()); int(reads.Load()) != 1+queues {
		t.Errorf("reader made %d QueueStatus reads, want 1 (the queues) + %d (one per queue)", reads.Load(), queues)
	}
	if r := find(t, regs, "PJSIP/1002"); !r.Paused || r.PausedReason != "lunch" {
		t.Errorf("reader shows Bob %+v, want paused for lunch as Asterisk has him", r)
	}
	if calls := append(n.ami.Calls(), rd.Calls()...); len(calls) != 0 {
		t.Errorf("a reader acted: %v", calls)
	}
	if en := n.mustEntry("support", "PJSIP/1002"); en.Paused {
		t.Error("a reader journalled Bob's pause")
	}

	// sop2 pauses Alice; the live engine applies it once the reader has
	// read Asterisk (its second reading of Asterisk's start time closes the
	// read). The reader shows her as it read her, and would not undo it.
	cores := 0
	rd.setRead(func(kind string) {
		if kind != "CoreStatus" {
			return
		}
		if cores++; cores == 2 {
			clk.Advance(time.Second)
			r := n.mustEntry("sales", "PJSIP/1001").Register
			r.Paused, r.PausedReason = true, "meeting"
			r.Stamp, r.Origin = n.clock.Now(), "sop2"
			if o := n.apply("sop2", r); o[0].Result != engine.Applied {
				t.Errorf("apply: %s", describe(o))
			}
		}
	})
	outs, regs := readAllWith(t, reader)
	if cores != 2 {
		t.Fatalf("the reader read Asterisk's start time %d times, want 2 (before and after its read)", cores)
	}
	if r := find(t, regs, "PJSIP/1001"); r.Paused {
		t.Errorf("reader shows Alice %+v, want her as Asterisk had her when read", r)
	}
	for _, o := range outs {
		if o.Interface == "PJSIP/1001" {
			t.Errorf("reader would undo sop2's pause applied meanwhile: %s", describe([]engine.Outcome{o}))
		}
	}
}

// readAll reconciles in a session of reader and returns its registers.
func readAll(t *testing.T, reader *engine.Engine) []state.Register {
	_, regs := readAllWith(t, reader)
	return regs
}

// readAllWith reconciles in a session of reader and returns the
// reconcile's outcomes and the session's registers.
func readAllWith(t *testing.T, reader *engine.Engine) ([]engine.Outcome, []state.Register) {
	sess, err := reader.Begin(ctxFor(t), nil)
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	defer sess.End()
	outs, err := sess.Reconcile(ctxFor(t))
	if err != nil {
		t.Error(err)
	}
	var regs []state.Register
	for _, en := range sess.Entries() {
		regs = append(regs, en.Register)
	}
	return outs, regs
}

func find(t *testing.T, regs []state.Register, iface string) state.Register {
	t.Helper()
	i := slices.IndexFunc(regs, func(r state.Register) bool { return r.Interface == iface })
	if i < 0 {
		t.Fatalf("no register of %s among %+v", iface, regs)
	}
	return regs[i]
}
