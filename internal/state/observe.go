package state

// Register returns the register that describes l, versioned by stamp and
// origin. The paused reason of an unpaused member is dropped: Asterisk keeps
// the reason of the last unpause (see asterisk/NOTES.md, "Reason semantics"),
// but it means nothing and is never synced. l must not be nil; use Observed
// for a member that may be absent.
func (l *Live) Register(stamp Stamp, origin string) Register {
	r := Register{
		Queue:          l.Queue,
		Interface:      l.Interface,
		Present:        true,
		MemberName:     l.MemberName,
		StateInterface: l.StateInterface,
		Penalty:        l.Penalty,
		Paused:         l.Paused,
		Membership:     l.Membership,
		Stamp:          stamp,
		Origin:         origin,
	}
	if l.Paused {
		r.PausedReason = l.PausedReason
	}
	if l.Ringinuse != nil {
		r.Ringinuse = Bool(*l.Ringinuse)
	}
	if l.Wrapuptime != nil {
		r.Wrapuptime = Seconds(*l.Wrapuptime)
	}
	return r
}

// Observed returns the register that describes the live state l of member
// iface in queue: l's register, or, when l is nil, a tombstone of a dynamic
// member (the only kind that can leave a queue).
func Observed(queue, iface string, l *Live, stamp Stamp, origin string) Register {
	if l != nil {
		return l.Register(stamp, origin)
	}
	return Register{Queue: queue, Interface: iface, Membership: Dynamic, Stamp: stamp, Origin: origin}
}

// Matches reports whether live state l (nil: not in the queue) already holds
// the state of r, so that Plan(r, l) has no action to take: presence, member
// name and state interface (empty meaning the interface), penalty, paused,
// the reason while paused, and ringinuse when both sides know it.
//
// Differences that AMI cannot fix and Plan only reports (a static or
// realtime member's presence or name) do not count: they are not news, and
// counting them would make two nodes whose static members differ overwrite
// each other's journal forever.
func (l *Live) Matches(r Register) bool {
	return len(Plan(r, l).Actions) == 0
}

// Winner returns the register that holds by the conflict rule (architecture.md §1:
// last writer wins by stamp, then origin) and whether it is remote. On equal
// versions local is kept.
func Winner(local, remote Register) (Register, bool) {
	if remote.Newer(local) {
		return remote, true
	}
	return local, false
}
