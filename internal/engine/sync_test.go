package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

var alice = member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", StateInterface: "Custom:1001", Penalty: 3,
	Paused: true, Reason: "lunch: back at 2"}

// A member added, paused with a reason and given a penalty on one node only
// is created on the other by exactly one QueueAdd that carries it all
// (architecture.md §2 rule 1, 6), and nothing acts twice.
func TestPullAddsMemberWithOneQueueAdd(t *testing.T) {
	a, b, toA, _ := pair(t)
	a.clk.Advance(time.Second)
	a.add(alice)
	a.clk.Advance(time.Second)

	o := byKey(t, b.pull(toA), "sales", "PJSIP/1001")
	if o.Result != engine.Applied || o.Err != nil {
		t.Fatalf("outcome %s err %v", o.Result, o.Err)
	}
	calls := b.ami.Calls()
	if len(calls) != 1 || calls[0].Kind != "QueueAdd" {
		t.Fatalf("sop2 actions %v, want one QueueAdd", calls)
	}
	want := "name=Alice si=Custom:1001 penalty=3 paused=true reason=lunch: back at 2 wrapuptime=0"
	if calls[0].Detail != want || calls[0].Queue != "sales" || calls[0].Interface != "PJSIP/1001" {
		t.Errorf("QueueAdd %v, want %s", calls[0], want)
	}
	m := b.live("sales", "PJSIP/1001")
	if m == nil || !m.Paused || m.PausedReason != alice.Reason || m.Penalty != 3 || m.Name != "Alice" ||
		m.StateInterface != "Custom:1001" || m.Membership != "dynamic" {
		t.Fatalf("sop2 member %+v", m)
	}
	sameMembers(t, a, b, "sales")
	sameMembers(t, a, b, "support")

	ea, eb := a.mustEntry("sales", "PJSIP/1001"), b.mustEntry("sales", "pjsip/1001")
	if ea.Version() != eb.Version() || ea.Origin != "sop1" || eb.Via != "sop1" || eb.Pending {
		t.Errorf("journals: sop1 %+v, sop2 %+v", ea, eb)
	}
	if !ea.SameState(eb.Register) {
		t.Errorf("journalled states differ: %+v vs %+v", ea.Register, eb.Register)
	}

	// Level, not edge: running everything again finds nothing to do.
	a.clk.Advance(time.Second)
	if outs := changed(b.pull(toA)); len(outs) != 0 {
		t.Errorf("second pull: %s", describe(outs))
	}
	if outs := changed(a.reconcile()); len(outs) != 0 {
		t.Errorf("sop1 reconcile: %s", describe(outs))
	}
	if outs := changed(b.reconcile()); len(outs) != 0 {
		t.Errorf("sop2 reconcile: %s", describe(outs))
	}
	if calls := append(a.ami.Calls(), b.ami.Calls()...); len(calls) != 0 {
		t.Errorf("actions after the nodes agreed: %v", calls)
	}
}

// Conflicting changes made on both nodes end as the last writer's on both,
// whichever node syncs first (architecture.md §1).
func TestConflictLastWriterWins(t *testing.T) {
	a, b, toA, toB := pairSharing(t, member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1})

	a.clk.Advance(2 * time.Second)
	a.pause("sales", "PJSIP/1001", true, "coffee") // earlier
	a.clk.Advance(3 * time.Second)
	b.penalty("sales", "PJSIP/1001", 7) // later: wins
	a.clk.Advance(time.Second)

	// Neither node has journalled its change: the pull reconciles both
	// sides first, so that the changes compete.
	o := byKey(t, b.pull(toA), "sales", "PJSIP/1001")
	if o.Result != engine.Stale {
		t.Errorf("sop2 pull: %s, want stale: %s", o.Result, describe([]engine.Outcome{o}))
	}
	if calls := b.ami.Calls(); len(calls) != 0 {
		t.Errorf("sop2 acted on an older change: %v", calls)
	}
	o = byKey(t, a.pull(toB), "sales", "PJSIP/1001")
	if o.Result != engine.Applied {
		t.Errorf("sop1 pull: %s", describe([]engine.Outcome{o}))
	}
	if got := kinds(a.ami.Calls()); !slices.Equal(got, []string{"QueuePenalty", "QueuePause"}) {
		t.Errorf("sop1 actions %v, want penalty then unpause", got)
	}
	for _, n := range []*node{a, b} {
		m := n.live("sales", "PJSIP/1001")
		if m == nil || m.Paused || m.Penalty != 7 {
			t.Errorf("%s: member %+v, want unpaused with penalty 7", n.name, m)
		}
		if en := n.mustEntry("sales", "PJSIP/1001"); en.Origin != "sop2" || en.Penalty != 7 || en.Paused {
			t.Errorf("%s: journal %+v", n.name, en.Register)
		}
	}
}

// Equal stamps are ordered by origin: the greater node name wins on both.
func TestConflictTieBrokenByOrigin(t *testing.T) {
	a, b, toA, toB := pairSharing(t, member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.clk.Advance(time.Second)

	// Penalty changes carry no time of their own: both are stamped with
	// the same clock reading.
	a.penalty("sales", "PJSIP/1001", 4)
	b.penalty("sales", "PJSIP/1001", 9)
	a.reconcile()
	b.reconcile()
	ea, eb := a.mustEntry("sales", "PJSIP/1001"), b.mustEntry("sales", "PJSIP/1001")
	if ea.Stamp != eb.Stamp {
		t.Fatalf("stamps differ (%s, %s): the test needs a tie", ea.Stamp, eb.Stamp)
	}
	a.pull(toB)
	b.pull(toA)
	for _, n := range []*node{a, b} {
		if m := n.live("sales", "PJSIP/1001"); m == nil || m.Penalty != 9 {
			t.Errorf("%s: member %+v, want sop2's penalty 9", n.name, m)
		}
	}
}

// A removal (tombstone) beats an older "present": pushing the older present
// does not bring the member back; the pusher learns the removal and applies
// it.
func TestTombstoneBeatsOlderPresent(t *testing.T) {
	a, b, toA, toB := pairSharing(t, member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 2})

	a.clk.Advance(time.Second)
	a.penalty("sales", "PJSIP/1001", 5) // older change on sop1
	a.reconcile()
	a.clk.Advance(time.Second)
	b.remove("sales", "PJSIP/1001") // newer removal on sop2
	o := byKey(t, b.reconcile(), "sales", "PJSIP/1001")
	if o.Result != engine.Journalled || o.Winner == nil || o.Winner.Present {
		t.Fatalf("sop2 reconcile: %s", describe([]engine.Outcome{o}))
	}

	// sop1 pushes everything it has (no snapshot known).
	sess := a.begin(a.eng, nil)
	outs := a.run(sess, "push", func(ctx context.Context) ([]engine.Outcome, error) { return sess.Push(ctx, toB, nil) })
	o = byKey(t, outs, "sales", "PJSIP/1001")
	if o.Result != engine.Applied || o.Winner == nil || o.Winner.Present {
		t.Errorf("sop1 push: %s, want the tombstone applied here", describe(outs))
	}
	if calls := b.ami.Calls(); len(calls) != 0 {
		t.Errorf("sop2 re-added the removed member: %v", calls)
	}
	if got := kinds(a.ami.Calls()); !slices.Equal(got, []string{"QueueRemove"}) {
		t.Errorf("sop1 actions %v, want one QueueRemove", got)
	}
	for _, n := range []*node{a, b} {
		if m := n.live("sales", "PJSIP/1001"); m != nil {
			t.Errorf("%s still has the removed member: %+v", n.name, m)
		}
		if en := n.mustEntry("sales", "PJSIP/1001"); en.Present || en.Origin != "sop2" {
			t.Errorf("%s journal %+v, want sop2's tombstone", n.name, en.Register)
		}
	}
	if outs := append(changed(a.pull(toB)), changed(b.pull(toA))...); len(outs) != 0 {
		t.Errorf("pulls after agreement: %s", describe(outs))
	}
}

// A member re-added after its removal (a newer present) beats the
// tombstone.
func TestNewerPresentBeatsTombstone(t *testing.T) {
	a, b, toA, toB := pairSharing(t, member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice"})
	a.clk.Advance(time.Second)
	a.remove("sales", "PJSIP/1001")
	a.reconcile()
	a.clk.Advance(time.Second)
	b.pause("sales", "PJSIP/1001", true, "later change")
	b.reconcile()
	a.pull(toB)
	b.pull(toA)
	for _, n := range []*node{a, b} {
		if m := n.live("sales", "PJSIP/1001"); m == nil || !m.Paused || m.PausedReason != "later change" {
			t.Errorf("%s: member %+v, want the later pause", n.name, m)
		}
	}
}

// SyncPeer runs the daemon's full pull and push between two engines: each
// node's missed local change reaches the other, and a second run does
// nothing anywhere.
func TestSyncPeerRoundTrip(t *testing.T) {
	a, b, toA, toB := pair(t)
	a.clk.Advance(time.Second)
	a.add(alice)
	b.add(member{Queue: "billing", Interface: "Local/3001@agents", Name: "Bob", Penalty: 1})
	b.pause("support", "Local/2000@agents", true, "static pause") // a static member's pause syncs too
	a.clk.Advance(time.Second)

	outs, _, err := a.eng.SyncPeer(ctxFor(t), toB)
	if err != nil {
		t.Fatal(err)
	}
	if o := byKey(t, outs, "billing", "Local/3001@agents"); o.Result != engine.Applied {
		t.Errorf("billing member: %s", describe([]engine.Outcome{o}))
	}
	if o := byKey(t, outs, "sales", "PJSIP/1001"); o.Result != engine.Pushed {
		t.Errorf("sales member: %s", describe([]engine.Outcome{o}))
	}
	for _, q := range []string{"sales", "billing", "support"} {
		sameMembers(t, a, b, q)
	}
	if got := kinds(a.ami.Calls()); !sameSet(got, []string{"QueueAdd", "QueuePause"}) {
		t.Errorf("sop1 actions %v", got)
	}
	if got := kinds(b.ami.Calls()); !slices.Equal(got, []string{"QueueAdd"}) {
		t.Errorf("sop2 actions %v", got)
	}
	for _, e := range a.entries() {
		eb := b.mustEntry(e.Queue, e.Interface)
		if e.Version() != eb.Version() {
			t.Errorf("%s: sop1 %v, sop2 %v", e.Key(), e.Version(), eb.Version())
		}
	}

	// No echo: another round, both ways, changes nothing.
	a.clk.Advance(time.Second)
	for _, run := range []struct {
		n *node
		p engine.Peer
	}{{a, toB}, {b, toA}} {
		outs, _, err := run.n.eng.SyncPeer(ctxFor(t), run.p)
		if err != nil {
			t.Fatal(err)
		}
		if outs := changed(outs); len(outs) != 0 {
			t.Errorf("%s second sync: %s", run.n.name, describe(outs))
		}
	}
	if calls := append(a.ami.Calls(), b.ami.Calls()...); len(calls) != 0 {
		t.Errorf("actions after agreement: %v", calls)
	}
	if outs := append(changed(a.reconcile()), changed(b.reconcile())...); len(outs) != 0 {
		t.Errorf("reconcile after agreement: %s", describe(outs))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Registers of a queue the node does not define are skipped, not applied.
func TestApplyUndefinedQueueSkipped(t *testing.T) {
	a, _ := solo(t)
	r := state.Register{Queue: "nosuch", Interface: "PJSIP/1", Present: true, Membership: state.Dynamic,
		Stamp: state.Stamp{Wall: base.UnixMilli()}, Origin: "sop2"}
	o := byKey(t, a.apply("sop2", r), "nosuch", "PJSIP/1")
	if o.Result != engine.Skipped || o.Err == nil {
		t.Errorf("outcome %s err %v", o.Result, o.Err)
	}
	if _, ok := a.entry("nosuch", "PJSIP/1"); ok {
		t.Error("journalled a register of an undefined queue")
	}
}

// Two nodes running SyncPeer with each other at the same time (both
// daemons see the other return) neither deadlock nor disagree.
func TestConcurrentSyncPeer(t *testing.T) {
	a, b, toA, toB := pair(t)
	a.clk.Advance(time.Second)
	a.add(alice)
	b.add(member{Queue: "billing", Interface: "PJSIP/2002", Name: "Bob"})
	a.clk.Advance(time.Second)
	errs := make(chan error, 2)
	go func() { _, _, err := a.eng.SyncPeer(ctxFor(t), toB); errs <- err }()
	go func() { _, _, err := b.eng.SyncPeer(ctxFor(t), toA); errs <- err }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"sales", "billing", "support"} {
		sameMembers(t, a, b, q)
	}
	if got := append(kinds(a.ami.Calls()), kinds(b.ami.Calls())...); !sameSet(got, []string{"QueueAdd", "QueueAdd"}) {
		t.Errorf("actions %v, want one QueueAdd on each node", got)
	}
}

// A peer's state of more than a page is applied page by page as it comes:
// the first page's registers are journalled here before the peer is asked
// for the second, and every register ends journalled.
func TestSyncAppliesEachPageAsItComes(t *testing.T) {
	a, b, _, _ := pair(t)
	total := peer.StatePage + 5
	a.clk.Advance(time.Second)
	for i := range total {
		a.add(member{Queue: "sales", Interface: fmt.Sprintf("PJSIP/%05d", i)})
	}
	a.clk.Advance(time.Second)
	a.reconcile()

	var pagedAfterFirst atomic.Bool
	toA := linkWrapped(t, b, a, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") != "" {
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					if _, ok := b.entry("sales", "PJSIP/00000"); ok {
						pagedAfterFirst.Store(true)
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := ctxFor(t)
	pulls := engine.StartPulls(ctx, []engine.Peer{toA}, nil, false)
	sess := b.begin(b.eng, nil)
	res, err := sess.Sync(ctx, []engine.Peer{toA}, engine.Direction{Pull: true}, nil, pulls)
	sess.End()
	b.must("sync", err)
	if err := res.PeerErrors["sop1"]; err != nil {
		t.Fatal(err)
	}
	if !pagedAfterFirst.Load() {
		t.Error("the second page was asked for before the first was applied")
	}
	for i := range total {
		iface := fmt.Sprintf("PJSIP/%05d", i)
		if en, ok := b.entry("sales", iface); !ok || !en.Present || en.Pending || b.live("sales", iface) == nil {
			t.Fatalf("sop2 has not applied %s: %+v", iface, en)
		}
	}
}

// A resync compares digests first: nodes that agree read no state and push
// nothing; when one queue differs, only that queue's state is read and
// only its registers are pushed.
func TestSyncReadsOnlyTheQueuesWhoseDigestsDiffer(t *testing.T) {
	a, b, _, _ := pairSharing(t, alice)
	a.add(member{Queue: "support", Interface: "PJSIP/1002", Name: "Bob"})
	a.clk.Advance(time.Second)

	var mu sync.Mutex
	var asked []string
	toA := linkWrapped(t, b, a, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	sync := func() []engine.Outcome {
		ctx := ctxFor(t)
		mu.Lock()
		asked = nil
		mu.Unlock()
		pulls := engine.StartPulls(ctx, []engine.Peer{toA}, nil, false)
		sess := b.begin(b.eng, nil)
		defer sess.End()
		res, err := sess.Sync(ctx, []engine.Peer{toA}, engine.Direction{Pull: true, Push: true}, nil, pulls)
		b.must("sync", err)
		if err := res.PeerErrors["sop1"]; err != nil {
			t.Fatal(err)
		}
		return res.Outcomes
	}
	sync() // whatever each node holds alone is exchanged
	a.clk.Advance(time.Second)
	if outs := changed(sync()); len(outs) != 0 {
		t.Errorf("agreeing nodes: %s", describe(outs))
	}
	if want := []string{"GET /queue/v1/digest?reconcile=true"}; !slices.Equal(asked, want) {
		t.Errorf("agreeing nodes: requests %q, want %q", asked, want)
	}

	a.clk.Advance(time.Second)
	a.pause("support", "PJSIP/1002", true, "break") // only support differs
	a.clk.Advance(time.Second)
	outs := changed(sync())
	if len(outs) != 1 || outs[0].Queue != "support" || outs[0].Result != engine.Applied {
		t.Errorf("one queue differing: %s", describe(outs))
	}
	if want := []string{"GET /queue/v1/digest?reconcile=true", "GET /queue/v1/state?queue=support"}; !slices.Equal(asked, want) {
		t.Errorf("one queue differing: requests %q, want %q", asked, want)
	}
	if m := b.live("support", "PJSIP/1002"); m == nil || !m.Paused {
		t.Errorf("sop2's bob: %+v", m)
	}
}

// SyncPeer compares digests first too: with nodes that agree it reads no
// state; with one queue differing, that queue's only.
func TestSyncPeerReadsOnlyDifferingQueues(t *testing.T) {
	a, b, toA, _ := pairSharing(t, alice)
	a.reconcile()
	if _, _, err := b.eng.SyncPeer(ctxFor(t), toA); err != nil { // whatever each holds alone
		t.Fatal(err)
	}
	var mu sync.Mutex
	var states []string
	recorded := linkWrapped(t, b, a, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/queue/v1/state" {
				mu.Lock()
				states = append(states, r.URL.RawQuery)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	a.clk.Advance(time.Second)
	outs, _, err := b.eng.SyncPeer(ctxFor(t), recorded)
	if err != nil || len(changed(outs)) != 0 || len(states) != 0 {
		t.Fatalf("agreeing nodes: %s, %v; state reads %q", describe(changed(outs)), err, states)
	}
	a.pause("sales", "PJSIP/1001", false, "")
	a.clk.Advance(time.Second)
	outs, _, err = b.eng.SyncPeer(ctxFor(t), recorded)
	if err != nil || !slices.Equal(states, []string{"queue=sales"}) {
		t.Fatalf("sales differing: %v; state reads %q", err, states)
	}
	if o := byKey(t, outs, "sales", "PJSIP/1001"); o.Result != engine.Applied {
		t.Errorf("sales member: %s", describe([]engine.Outcome{o}))
	}
}
