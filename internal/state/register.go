package state

import (
	"strings"
)

// Membership says how a member came to be in a queue. Only dynamic members
// can be added or removed over AMI.
type Membership string

// The memberships Asterisk reports.
const (
	Dynamic  Membership = "dynamic"
	Static   Membership = "static"
	Realtime Membership = "realtime"
)

// Valid reports whether m is one of the known memberships.
func (m Membership) Valid() bool {
	return m == Dynamic || m == Static || m == Realtime
}

// Key identifies a queue member: the queue and the member's interface, both
// compared case-insensitively (as Asterisk does). Use NewKey to build one.
type Key struct {
	Queue     string // lower-cased queue name
	Interface string // lower-cased interface
}

// NewKey returns the normalised key of queue and iface.
func NewKey(queue, iface string) Key {
	return Key{Queue: strings.ToLower(queue), Interface: strings.ToLower(iface)}
}

// String returns "queue/interface".
func (k Key) String() string { return k.Queue + "/" + k.Interface }

// Register is the journalled state of one queue member, versioned by Stamp and
// Origin. A register with Present false is a tombstone: the member was removed.
type Register struct {
	Queue          string // original spelling, used in AMI actions
	Interface      string // original spelling, used in AMI actions
	Present        bool
	MemberName     string
	StateInterface string
	Penalty        int
	Paused         bool
	PausedReason   string
	Ringinuse      *bool // nil when unknown (QueueStatus does not report it)
	Wrapuptime     *int  // the member's own wrap-up time in seconds; nil when unknown
	Membership     Membership
	Stamp          Stamp
	Origin         string // the node whose change produced this version
}

// Key returns the register's normalised key.
func (r Register) Key() Key { return NewKey(r.Queue, r.Interface) }

// Version returns the register's version (stamp, origin).
func (r Register) Version() Version { return Version{Stamp: r.Stamp, Origin: r.Origin} }

// Newer reports whether r wins over o by the conflict rule: the greater
// stamp wins, ties are broken by the greater origin name.
func (r Register) Newer(o Register) bool { return r.Version().After(o.Version()) }

// SameState reports whether r and o describe the same member state, ignoring
// the version. The paused reason counts only while the member is paused, and
// ringinuse and wrap-up time only when both sides know them.
func (r Register) SameState(o Register) bool {
	if r.Present != o.Present {
		return false
	}
	if !r.Present {
		return true
	}
	if r.MemberName != o.MemberName || r.StateInterface != o.StateInterface ||
		r.Penalty != o.Penalty || r.Paused != o.Paused || r.Membership != o.Membership {
		return false
	}
	if r.Paused && r.PausedReason != o.PausedReason {
		return false
	}
	if r.Ringinuse != nil && o.Ringinuse != nil && *r.Ringinuse != *o.Ringinuse {
		return false
	}
	return !knownDiffer(r.Wrapuptime, o.Wrapuptime)
}

// knownDiffer reports whether a and b are both known and differ.
func knownDiffer[T comparable](a, b *T) bool { return a != nil && b != nil && *a != *b }

// Version is the (stamp, origin) pair that orders registers of one key.
type Version struct {
	Stamp  Stamp
	Origin string
}

// After reports whether v is later than o: by stamp, then by origin.
func (v Version) After(o Version) bool {
	if c := v.Stamp.Compare(o.Stamp); c != 0 {
		return c > 0
	}
	return v.Origin > o.Origin
}

// Bool returns a pointer to b, for Register.Ringinuse.
func Bool(b bool) *bool { return &b }

// Seconds returns a pointer to n, for Register.Wrapuptime.
func Seconds(n int) *int { return &n }
