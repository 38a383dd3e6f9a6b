package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// The page: each node's state of each member, differences, the true start
// of a pause, a peer shown as last seen, and a peer never read as unknown.
func TestAssembleStatus(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	paused := state.Register{Queue: "Sales", Interface: "PJSIP/1", Present: true, MemberName: "Ann", Paused: true,
		PausedReason: "lunch", Stamp: state.Stamp{Wall: now.Add(-time.Hour).UnixMilli()}, Origin: "sop2"}
	bob := state.Register{Queue: "Sales", Interface: "PJSIP/2", Present: true, MemberName: "Bob", Stamp: state.Stamp{Wall: 1}, Origin: "sop1"}
	local := localView{queues: map[string]string{"sales": "Sales"},
		regs:   map[state.Key]state.Register{paused.Key(): paused, bob.Key(): bob},
		inCall: map[state.Key]bool{bob.Key(): true}}
	unpaused := paused
	unpaused.Paused, unpaused.PausedReason = false, ""
	peers := []node.Peer{{Peer: engine.Peer{Name: "sop2"}}, {Peer: engine.Peer{Name: "sop3"}}}
	views := []peerView{
		{name: "sop2", regs: map[state.Key]state.Register{paused.Key(): unpaused, bob.Key(): bob}, err: errors.New("down"), stale: true, asOf: now.Add(-time.Minute)},
		{name: "sop3", err: errors.New("never answered")},
	}
	agree := []PeerAgreement{{Peer: "sop2", InSync: map[string]bool{"sales": false}, Undelivered: 2, Oldest: now.Add(-5 * time.Second)}}
	last := map[state.Key]store.HistoryEntry{paused.Key(): {Source: "peer:sop2", Result: "applied", New: paused,
		Old: &unpaused, Recorded: now.Add(-time.Hour)}}
	st := assembleStatus("sop1", now, local, peers, views, agree, last)

	if len(st.Nodes) != 3 || len(st.Peers) != 2 || len(st.Queues) != 1 {
		t.Fatalf("status = %+v", st)
	}
	if p := st.Peers[0]; p.Reachable || p.StateAsOf == nil || p.Undelivered != 2 || p.QueuesOutOfSync != 1 {
		t.Errorf("sop2 = %+v", p)
	}
	q := st.Queues[0]
	if q.Name != "Sales" || q.Paused != 1 || q.InCall != 1 || q.Available != 0 || q.InSync["sop2"] {
		t.Errorf("queue = %+v", q)
	}
	ann, b := q.Members[0], q.Members[1]
	if !ann.Differs || b.Differs {
		t.Errorf("differs: Ann %v, Bob %v; want Ann only", ann.Differs, b.Differs)
	}
	if s := ann.States[0]; s == nil || !s.Paused || s.Reason != "lunch" || s.PausedSince == nil || !s.PausedSince.Equal(now.Add(-time.Hour)) || s.Origin != "sop2" {
		t.Errorf("Ann here = %+v", s)
	}
	if ann.States[1] == nil || ann.States[1].Paused || ann.States[2] != nil {
		t.Errorf("Ann on the peers = %+v, %+v; want unpaused on sop2 (as last seen), unknown on sop3", ann.States[1], ann.States[2])
	}
	if c := ann.LastChange; c == nil || c.Field != "paused" || c.Source != "peer:sop2" || c.Origin != "sop2" {
		t.Errorf("Ann's last change = %+v", c)
	}
	if ann.History != "/member?interface=PJSIP%2F1&queue=Sales" {
		t.Errorf("history link %q", ann.History)
	}
}
