package daemon

import (
	"net/url"
	"sort"
	"time"

	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/internal/web"
)

// assembleStatus puts the page together: every queue this node defines or
// a peer reported, every member present on some node, each node's state
// of it (nil where unknown: the peer could not be read or does not share
// the queue), and the agreement of each peer.
func assembleStatus(name string, now time.Time, local localView, peers []node.Peer, views []peerView,
	agreements []PeerAgreement, last map[state.Key]store.HistoryEntry) web.Status {
	st := web.Status{Node: name, Generated: now.UTC(), Nodes: []string{name}, Peers: []web.PeerStatus{}, Queues: []web.Queue{}}
	byPeer := map[string]PeerAgreement{}
	for _, a := range agreements {
		byPeer[a.Peer] = a
	}
	spelling := map[string]string{}
	for k, q := range local.queues {
		spelling[k] = q
	}
	for i, v := range views {
		st.Nodes = append(st.Nodes, v.name)
		st.Peers = append(st.Peers, peerStatus(v, byPeer[v.name]))
		for k, r := range v.regs {
			if _, ok := spelling[k.Queue]; !ok && (peers[i].Shares == nil || peers[i].Shares(r.Queue)) {
				spelling[k.Queue] = r.Queue
			}
		}
	}
	queues := make([]string, 0, len(spelling))
	for k := range spelling {
		queues = append(queues, k)
	}
	sort.Strings(queues)
	for _, qk := range queues {
		st.Queues = append(st.Queues, assembleQueue(qk, spelling[qk], local, peers, views, byPeer, last))
	}
	return st
}

func peerStatus(v peerView, a PeerAgreement) web.PeerStatus {
	p := web.PeerStatus{Name: v.name, Reachable: v.err == nil, Undelivered: a.Undelivered}
	switch {
	case v.err != nil:
		p.Reason = v.err.Error()
	case a.Reason != "":
		p.Reason = a.Reason
	}
	if !a.Oldest.IsZero() {
		t := a.Oldest.UTC()
		p.OldestUndelivered = &t
	}
	if v.stale {
		t := v.asOf.UTC()
		p.StateAsOf = &t
	}
	if !a.Checked.IsZero() {
		t := a.Checked.UTC()
		p.LastCheck = &t
	}
	for _, ok := range a.InSync {
		if ok {
			p.QueuesInSync++
		} else {
			p.QueuesOutOfSync++
		}
	}
	return p
}

func assembleQueue(qk, spelled string, local localView, peers []node.Peer, views []peerView,
	byPeer map[string]PeerAgreement, last map[state.Key]store.HistoryEntry) web.Queue {
	q := web.Queue{Name: spelled, InSync: map[string]bool{}, Members: []web.Member{}}
	_, definedHere := local.queues[qk]
	known := make([]bool, len(views)) // does peer i tell us this queue?
	for i, v := range views {
		known[i] = (v.err == nil || v.stale) && (peers[i].Shares == nil || peers[i].Shares(spelled))
		if ok, checked := byPeer[v.name].InSync[qk]; checked {
			q.InSync[v.name] = ok
		}
	}
	keys := map[state.Key]string{} // key -> interface spelling
	add := func(r state.Register) {
		if r.Present {
			if _, ok := keys[r.Key()]; !ok {
				keys[r.Key()] = r.Interface
			}
		}
	}
	for k, r := range local.regs {
		if k.Queue == qk {
			add(r)
		}
	}
	for i, v := range views {
		for k, r := range v.regs {
			if k.Queue == qk && known[i] {
				add(r)
			}
		}
	}
	ordered := make([]state.Key, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].Interface < ordered[j].Interface })
	for _, k := range ordered {
		m := web.Member{Interface: keys[k], History: web.PathMember + "?" + url.Values{"queue": {spelled}, "interface": {keys[k]}}.Encode()}
		var here *web.MemberState
		if definedHere {
			here = memberState(local.regs, k)
			if here != nil && here.Present {
				here.InCall = local.inCall[k]
				switch {
				case here.Paused:
					q.Paused++
				case here.InCall:
					q.InCall++
				default:
					q.Available++
				}
			}
		}
		m.States = append(m.States, here)
		for i, v := range views {
			var s *web.MemberState
			if known[i] {
				s = memberState(v.regs, k)
			}
			m.States = append(m.States, s)
		}
		m.Name = memberName(k, local.regs, views)
		m.Differs = differs(m.States)
		if h, ok := last[k]; ok {
			if cs := changesOf(h); len(cs) > 0 {
				c := cs[len(cs)-1]
				for _, f := range cs { // the pause tells more than its reason
					if f.Field == "paused" || f.Field == "present" {
						c = f
						break
					}
				}
				m.LastChange = &c
			}
		}
		q.Members = append(q.Members, m)
	}
	return q
}

// memberState is key k as regs hold it: not present when absent.
func memberState(regs map[state.Key]state.Register, k state.Key) *web.MemberState {
	r, ok := regs[k]
	if !ok || !r.Present {
		return &web.MemberState{}
	}
	s := &web.MemberState{Present: true, Paused: r.Paused, Penalty: r.Penalty, Origin: r.Origin}
	if r.Paused {
		s.Reason = printable(r.PausedReason)
		t := time.UnixMilli(r.Stamp.Wall).UTC()
		s.PausedSince = &t
	}
	return s
}

func memberName(k state.Key, local map[state.Key]state.Register, views []peerView) string {
	if r, ok := local[k]; ok && r.MemberName != "" {
		return printable(r.MemberName)
	}
	for _, v := range views {
		if r, ok := v.regs[k]; ok && r.MemberName != "" {
			return printable(r.MemberName)
		}
	}
	return ""
}

// differs reports whether the known states disagree on presence, pause,
// reason or penalty.
func differs(ss []*web.MemberState) bool {
	var first *web.MemberState
	for _, s := range ss {
		if s == nil {
			continue
		}
		if first == nil {
			first = s
			continue
		}
		if s.Present != first.Present || (s.Present && (s.Paused != first.Paused || s.Penalty != first.Penalty ||
			(s.Paused && s.Reason != first.Reason))) {
			return true
		}
	}
	return false
}
