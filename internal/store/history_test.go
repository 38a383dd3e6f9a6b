package store

import (
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// TestHistoryFollowsTheJournal checks that a write with a source is
// recorded with the exact value it replaced, that a losing write records
// nothing, that settling marks the record applied, that a write
// without a source records nothing, and that a pending record a later
// recorded write replaced reads as superseded.
func TestHistoryFollowsTheJournal(t *testing.T) {
	s, ctx := parallelStore(t)
	r1 := state.Register{Queue: "Sales", Interface: "PJSIP/1001", Present: true, MemberName: "Jos\xe9",
		Membership: state.Dynamic, Stamp: state.Stamp{Wall: 1000}, Origin: "sop1"}
	mustPut(t, s, r1, PutOptions{Source: SourceAMI})
	r2 := r1
	r2.Paused, r2.PausedReason, r2.Stamp, r2.Origin = true, "lunch", state.Stamp{Wall: 2000}, "sop2"
	if _, err := s.PutMany(ctx, []state.Register{r2}, PutOptions{Source: PeerSource("sop2"), Pending: true, Via: "sop2"}); err != nil {
		t.Fatal(err)
	}
	stale := r1
	stale.Stamp = state.Stamp{Wall: 1500}
	if ok, _ := mustPut(t, s, stale, PutOptions{Source: SourceResync}); ok {
		t.Fatal("an older register was stored")
	}
	quiet := r2
	quiet.Stamp = state.Stamp{Wall: 2500}
	mustPut(t, s, quiet, PutOptions{}) // no source: no history
	hs, err := s.History(ctx, HistoryQuery{Queue: "sales", Interface: "pjsip/1001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 {
		t.Fatalf("history has %d entries, want 2: %+v", len(hs), hs)
	}
	if h := hs[0]; h.Source != "ami" || h.Result != ResultJournalled || h.Old != nil || h.New.MemberName != "Jos\xe9" {
		t.Errorf("first entry = %+v", h)
	}
	h := hs[1]
	if h.Source != "peer:sop2" || h.Result != ResultPending || h.Old == nil || h.Old.Paused || h.Old.MemberName != "Jos\xe9" || h.New.Origin != "sop2" {
		t.Errorf("second entry = %+v old %+v", h, h.Old)
	}
	fields := h.Fields()
	if len(fields) != 2 || fields[0].Field != "paused" || fields[1].Field != "reason" || fields[1].Peer != "lunch" {
		t.Errorf("second entry's fields = %+v, want paused and reason", fields)
	}
	if err := s.SettleMany(ctx, []state.Register{r2}); err != nil {
		t.Fatal(err)
	}
	// quiet replaced r2 before the settle: r2's record stays pending.
	hs, _ = s.History(ctx, HistoryQuery{})
	if hs[1].Result != ResultPending {
		t.Errorf("record of a replaced version = %s, want pending", hs[1].Result)
	}
	r3 := quiet
	r3.Stamp, r3.Penalty = state.Stamp{Wall: 3000}, 2
	mustPut(t, s, r3, PutOptions{Source: PeerSource("sop2"), Pending: true})
	if err := s.SettleMany(ctx, []state.Register{r3}); err != nil {
		t.Fatal(err)
	}
	hs, _ = s.History(ctx, HistoryQuery{Limit: 1})
	if len(hs) != 1 || hs[0].Result != ResultApplied || hs[0].New.Penalty != 2 {
		t.Errorf("last entry after settle = %+v", hs)
	}
	// A later recorded write of the member: r2's actions are no longer
	// under way.
	hs, _ = s.History(ctx, HistoryQuery{Queue: "sales", Interface: "pjsip/1001"})
	if len(hs) != 3 || hs[1].Result != ResultSuperseded || hs[2].Result != ResultApplied {
		t.Errorf("history after a later write = %+v", hs)
	}
}

func TestHistoryRestoresAndCollection(t *testing.T) {
	s, ctx := parallelStore(t)
	reg := state.Register{Queue: "support", Interface: "Local/1@agents", Present: true, MemberName: "Ann",
		Paused: true, PausedReason: "lunch", Membership: state.Dynamic, Stamp: state.Stamp{Wall: 5000}, Origin: "sop2"}
	if err := s.RecordRestores(ctx, []Restore{{Register: reg}}); err != nil {
		t.Fatal(err)
	}
	live := reg
	live.Paused, live.PausedReason = false, ""
	if err := s.RecordRestores(ctx, []Restore{{Live: &live, Register: reg}}); err != nil {
		t.Fatal(err)
	}
	hs, err := s.History(ctx, HistoryQuery{Queue: "SUPPORT"})
	if err != nil || len(hs) != 2 {
		t.Fatalf("History = %d entries, %v", len(hs), err)
	}
	if f := hs[0].Fields(); hs[0].Source != SourceRestore || f[0].Field != "present" || f[0].Local != "no" {
		t.Errorf("restore of a lost member = %s %+v", hs[0].Source, f)
	}
	if f := hs[1].Fields(); len(f) != 2 || f[0].Field != "paused" || hs[1].Result != ResultApplied {
		t.Errorf("restore of a pause = %+v", f)
	}
	if n, err := s.CollectHistory(ctx, time.Now().Add(-time.Hour), 1); err != nil || n != 1 {
		t.Fatalf("CollectHistory(cap 1) = %d, %v; want 1", n, err)
	}
	if n, err := s.CollectHistory(ctx, time.Now().Add(time.Hour), 0); err != nil || n != 1 {
		t.Fatalf("CollectHistory(all old) = %d, %v; want 1", n, err)
	}
}

// TestLastChanges: the last recorded change of every member, whatever
// came before it, and none for a member written without a source.
func TestLastChanges(t *testing.T) {
	s, ctx := parallelStore(t)
	for wall := int64(1); wall <= 3; wall++ {
		regs := benchRegs(20, wall)
		for i := range regs {
			regs[i].Penalty = int(wall)
		}
		if _, err := s.PutMany(ctx, regs, PutOptions{Source: SourceAMI}); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, reg("quiet", "PJSIP/9", 1, 0, "sop1"), PutOptions{})
	older := reg("queue000", "PJSIP/00000", 2, 0, "sop2") // loses: no record
	if ok, _ := mustPut(t, s, older, PutOptions{Source: PeerSource("sop2")}); ok {
		t.Fatal("an older register was stored")
	}
	hs, err := s.LastChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 20 {
		t.Fatalf("%d last changes, want one per member written with a source (20)", len(hs))
	}
	for i, h := range hs {
		if h.New.Penalty != 3 || h.Old == nil || h.Old.Penalty != 2 || h.Source != SourceAMI {
			t.Errorf("last change %d: %+v old %+v, want the third write", i, h.New, h.Old)
		}
		if i > 0 && hs[i-1].New.Key().Queue > h.New.Key().Queue {
			t.Errorf("not in key order at %d", i)
		}
	}
}
