package store

import (
	"slices"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// Two journals that hold the same versions have equal digests, whatever
// the order of their writes; a different version changes the digest.
func TestDigests(t *testing.T) {
	t.Parallel()
	a, b := openStore(t), openStore(t)
	ctx := t.Context()
	r1 := state.Register{Queue: "Sales", Interface: "PJSIP/1", Present: true, Stamp: state.Stamp{Wall: 10}, Origin: "sop1"}
	r2 := state.Register{Queue: "sales", Interface: "PJSIP/2", Present: false, Stamp: state.Stamp{Wall: 11}, Origin: "sop2"}
	r3 := state.Register{Queue: "support", Interface: "PJSIP/1", Present: true, Stamp: state.Stamp{Wall: 12}, Origin: "sop1"}
	mustPut(t, a, r1, PutOptions{})
	mustPut(t, a, r2, PutOptions{})
	mustPut(t, a, r3, PutOptions{})
	mustPut(t, b, r3, PutOptions{})
	mustPut(t, b, r2, PutOptions{})
	mustPut(t, b, r1, PutOptions{Via: "sop1"})
	da, err := a.Digests(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := b.Digests(ctx, nil)
	if len(da) != 2 || da[0] != db[0] || da[1] != db[1] || da[0].Queue != "sales" || da[0].Members != 1 {
		t.Fatalf("digests differ or are wrong:\n%+v\n%+v", da, db)
	}
	r1.Paused, r1.Stamp = true, state.Stamp{Wall: 20}
	mustPut(t, b, r1, PutOptions{})
	db, _ = b.Digests(ctx, []string{"SALES"})
	if len(db) != 1 || db[0].Digest == da[0].Digest {
		t.Fatalf("a newer version left the digest as it was: %+v", db)
	}
	if n, oldest, err := b.Undelivered(ctx, "sop1"); err != nil || n != 3 || oldest.IsZero() {
		t.Errorf("Undelivered(sop1) = %d, %v, %v; want 3 (r1 came from sop1 and was replaced by a local write)", n, oldest, err)
	}
}

// The whole journal's digests are reused until it changes: a write, or a
// tombstone collection, makes them computed again.
func TestDigestsCachedUntilTheJournalChanges(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	gone := state.Register{Queue: "sales", Interface: "PJSIP/9", Present: false, Stamp: state.Stamp{Wall: 1}, Origin: "sop1"}
	mustPut(t, s, gone, PutOptions{})
	first, err := s.Digests(ctx, nil)
	if err != nil || len(first) != 1 {
		t.Fatalf("Digests = %+v, %v", first, err)
	}
	// A row changed behind the store's back (no new sequence number) is
	// not seen while the cache holds: the digests are the cached ones.
	if _, err := s.db.Exec(ctx, `UPDATE attribute_state SET origin = 'sop9' WHERE class = $1`, s.class); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Digests(ctx, nil); again[0] != first[0] {
		t.Fatalf("digests computed again with no write: %+v, was %+v", again, first)
	}
	mustPut(t, s, state.Register{Queue: "sales", Interface: "PJSIP/1", Present: true, Stamp: state.Stamp{Wall: 2}, Origin: "sop1"}, PutOptions{})
	afterWrite, _ := s.Digests(ctx, nil)
	if afterWrite[0] == first[0] {
		t.Fatalf("a write left the digests as they were: %+v", afterWrite)
	}
	if n, err := s.CollectTombstones(ctx, time.UnixMilli(100)); err != nil || n != 1 {
		t.Fatalf("CollectTombstones = %d, %v", n, err)
	}
	if afterGC, _ := s.Digests(ctx, nil); afterGC[0] == afterWrite[0] {
		t.Fatalf("a tombstone collection left the digests as they were: %+v", afterGC)
	}
}

// Brought up to date from the queues written since, the whole journal's
// digests equal those computed from scratch, whatever queues the writes
// touched (new ones included).
func TestDigestsIncrementalEqualWhole(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	wall := int64(1)
	put := func(queue, iface string, present bool) {
		wall++
		mustPut(t, s, state.Register{Queue: queue, Interface: iface, Present: present,
			Stamp: state.Stamp{Wall: wall}, Origin: "sop1"}, PutOptions{})
	}
	for _, q := range []string{"billing", "sales", "support"} {
		put(q, "PJSIP/1", true)
		put(q, "PJSIP/2", true)
	}
	if _, err := s.Digests(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for round, w := range [][2]string{{"sales", "PJSIP/1"}, {"Accounts", "PJSIP/7"}, {"billing", "PJSIP/2"}, {"sales", "PJSIP/3"}} {
		put(w[0], w[1], round%2 == 0)
		got, err := s.Digests(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := s.digests(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(whole) {
			t.Fatalf("round %d: %d digests, want %d", round, len(got), len(whole))
		}
		for i := range whole {
			if got[i] != whole[i] {
				t.Errorf("round %d: %+v, want %+v", round, got[i], whole[i])
			}
		}
	}
}

// DigestOf, over the registers a journal holds, is the journal's Digests,
// for every kind of value (tombstones, mixed case, origins that differ in
// case only, non-ASCII interfaces).
func TestDigestOfIsTheJournalsDigest(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	regs := varied(60, 100)
	regs = append(regs, reg("Ventes", "SIP/Zoë", 5, 1, "sop1"), reg("ventes", "SIP/zo", 5, 2, "sop2"))
	if _, err := s.PutMany(ctx, regs, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	es, err := s.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var held []state.Register
	for _, e := range es {
		held = append(held, e.Register)
	}
	want, err := s.Digests(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := DigestOf(held); !slices.Equal(got, want) {
		t.Fatalf("DigestOf:\n%+v\njournal:\n%+v", got, want)
	}
}
