package state

import "fmt"

// Live is a member's state as Asterisk reports it right now (from a
// QueueStatus snapshot or a QueueMember* event). A member that is not in the
// queue is represented by a nil *Live.
type Live struct {
	Queue          string
	Interface      string
	MemberName     string
	StateInterface string
	Membership     Membership
	Penalty        int
	Paused         bool
	PausedReason   string
	Ringinuse      *bool // nil when not reported (QueueStatus lists omit it)
	// RinginuseAssumed says that Ringinuse was not reported but is the
	// queue's default, which Asterisk put back at a restart or reload: a
	// difference in it is Asterisk forgetting, never a local change.
	RinginuseAssumed bool
	Wrapuptime       *int  // nil when not reported (before Asterisk 13)
	InCall           bool  // the member is on a call
	LastPause        int64 // Unix seconds, 0 = never or not reported
	LoginTime        int64 // Unix seconds, 0 = not reported
}

// ActionKind names an AMI action the planner can ask for.
type ActionKind string

// The actions the planner emits.
const (
	ActAdd       ActionKind = "QueueAdd"
	ActRemove    ActionKind = "QueueRemove"
	ActPause     ActionKind = "QueuePause"
	ActPenalty   ActionKind = "QueuePenalty"
	ActRinginuse ActionKind = "QueueMemberRingInUse"
)

// Action is one AMI action to apply to a member. Fields not used by Kind are
// zero. Why says, for -v output, what the action fixes.
type Action struct {
	Kind           ActionKind
	Queue          string
	Interface      string
	MemberName     string
	StateInterface string
	Penalty        int
	Paused         bool
	Reason         string
	Ringinuse      bool
	Wrapuptime     *int   // QueueAdd: the member's own wrap-up time (nil: the queue's)
	Readd          string // set on both halves of a remove+add: what it changes ("wrap-up time")
	Why            string
}

// String renders a for logs and dry runs: the action and the headers it
// sends, strings quoted.
func (a Action) String() string {
	s := fmt.Sprintf("%s queue=%q interface=%q", a.Kind, a.Queue, a.Interface)
	switch a.Kind {
	case ActAdd:
		s += fmt.Sprintf(" name=%q state-interface=%q penalty=%d paused=%t", a.MemberName, a.StateInterface, a.Penalty, a.Paused)
		if a.Paused {
			s += fmt.Sprintf(" reason=%q", a.Reason)
		}
		if a.Wrapuptime != nil {
			s += fmt.Sprintf(" wrapuptime=%d", *a.Wrapuptime)
		}
	case ActPause:
		s += fmt.Sprintf(" paused=%t reason=%q", a.Paused, a.Reason)
	case ActPenalty:
		s += fmt.Sprintf(" penalty=%d", a.Penalty)
	case ActRinginuse:
		s += fmt.Sprintf(" ringinuse=%t", a.Ringinuse)
	}
	return s
}
