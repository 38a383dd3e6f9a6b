package state

import (
	"errors"
	"fmt"
)

// simulate applies actions to a member the way app_queue does (see
// asterisk/NOTES.md, "Queue actions: responses and quirks"), with
// queueRinginuse the queue's ringinuse setting. It fails where Asterisk
// answers Response: Error.
func simulate(have *Live, actions []Action, queueRinginuse bool) (*Live, error) {
	var cur *Live
	if have != nil {
		c := *have
		cur = &c
	}
	for _, a := range actions {
		next, err := simulateOne(cur, a, queueRinginuse)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		cur = next
	}
	return cur, nil
}

func simulateOne(cur *Live, a Action, queueRinginuse bool) (*Live, error) {
	if a.Kind == ActAdd {
		if cur != nil {
			return nil, errors.New("Unable to add interface: Already there")
		}
		return &Live{Queue: a.Queue, Interface: a.Interface, MemberName: effective(a.MemberName, a.Interface),
			StateInterface: effective(a.StateInterface, a.Interface), Membership: Dynamic,
			Penalty: a.Penalty, Paused: a.Paused, PausedReason: a.Reason, Ringinuse: Bool(queueRinginuse), Wrapuptime: a.Wrapuptime}, nil
	}
	if cur == nil {
		return nil, errors.New("Interface not found")
	}
	switch a.Kind {
	case ActRemove:
		if cur.Membership != Dynamic {
			return nil, errors.New("Member not dynamic")
		}
		return nil, nil
	case ActPause:
		cur.Paused, cur.PausedReason = a.Paused, a.Reason
	case ActPenalty:
		cur.Penalty = a.Penalty
	case ActRinginuse:
		cur.Ringinuse = Bool(a.Ringinuse)
	default:
		return nil, fmt.Errorf("unknown action %q", a.Kind)
	}
	return cur, nil
}
