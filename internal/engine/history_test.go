package engine_test

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// historyOf renders the history of Alice in sales as "source result field:old>new ...".
func historyOf(t *testing.T, n *node) []string {
	t.Helper()
	hs, err := n.store.History(ctxFor(t), store.HistoryQuery{Queue: "sales", Interface: "PJSIP/1001"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		line := h.Source + " " + h.Result + " " + h.New.Origin
		for _, f := range h.Fields() {
			line += " " + f.Field + ":" + f.Local + ">" + f.Peer
		}
		out = append(out, line)
	}
	return out
}

// Every step of the engine records its source: a change seen in an AMI
// event, a change found by a reconcile, a peer's change applied here, and
// a restore after Asterisk lost the member.
func TestHistoryRecordsTheSourceOfEachChange(t *testing.T) {
	clk := &manualClock{t: base}
	a := newNode(t, "sop1", clk)
	a.reconcile()
	clk.Advance(time.Second)
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.capture(engine.Member{Queue: "sales", Interface: "PJSIP/1001"})
	clk.Advance(time.Second)
	a.pause("sales", "PJSIP/1001", true, "lunch")
	a.reconcile()
	clk.Advance(time.Second)
	reg := a.mustEntry("sales", "PJSIP/1001").Register
	reg.Paused, reg.PausedReason = false, ""
	reg.Stamp, reg.Origin = state.Stamp{Wall: clk.Now().UnixMilli()}, "sop2"
	a.apply("sop2", reg)
	clk.Advance(10 * time.Second)
	a.restart(false)
	a.reconcile()

	got := historyOf(t, a)
	want := []string{
		"ami journalled sop1 present:->yes name:->Alice state-interface:->PJSIP/1001 membership:->dynamic penalty:->0 paused:->no",
		"resync journalled sop1 paused:no>yes reason:->lunch",
		"peer:sop2 applied sop2 paused:yes>no reason:lunch>-",
		"restore applied sop2 present:no>yes name:->Alice state-interface:->PJSIP/1001 membership:->dynamic penalty:->0 paused:->no",
	}
	if len(got) != len(want) {
		t.Fatalf("history:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("history[%d] = %q\nwant          %q", i, got[i], want[i])
		}
	}
}
