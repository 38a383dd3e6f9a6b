package engine

import (
	"github.com/queuesync/queuesync/internal/state"
)

// Result says what a session did with one member.
type Result string

// The results a session reports.
const (
	InSync     Result = "in sync"    // nothing to do
	Journalled Result = "journalled" // a local change no daemon had seen, now journalled
	Restored   Result = "restored"   // live state brought back to the journal (restart, retry)
	Applied    Result = "applied"    // a peer's newer register applied here
	Pushed     Result = "pushed"     // our newer register applied on the peer
	Stale      Result = "stale"      // the older side lost: nothing applied
	Overtaken  Result = "overtaken"  // a peer's register lost to a local change made while it was applied
	Reported   Result = "reported"   // a mismatch queuesync must not fix (static member)
	Failed     Result = "failed"     // an AMI action or a peer refused
	Skipped    Result = "skipped"    // the queue is not defined on this node
)

// Outcome is what happened to one member, with what -v shows about it.
type Outcome struct {
	Queue     string
	Interface string
	Peer      string          // the peer involved, "" for local reconciliation
	Local     *state.Register // our register before the change (nil: none)
	Remote    *state.Register // the peer's register, when one was involved
	Winner    *state.Register // the register that now holds
	Actions   []state.Action  // AMI actions taken (or, in a dry run, to take)
	Reports   []string        // mismatches reported, not fixed
	Result    Result
	Err       error
}

// Changed reports whether the outcome is worth reporting: anything but in
// sync, or an incoming register that lost (it changes nothing here).
func (o Outcome) Changed() bool { return o.Result != InSync && o.Result != Stale }

// Notable reports whether an operator should see o: it changed something,
// or it carries a report (a difference that no action fixes now).
func (o Outcome) Notable() bool { return o.Changed() || len(o.Reports) > 0 }

// Failed reports whether the outcome counts as a partial failure.
func (o Outcome) Failed() bool { return o.Result == Failed }

func ptr(r state.Register) *state.Register { return &r }
