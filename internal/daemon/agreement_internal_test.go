package daemon

import (
	"slices"
	"testing"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/store"
)

func TestCompareDigests(t *testing.T) {
	local := []store.QueueDigest{{Queue: "sales", Digest: "a"}, {Queue: "support", Digest: "b"}, {Queue: "private", Digest: "c"}}
	remote := []peer.QueueDigest{{Queue: "sales", Digest: "a"}, {Queue: "support", Digest: "x"}, {Queue: "billing", Digest: "d"}}
	got := CompareDigests(local, remote, func(q string) bool { return q != "private" })
	want := map[string]bool{"sales": true, "support": false, "billing": false}
	if len(got) != len(want) {
		t.Fatalf("CompareDigests = %v, want %v", got, want)
	}
	for q, v := range want {
		if got[q] != v {
			t.Errorf("%s: in sync %v, want %v", q, got[q], v)
		}
	}
}

// A queue seen different once keeps its answer; seen different twice, it
// is out of sync; an unreachable peer leaves nothing in sync. Each change
// is announced once.
func TestAgreementRecord(t *testing.T) {
	a := &agreement{peers: map[string]*PeerAgreement{}, suspect: map[[2]string]bool{}}
	step := func(reachable bool, cmp map[string]bool) PeerAgreement {
		prev := PeerAgreement{Reachable: true, InSync: map[string]bool{}}
		if p := a.peers["sop2"]; p != nil {
			prev = *p
		}
		res := PeerAgreement{Peer: "sop2", Reachable: reachable, InSync: map[string]bool{}}
		a.recordOnly(res, cmp)
		cur := *a.peers["sop2"]
		var names []string
		for _, ev := range announcements("sop1", prev, cur) {
			names = append(names, ev.name)
		}
		t.Logf("%v -> %v %v", cmp, cur.InSync, names)
		cur.Reason = ""
		return cur
	}
	if s := step(true, map[string]bool{"sales": true}); !s.InSync["sales"] {
		t.Fatal("in sync at first")
	}
	if s := step(true, map[string]bool{"sales": false}); !s.InSync["sales"] {
		t.Fatal("one mismatch is not yet a drift")
	}
	prev := *a.peers["sop2"]
	s := step(true, map[string]bool{"sales": false})
	if s.InSync["sales"] {
		t.Fatal("two mismatches in a row are a drift")
	}
	if evs := announcements("sop1", prev, s); len(evs) != 1 || evs[0].name != UserEventDrift {
		t.Fatalf("announcements = %v, want one drift", evs)
	}
	prev = s
	s = step(true, map[string]bool{"sales": true})
	if evs := announcements("sop1", prev, s); !s.InSync["sales"] || len(evs) != 1 || evs[0].name != UserEventRepaired {
		t.Fatalf("repair: %v, %v", s.InSync, evs)
	}
	prev = s
	s = step(false, nil)
	var names []string
	for _, ev := range announcements("sop1", prev, s) {
		names = append(names, ev.name)
	}
	if s.InSync["sales"] || !slices.Equal(names, []string{UserEventPeerDown}) {
		t.Fatalf("unreachable: %v, %v", s.InSync, names)
	}
}
