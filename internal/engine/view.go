package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// View is the live state of the local Asterisk at one moment.
type View struct {
	Startup time.Time                 // when Asterisk last started
	Queues  map[string]string         // lower-cased name -> name as Asterisk spells it
	Members map[state.Key]*state.Live // every member of those queues
}

// Defined reports whether the local Asterisk defines queue.
func (v *View) Defined(queue string) bool {
	_, ok := v.Queues[strings.ToLower(queue)]
	return ok
}

// observe reads CoreStatus and QueueStatus. With one queue it asks Asterisk
// for that queue only; otherwise it reads every queue and keeps those asked.
func observe(ctx context.Context, a AMI, queues []string) (*View, error) {
	cs, err := a.CoreStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("read asterisk start time: %w", err)
	}
	filter := ""
	if len(queues) == 1 {
		filter = queues[0]
	}
	qs, err := a.QueueStatus(ctx, filter, "")
	if err != nil {
		return nil, fmt.Errorf("read queue status: %w", err)
	}
	want := wanted(queues)
	v := &View{Startup: cs.Startup, Queues: map[string]string{}, Members: map[state.Key]*state.Live{}}
	for _, p := range qs.Params {
		if want(p.Queue) {
			v.Queues[strings.ToLower(p.Queue)] = p.Queue
		}
	}
	for _, m := range qs.Members {
		if want(m.Queue) {
			l := LiveFromAMI(m)
			v.Members[state.NewKey(m.Queue, m.Interface)] = &l
		}
	}
	return v, nil
}

func wanted(queues []string) func(string) bool {
	if len(queues) == 0 {
		return func(string) bool { return true }
	}
	set := make(map[string]bool, len(queues))
	for _, q := range queues {
		set[strings.ToLower(q)] = true
	}
	return func(q string) bool { return set[strings.ToLower(q)] }
}

// LiveFromAMI converts a member as AMI reports it into the state model.
func LiveFromAMI(m ami.QueueMember) state.Live {
	l := state.Live{
		Queue:          m.Queue,
		Interface:      m.Interface,
		MemberName:     m.Name,
		StateInterface: m.StateInterface,
		Membership:     state.Membership(m.Membership),
		Penalty:        m.Penalty,
		Paused:         m.Paused,
		PausedReason:   m.PausedReason,
		Ringinuse:      m.Ringinuse,
		LastPause:      m.LastPause,
		LoginTime:      m.LoginTime,
	}
	if l.MemberName == "" {
		l.MemberName = l.Interface
	}
	if l.StateInterface == "" {
		l.StateInterface = l.Interface
	}
	if l.Membership == "" {
		l.Membership = state.Dynamic
	}
	return l
}
