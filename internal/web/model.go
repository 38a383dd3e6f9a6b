package web

import (
	"context"
	"time"
)

// Status is the whole page: what this node and its peers hold, queue by
// queue, and the state of each peer.
type Status struct {
	Node      string       `json:"node"`
	Generated time.Time    `json:"generated"`
	Nodes     []string     `json:"nodes"` // this node, then each peer, in the order of every States
	Peers     []PeerStatus `json:"peers"`
	Queues    []Queue      `json:"queues"`
}

// PeerStatus is one peer as this node sees it.
type PeerStatus struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	// Reason says why the peer is unreachable, or why its state could not
	// be read; "" when all is well.
	Reason string `json:"reason,omitempty"`
	// Undelivered counts the changes the peer has not acknowledged;
	// OldestUndelivered is when the oldest was written.
	Undelivered       int64      `json:"undelivered"`
	OldestUndelivered *time.Time `json:"oldest_undelivered,omitempty"`
	// LastCheck is when the two nodes' digests were last compared.
	LastCheck *time.Time `json:"last_check,omitempty"`
	// QueuesInSync and QueuesOutOfSync count the shared queues by the
	// last check.
	QueuesInSync    int `json:"queues_in_sync"`
	QueuesOutOfSync int `json:"queues_out_of_sync"`
	// StateAsOf is set when the peer's state could not be read now: its
	// members are shown as it held them then.
	StateAsOf *time.Time `json:"state_as_of,omitempty"`
}

// Queue is one queue: its members, and its agreement with each peer.
type Queue struct {
	Name string `json:"name"`
	// InSync holds, per peer name, whether the digests matched at the last
	// check; a peer that does not share the queue is absent.
	InSync    map[string]bool `json:"in_sync"`
	Available int             `json:"available"` // on this node: present, not paused, not on a call
	Paused    int             `json:"paused"`
	InCall    int             `json:"in_call"`
	Members   []Member        `json:"members"`
}

// Member is one member of a queue on every node.
type Member struct {
	Interface string `json:"interface"`
	Name      string `json:"name"`
	// States holds the member on each node of Status.Nodes, in that
	// order; nil where that node's state is unknown.
	States []*MemberState `json:"states"`
	// Differs is set when the known states are not all the same.
	Differs    bool    `json:"differs"`
	LastChange *Change `json:"last_change,omitempty"`
	// History is the page of this member's history.
	History string `json:"history"`
}

// MemberState is the member as one node holds it.
type MemberState struct {
	Present bool   `json:"present"`
	Paused  bool   `json:"paused"`
	Reason  string `json:"reason,omitempty"`
	Penalty int    `json:"penalty"`
	InCall  bool   `json:"in_call,omitempty"` // this node only
	// PausedSince is when the pause was made, on whichever node made it
	// (the register's stamp).
	PausedSince *time.Time `json:"paused_since,omitempty"`
	Origin      string     `json:"origin"` // the node whose change this is
}

// Change is one recorded change of a member.
type Change struct {
	When     time.Time `json:"when"`     // when it was made, on its origin node
	Recorded time.Time `json:"recorded"` // when this node recorded it
	Origin   string    `json:"origin"`
	Source   string    `json:"source"` // ami, peer:NAME, resync, restore
	Result   string    `json:"result"` // applied, journalled, pending, superseded
	Field    string    `json:"field"`
	Old      string    `json:"old"`
	New      string    `json:"new"`
}

// Source gives the page its data. Implementations should be safe for
// concurrent use and may cache: the page asks every second.
type Source interface {
	// Status returns the state of this node, its peers and its queues.
	Status(ctx context.Context) (Status, error)
	// History returns the recorded changes of a member (queue and
	// interface compared case-insensitively), newest last, at most limit.
	History(ctx context.Context, queue, iface string, limit int) ([]Change, error)
}
