package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// varied returns registers of distinct keys with every kind of value the
// journal keeps: tombstones, Latin-1 bytes, unknown and known ringinuse
// and wrap-up, static and dynamic members, ties broken by origin.
func varied(n int, wall int64) []state.Register {
	regs := make([]state.Register, n)
	for i := range regs {
		on := (int64(i)+wall)%2 == 0
		r := reg(fmt.Sprintf("Queue%02d", i%7), fmt.Sprintf("PJSIP/%04d", i), wall+int64(i%3), uint32(i%2), []string{"sop1", "sop2", "Sop1"}[i%3])
		switch i % 5 {
		case 0:
			r.Present = false
		case 1:
			r.MemberName, r.Paused, r.PausedReason = "Jos\xe9", true, "caf\xe9"
			r.Ringinuse = &on
		case 2:
			w := i
			r.Wrapuptime, r.Membership, r.StateInterface = &w, state.Static, "Custom:"+r.Interface
		}
		r.Penalty = int(wall % 4)
		regs[i] = r
	}
	return regs
}

// TestPutSetAgreesWithPutBatch writes the same rounds of registers through
// the set statement and through one statement per register, on two
// journals: results, rows and history must be the same, settles included.
func TestPutSetAgreesWithPutBatch(t *testing.T) {
	set, batch := openStore(t), openStore(t)
	ctx := t.Context()
	rounds := []struct {
		regs []state.Register
		o    PutOptions
	}{
		{varied(40, 100), PutOptions{Source: SourceAMI}},
		{varied(60, 101), PutOptions{Source: PeerSource("sop2"), Pending: true, Via: "sop2"}}, // 40 updates, 20 new
		{varied(60, 99), PutOptions{Source: SourceResync}},                                    // all lose
		{varied(30, 102), PutOptions{Pending: true}},                                          // no history
	}
	for n, rd := range rounds {
		a, err := set.putSet(ctx, rd.regs, rd.o)
		if err != nil {
			t.Fatalf("round %d: set: %v", n, err)
		}
		b, err := batch.putBatch(ctx, rd.regs, rd.o)
		if err != nil {
			t.Fatalf("round %d: batch: %v", n, err)
		}
		for i := range a {
			if a[i].Stored != b[i].Stored {
				t.Fatalf("round %d register %d: stored %v by the set, %v one by one", n, i, a[i].Stored, b[i].Stored)
			}
		}
		if n == 1 {
			settled := rd.regs[:25]
			if err := set.SettleMany(ctx, settled); err != nil {
				t.Fatal(err)
			}
			for _, r := range settled {
				if err := batch.Settle(ctx, r.Key(), r.Version()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ea, err := set.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := batch.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ea) != 60 || len(ea) != len(eb) {
		t.Fatalf("journals hold %d and %d entries, want 60", len(ea), len(eb))
	}
	for i := range ea {
		if x, y := comparable(ea[i]), comparable(eb[i]); !reflect.DeepEqual(x, y) {
			t.Errorf("entry %d: set %+v\none by one %+v", i, x, y)
		}
	}
	ha, _ := set.History(ctx, HistoryQuery{})
	hb, _ := batch.History(ctx, HistoryQuery{})
	if len(ha) != 100 || len(ha) != len(hb) {
		t.Fatalf("histories hold %d and %d records, want 100", len(ha), len(hb))
	}
	byKey := func(hs []HistoryEntry) map[string]HistoryEntry {
		m := map[string]HistoryEntry{}
		for _, h := range hs {
			h.ID, h.Recorded = 0, time.Time{}
			m[fmt.Sprint(h.New.Key(), h.New.Version())] = h
		}
		return m
	}
	if ma, mb := byKey(ha), byKey(hb); !reflect.DeepEqual(ma, mb) {
		for k := range ma {
			if !reflect.DeepEqual(ma[k], mb[k]) {
				t.Errorf("history of %s: set %+v old %+v\none by one %+v old %+v", k, ma[k], ma[k].Old, mb[k], mb[k].Old)
			}
		}
	}
}

// comparable is an entry without what differs between two journals (its
// sequence number and times).
func comparable(e Entry) Entry {
	e.Seq, e.Updated, e.Acted = 0, time.Time{}, time.Time{}
	return e
}

// TestPutManyDuplicateKeys: a batch naming a key twice is applied in order,
// the later register stored only if newer.
func TestPutManyDuplicateKeys(t *testing.T) {
	s, ctx := parallelStore(t)
	older, newer := reg("sales", "PJSIP/1", 10, 0, "sop1"), reg("Sales", "pjsip/1", 20, 0, "sop1")
	res, err := s.PutMany(ctx, []state.Register{newer, older, reg("sales", "PJSIP/2", 5, 0, "sop1")}, PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Stored || res[1].Stored || !res[2].Stored || res[1].Current.Stamp.Wall != 20 {
		t.Fatalf("results %+v", res)
	}
}
