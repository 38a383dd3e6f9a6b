package store

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

func seqs(es []Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestSinceAckWatermark(t *testing.T) {
	s, ctx := parallelStore(t)

	_, a := mustPut(t, s, reg("q", "PJSIP/1", 10, 0, "sop1"), PutOptions{})
	mustPut(t, s, reg("q", "PJSIP/2", 10, 0, "sop2"), PutOptions{Via: "sop2"})
	_, c := mustPut(t, s, reg("q", "PJSIP/3", 10, 0, "sop3"), PutOptions{Via: "sop3"})

	if w, err := s.Watermark(ctx, "sop2"); err != nil || w != 0 {
		t.Fatalf("Watermark of unknown peer = %d, %v; want 0", w, err)
	}
	es, err := s.Since(ctx, "sop2", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(es); len(got) != 2 || got[0] != a.Seq || got[1] != c.Seq {
		t.Fatalf("Since(sop2, 0) = %v; want %d, %d (not the one via sop2)", got, a.Seq, c.Seq)
	}
	if es, _ := s.Since(ctx, "sop2", 0, 1); len(es) != 1 || es[0].Seq != a.Seq {
		t.Fatalf("Since with limit 1 = %v; want [%d]", seqs(es), a.Seq)
	}

	if err := s.Ack(ctx, "sop2", c.Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "sop2", a.Seq); err != nil { // late, smaller ack
		t.Fatal(err)
	}
	if w, _ := s.Watermark(ctx, "sop2"); w != c.Seq {
		t.Fatalf("Watermark = %d, want %d (never moves back)", w, c.Seq)
	}
	if es, _ := s.Since(ctx, "sop2", c.Seq, 0); len(es) != 0 {
		t.Fatalf("Since past watermark = %v; want none", seqs(es))
	}
	// An update of an acknowledged key takes a new sequence number.
	_, a2 := mustPut(t, s, reg("q", "PJSIP/1", 11, 0, "sop1"), PutOptions{})
	es, _ = s.Since(ctx, "sop2", c.Seq, 0)
	if len(es) != 1 || es[0].Seq != a2.Seq || a2.Seq <= c.Seq {
		t.Fatalf("Since after update = %v; want [%d] > %d", seqs(es), a2.Seq, c.Seq)
	}
	if m, err := s.MaxSeq(ctx); err != nil || m != a2.Seq {
		t.Fatalf("MaxSeq = %d, %v; want %d", m, err, a2.Seq)
	}
}

// TestSinceWaitsForWriter: Since does not read while a write is in flight,
// so a smaller sequence number can never be committed after a larger one
// was delivered.
func TestSinceWaitsForWriter(t *testing.T) {
	s, ctx := parallelStore(t)
	tx, err := s.DB().BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var seq int64
	if err := tx.QueryRow(ctx, putSQL, s.putArgs(reg("q", "PJSIP/1", 1, 0, "a"), PutOptions{})...).Scan(&seq, new(time.Time)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, reg("q", "PJSIP/2", 1, 0, "a"), PutOptions{}) // larger seq, committed

	done := make(chan []Entry)
	go func() {
		es, err := s.Since(ctx, "peer", 0, 0)
		if err != nil {
			t.Error(err)
		}
		done <- es
	}()
	select {
	case es := <-done:
		t.Fatalf("Since returned %v while seq %d was uncommitted", seqs(es), seq)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if es := <-done; len(es) != 2 || es[0].Seq != seq {
		t.Fatalf("Since = %v; want both, starting at %d", seqs(es), seq)
	}
}

func TestPeersBacklog(t *testing.T) {
	s, ctx := parallelStore(t)
	var last Entry
	for i, via := range []string{"", "", "sop2", "", "sop3"} {
		_, last = mustPut(t, s, reg("q", "PJSIP/"+string(rune('a'+i)), 10, 0, "x"), PutOptions{Via: via})
	}
	if err := s.Ack(ctx, "sop2", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "sop3", last.Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteFailure(ctx, "sop3", "dial tcp 10.0.0.3:8038: connection refused"); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteFailure(ctx, "sop4", "timeout"); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("Peers = %+v; want 3", ps)
	}
	want := []PeerStatus{
		{Peer: "sop2", Acked: 0, Backlog: 4},
		{Peer: "sop3", Acked: last.Seq, Backlog: 0, LastError: "dial tcp 10.0.0.3:8038: connection refused"},
		{Peer: "sop4", Acked: 0, Backlog: 5, LastError: "timeout"},
	}
	for i, w := range want {
		p := ps[i]
		if p.Peer != w.Peer || p.Acked != w.Acked || p.Backlog != w.Backlog || p.LastError != w.LastError {
			t.Errorf("Peers[%d] = %+v; want %+v", i, p, w)
		}
	}
	if ps[0].LastSync.IsZero() || !ps[2].LastSync.IsZero() {
		t.Errorf("LastSync = %v / %v; want set for acked sop2, zero for sop4", ps[0].LastSync, ps[2].LastSync)
	}
	if err := s.Ack(ctx, "sop3", last.Seq); err != nil {
		t.Fatal(err)
	}
	ps, _ = s.Peers(ctx)
	if ps[1].LastError != "" {
		t.Errorf("Ack did not clear last error: %q", ps[1].LastError)
	}
}

func TestCollectTombstones(t *testing.T) {
	s, ctx := parallelStore(t)
	now := time.UnixMilli(1764041230000)
	old, fresh, oldPending := reg("q", "PJSIP/1", now.Add(-31*24*time.Hour).UnixMilli(), 0, "a"),
		reg("q", "PJSIP/2", now.Add(-time.Hour).UnixMilli(), 0, "a"),
		reg("q", "PJSIP/3", now.Add(-40*24*time.Hour).UnixMilli(), 0, "a")
	present := reg("q", "PJSIP/4", now.Add(-90*24*time.Hour).UnixMilli(), 0, "a")
	old.Present, fresh.Present, oldPending.Present = false, false, false
	for _, r := range []state.Register{old, fresh, present} {
		mustPut(t, s, r, PutOptions{})
	}
	mustPut(t, s, oldPending, PutOptions{Pending: true})

	n, err := s.CollectTombstones(ctx, now.Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("CollectTombstones = %d, %v; want 1", n, err)
	}
	es, _ := s.List(ctx, nil)
	var got []string
	for _, e := range es {
		got = append(got, e.Interface)
	}
	if len(got) != 3 || got[0] != "PJSIP/2" || got[1] != "PJSIP/3" || got[2] != "PJSIP/4" {
		t.Fatalf("left %v; want PJSIP/2 (fresh), PJSIP/3 (pending), PJSIP/4 (present)", got)
	}
}
