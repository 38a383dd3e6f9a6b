package store

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
)

func TestPutNewerOlderEqual(t *testing.T) {
	s, ctx := parallelStore(t)

	ok, e := mustPut(t, s, reg("Support", "PJSIP/1001", 100, 0, "sop1"), PutOptions{})
	if !ok || e.Seq == 0 || e.Updated.IsZero() {
		t.Fatalf("first Put = %v, %+v; want stored with seq and time", ok, e)
	}
	first := e.Seq

	tests := []struct {
		name   string
		r      state.Register
		stored bool
		want   string // member name of the entry returned
	}{
		{"older wall", reg("support", "pjsip/1001", 99, 5, "sop9"), false, "100.0@sop1"},
		{"equal", reg("SUPPORT", "PJSIP/1001", 100, 0, "sop1"), false, "100.0@sop1"},
		{"newer logical", reg("support", "PJSIP/1001", 100, 1, "sop2"), true, "100.1@sop2"},
		{"older logical", reg("support", "PJSIP/1001", 100, 0, "sop3"), false, "100.1@sop2"},
		{"newer wall", reg("support", "PJSIP/1001", 101, 0, "a"), true, "101.0@a"},
	}
	for _, tt := range tests {
		ok, e := mustPut(t, s, tt.r, PutOptions{})
		if ok != tt.stored || e.MemberName != tt.want {
			t.Errorf("%s: Put = %v, %q; want %v, %q", tt.name, ok, e.MemberName, tt.stored, tt.want)
		}
	}
	got, found, err := s.Get(ctx, state.NewKey("SUPPORT", "pjsip/1001"))
	if err != nil || !found {
		t.Fatalf("Get = %v, %v", found, err)
	}
	if got.MemberName != "101.0@a" || got.Seq <= first {
		t.Errorf("Get = %q seq %d; want 101.0@a with seq > %d", got.MemberName, got.Seq, first)
	}
	if got.Queue != "support" || got.Interface != "PJSIP/1001" {
		t.Errorf("spelling = %q/%q; want the winner's support/PJSIP/1001", got.Queue, got.Interface)
	}
}

func TestPutRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	r := state.Register{
		Queue: "Sales", Interface: "SIP/Bob", Present: true, MemberName: "Bob",
		StateInterface: "Custom:bob", Penalty: 7, Paused: true, PausedReason: "lunch",
		Ringinuse: state.Bool(false), Membership: state.Static,
		Stamp: state.Stamp{Wall: 1764041230000, Logical: ^uint32(0)}, Origin: "sop1",
	}
	mustPut(t, s, r, PutOptions{Pending: true, Via: "sop2"})
	e, ok, err := s.Get(t.Context(), r.Key())
	if err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if e.Ringinuse == nil || *e.Ringinuse || !e.Pending || e.Via != "sop2" {
		t.Fatalf("Get = %+v; want ringinuse false, pending, via sop2", e)
	}
	e.Ringinuse, r.Ringinuse = nil, nil
	if e.Register != r {
		t.Errorf("round trip:\n got %+v\nwant %+v", e.Register, r)
	}
	if _, ok, _ := s.Get(t.Context(), state.NewKey("sales", "sip/alice")); ok {
		t.Error("Get of an absent key: ok = true")
	}
}

func TestPutRejectsEmptyKey(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if _, _, err := s.Put(t.Context(), reg("", "PJSIP/1", 1, 0, "a"), PutOptions{}); err == nil {
		t.Fatal("Put with empty queue: no error")
	}
}

// TestOriginTieBreakByteOrder: equal stamps are ordered by origin compared
// byte-wise (as state.Version.After does), whatever the database collation.
func TestOriginTieBreakByteOrder(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	// Give origin a linguistic collation, as a SOP's database may have, so
	// that only the COLLATE "C" of the upsert keeps byte order.
	_, err := s.DB().Exec(t.Context(), `ALTER TABLE attribute_state ALTER COLUMN origin TYPE text COLLATE "en-US-x-icu"`)
	if err != nil {
		t.Logf("no ICU collation (%v); testing under the database's default collation", err)
	} else {
		var linguistic bool
		if err := s.DB().QueryRow(t.Context(), `SELECT 'a' COLLATE "en-US-x-icu" < 'B' COLLATE "en-US-x-icu"`).Scan(&linguistic); err != nil || !linguistic {
			t.Fatalf("ICU collation does not order a before B: %v", err)
		}
	}
	pairs := [][2]string{ // [lower, higher] in byte order
		{"B", "a"},        // linguistic collations put a first
		{"sop10", "sop2"}, // no natural sort
		{"zeta", "éta"},   // UTF-8 bytes: 0xC3 > 'z'
		{"sop-2", "sop.2"},
	}
	for i, p := range pairs {
		lo, hi := reg("q", "PJSIP/"+string(rune('a'+i)), 500, 3, p[0]), reg("q", "PJSIP/"+string(rune('a'+i)), 500, 3, p[1])
		if !hi.Newer(lo) {
			t.Fatalf("state: %q should beat %q", p[1], p[0])
		}
		if ok, _ := mustPut(t, s, hi, PutOptions{}); !ok {
			t.Fatalf("%v: first Put not stored", p)
		}
		if ok, e := mustPut(t, s, lo, PutOptions{}); ok || e.Origin != p[1] {
			t.Errorf("Put origin %q over %q = %v (kept %q); want not stored", p[0], p[1], ok, e.Origin)
		}
	}
}

// TestConcurrentPutNeverRegresses: concurrent writers of one key leave the
// maximum version, whatever the interleaving.
func TestConcurrentPutNeverRegresses(t *testing.T) {
	s, ctx := parallelStore(t)
	origins := []string{"sop1", "sop2", "Sop3", "sop10"}
	var (
		mu   sync.Mutex
		best state.Register
		wg   sync.WaitGroup
		errs = make(chan error, 20)
	)
	for range 20 {
		wg.Go(func() {
			for range 25 {
				r := reg("Support", "PJSIP/1001", 1000+rand.Int64N(20), uint32(rand.IntN(3)), origins[rand.IntN(len(origins))])
				r.Penalty = rand.IntN(100)
				if _, _, err := s.Put(ctx, r, PutOptions{}); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if r.Newer(best) {
					best = r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e, ok, err := s.Get(ctx, best.Key())
	if err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if e.Version() != best.Version() || e.MemberName != best.MemberName {
		t.Fatalf("final version %s@%s, want the maximum %s@%s", e.Stamp, e.Origin, best.Stamp, best.Origin)
	}
}

func TestPutMany(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustPut(t, s, reg("q", "PJSIP/2", 50, 0, "sop1"), PutOptions{})
	regs := []state.Register{
		reg("q", "PJSIP/1", 10, 0, "sop2"), // new key
		reg("q", "PJSIP/2", 40, 0, "sop2"), // older than stored
		reg("q", "PJSIP/3", 10, 0, "sop2"),
		reg("q", "pjsip/3", 9, 0, "sop2"),  // same key, older: reports the entry current after the batch
		reg("Q", "PJSIP/3", 11, 0, "sop2"), // same key, newer
	}
	res, err := s.PutMany(t.Context(), regs, PutOptions{Via: "sop2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		stored bool
		name   string
	}{{true, "10.0@sop2"}, {false, "50.0@sop1"}, {true, "10.0@sop2"}, {false, "11.0@sop2"}, {true, "11.0@sop2"}}
	if len(res) != len(want) {
		t.Fatalf("PutMany returned %d results, want %d", len(res), len(want))
	}
	for i, w := range want {
		if res[i].Stored != w.stored || res[i].Current.MemberName != w.name || res[i].Current.Seq == 0 {
			t.Errorf("result %d = %v %q seq %d; want %v %q", i, res[i].Stored, res[i].Current.MemberName, res[i].Current.Seq, w.stored, w.name)
		}
	}
	if res[1].Current.Via != "" || res[0].Current.Via != "sop2" {
		t.Errorf("via = %q, %q; want \"\" for the kept local entry, sop2 for the stored one", res[1].Current.Via, res[0].Current.Via)
	}
}

func TestSettle(t *testing.T) {
	s, ctx := parallelStore(t)
	r := reg("q", "PJSIP/1", 10, 0, "sop1")
	_, e := mustPut(t, s, r, PutOptions{Pending: true})

	if err := s.Settle(ctx, r.Key(), state.Version{Stamp: state.Stamp{Wall: 9}, Origin: "sop1"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, r.Key()); !got.Pending {
		t.Fatal("Settle with another version cleared pending")
	}
	if err := s.Settle(ctx, r.Key(), r.Version()); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Get(ctx, r.Key())
	if got.Pending || got.Seq != e.Seq {
		t.Fatalf("after Settle: pending %v seq %d; want false, unchanged %d", got.Pending, got.Seq, e.Seq)
	}

	// A newer pending write is not settled by the old version.
	r2 := reg("q", "PJSIP/1", 11, 0, "sop2")
	mustPut(t, s, r2, PutOptions{Pending: true})
	if err := s.Settle(ctx, r.Key(), r.Version()); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, r.Key()); !got.Pending {
		t.Fatal("Settle of a superseded version cleared the newer one's pending flag")
	}
	pend, err := s.ListPending(ctx)
	if err != nil || len(pend) != 1 || pend[0].Origin != "sop2" {
		t.Fatalf("ListPending = %v, %v; want the sop2 entry", pend, err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, r := range []state.Register{
		reg("Sales", "PJSIP/2", 1, 0, "a"),
		reg("support", "PJSIP/9", 1, 0, "a"),
		reg("Support", "pjsip/10", 1, 0, "a"),
		reg("billing", "PJSIP/1", 1, 0, "a"),
	} {
		mustPut(t, s, r, PutOptions{})
	}
	tests := []struct {
		queues []string
		want   []string
	}{
		{nil, []string{"billing/pjsip/1", "sales/pjsip/2", "support/pjsip/10", "support/pjsip/9"}},
		{[]string{}, []string{"billing/pjsip/1", "sales/pjsip/2", "support/pjsip/10", "support/pjsip/9"}},
		{[]string{"SUPPORT", "sales"}, []string{"sales/pjsip/2", "support/pjsip/10", "support/pjsip/9"}},
		{[]string{"none"}, nil},
	}
	for _, tt := range tests {
		es, err := s.List(t.Context(), tt.queues)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Key().String())
		}
		if len(got) != len(tt.want) {
			t.Errorf("List(%v) = %v, want %v", tt.queues, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("List(%v) = %v, want %v", tt.queues, got, tt.want)
				break
			}
		}
	}
}

// One register that cannot be journalled (an interface that is not UTF-8)
// gets its error; the others of the batch are written.
func TestPutManyOneBadRegister(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	regs := []state.Register{
		reg("q", "PJSIP/1", 10, 0, "sop2"),
		reg("q", "PJSIP/\xe9", 10, 0, "sop2"),
		reg("q", "PJSIP/3", 10, 0, "sop2"),
	}
	res, err := s.PutMany(t.Context(), regs, PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || !res[0].Stored || !res[2].Stored || res[1].Stored || !errors.Is(res[1].Err, ErrInvalidRegister) {
		t.Fatalf("results %+v", res)
	}
	for _, iface := range []string{"PJSIP/1", "PJSIP/3"} {
		if _, ok, err := s.Get(t.Context(), state.NewKey("q", iface)); err != nil || !ok {
			t.Errorf("%s not journalled: %v", iface, err)
		}
	}
}

// GetMany reads many keys in one query, whatever their spelling; a key the
// journal lacks is absent. Acted says when a process last acted on the
// member: set by a settle and a restore, cleared by the next write.
func TestGetManyAndActed(t *testing.T) {
	s, ctx := parallelStore(t)
	a := reg("Sales", "PJSIP/1001", 100, 0, "sop2")
	b := reg("sales", "PJSIP/1002", 100, 0, "sop1")
	mustPut(t, s, a, PutOptions{Pending: true, Via: "sop2"})
	mustPut(t, s, b, PutOptions{})
	got, err := s.GetMany(ctx, []state.Key{state.NewKey("SALES", "pjsip/1001"), b.Key(), state.NewKey("sales", "PJSIP/9")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a.Key()].MemberName != a.MemberName || got[b.Key()].MemberName != b.MemberName {
		t.Fatalf("GetMany = %+v", got)
	}
	if !got[a.Key()].Acted.IsZero() || !got[b.Key()].Acted.IsZero() {
		t.Errorf("acted before anything was done: %+v", got)
	}
	if err := s.SettleMany(ctx, []state.Register{a}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordRestores(ctx, []Restore{{Register: b}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetMany(ctx, []state.Key{a.Key(), b.Key()})
	if err != nil {
		t.Fatal(err)
	}
	if got[a.Key()].Acted.IsZero() || got[b.Key()].Acted.IsZero() {
		t.Errorf("settle or restore not noted as acted: %+v", got)
	}
	mustPut(t, s, reg("sales", "PJSIP/1001", 101, 0, "sop1"), PutOptions{})
	if e, _, _ := s.Get(ctx, a.Key()); !e.Acted.IsZero() {
		t.Errorf("a new version keeps the old acted time %v", e.Acted)
	}
}
