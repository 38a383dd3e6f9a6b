package store

import (
	"testing"

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
