package store

import (
	"encoding/json"
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

// The statements over arrays must stay linear in a chunk whatever the
// statistics say. On a journal whose statistics say no row is pending (the
// normal case: rows are pending only between a write and its settle), a
// chunk of 250 pending writes replacing existing rows, with history, then
// their settle: no CTE or unnested array may be scanned once per row of
// another (a nested loop with it on the inner side), as the planner did
// when it expected one row where there were 250.
func TestSetStatementsStayLinear(t *testing.T) {
	s, ctx := parallelStore(t)
	if _, err := s.PutMany(ctx, benchRegs(5000, 1), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	o := PutOptions{Pending: true, Via: "sop2", Source: PeerSource("sop2")}
	// The statements run prepared and cached: custom plans for the
	// arrays they are given first, then PostgreSQL's generic plan.
	for i, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		explain := func(what, sql string, args ...any) {
			t.Helper()
			var plan string
			if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
				t.Fatalf("%s, %s: %v", what, mode, err)
			}
			if n := rescanned(t, plan); n != "" {
				t.Fatalf("%s, %s: scans %s once per row of another:\n%s", what, mode, n, plan)
			}
		}
		chunk := benchRegs(250, int64(2+i))
		explain("put", putSetSQL, s.putSetArgs(chunk, o)...)
		explain("settle", settleSetSQL, append([]any{s.class}, settleSetArgs(chunk)...)...)
	}
	if pending, err := s.ListPending(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("after the settles: %d pending, %v", len(pending), err)
	}
	hs, err := s.History(ctx, HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, h := range hs {
		if h.Result == ResultApplied && h.Old != nil && h.Old.Stamp.Wall == h.New.Stamp.Wall-1 {
			applied++
		}
	}
	if applied != 500 {
		t.Fatalf("%d applied history records with the row they replaced, want 500", applied)
	}
}

// rescanned returns the name of a CTE or function scanned more than once
// in an analyzed JSON plan, or "".
func rescanned(t *testing.T, plan string) string {
	t.Helper()
	type node struct {
		Type  string  `json:"Node Type"`
		CTE   string  `json:"CTE Name"`
		Alias string  `json:"Alias"`
		Loops float64 `json:"Actual Loops"`
		Plans []node  `json:"Plans"`
	}
	var top []struct{ Plan node }
	if err := json.Unmarshal([]byte(plan), &top); err != nil {
		t.Fatal(err)
	}
	var walk func(n node) string
	walk = func(n node) string {
		if (n.Type == "CTE Scan" || n.Type == "Function Scan") && n.Loops > 1 {
			return n.Type + " " + n.Alias
		}
		for _, c := range n.Plans {
			if r := walk(c); r != "" {
				return r
			}
		}
		return ""
	}
	if len(top) != 1 {
		t.Fatalf("plan: %s", plan)
	}
	return walk(top[0].Plan)
}
