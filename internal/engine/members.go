package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// Member names one queue member as Asterisk spells it: the hint an AMI event
// or a peer's change gives about which member may have changed.
type Member struct {
	Queue     string
	Interface string
}

// maxMemberQueries is how many members BeginMembers reads one by one before
// it reads whole queues instead.
const maxMemberQueries = 16

// BeginMembers is Begin for a few members: it reads only their live state
// (QueueStatus filtered by queue and member) and journal entries, which is
// what the live path needs to stay fast on large nodes.
func (e *Engine) BeginMembers(ctx context.Context, ms []Member) (*Session, error) {
	if len(ms) > maxMemberQueries {
		return e.Begin(ctx, queueNames(ms))
	}
	return e.locked(func() (*Session, error) { return e.beginMembers(ctx, ms) })
}

func (e *Engine) beginMembers(ctx context.Context, ms []Member) (*Session, error) {
	var s *Session
	startup, err := e.steadyRead(ctx, func() error {
		v := &View{Queues: map[string]string{}, Members: map[state.Key]*state.Live{}}
		s = &Session{e: e, view: v, journal: map[state.Key]store.Entry{}, scoped: true, partial: true}
		for _, m := range ms {
			if err := s.readMember(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.view.Startup = startup
	return s, nil
}

func (s *Session) readMember(ctx context.Context, m Member) error {
	k := state.NewKey(m.Queue, m.Interface)
	if _, done := s.journal[k]; done {
		return nil
	}
	if err := s.readLive(ctx, m); err != nil {
		return err
	}
	en, ok, err := s.e.opts.Journal.Get(ctx, k)
	if err != nil {
		return err
	}
	if ok {
		s.journal[k] = en
	}
	return nil
}

// readLive reads one member's live state (QueueStatus filtered by queue and
// member) into the session's view; a member Asterisk does not report is
// absent from it.
func (s *Session) readLive(ctx context.Context, m Member) error {
	k := state.NewKey(m.Queue, m.Interface)
	qs, err := s.e.opts.AMI.QueueStatus(ctx, m.Queue, m.Interface)
	if err != nil {
		return fmt.Errorf("read queue status of %s in %s: %w", m.Interface, m.Queue, err)
	}
	for _, p := range qs.Params {
		if strings.EqualFold(p.Queue, m.Queue) {
			s.view.Queues[strings.ToLower(p.Queue)] = p.Queue
		}
	}
	delete(s.view.Members, k)
	for _, am := range qs.Members {
		if state.NewKey(am.Queue, am.Interface) == k {
			s.view.Members[k] = s.e.live(k, am)
		}
	}
	if s.view.Members[k] == nil {
		s.e.silent.gone(k)
	}
	return nil
}

func queueNames(ms []Member) []string {
	seen := map[string]bool{}
	var qs []string
	for _, m := range ms {
		if k := strings.ToLower(m.Queue); !seen[k] {
			seen[k] = true
			qs = append(qs, m.Queue)
		}
	}
	return qs
}

// Capture journals the real local changes among the hinted members: those
// whose live state differs from the journal. A member whose register is
// pending is being applied by this or another queuesync process and is left
// alone; its events are the effects of that application.
//
// Capture does not look for restarts: after one, live differences are the
// restart's doing, not local changes. The caller must make sure that
// Asterisk has not restarted since the journal was last fully reconciled
// (the daemon captures only on the AMI connection it reconciled).
func (s *Session) Capture(ctx context.Context) ([]Outcome, error) {
	var steps []*step
	for _, k := range s.keys() {
		en, ok := s.journal[k]
		live := s.view.Members[k]
		switch {
		case ok && en.Pending:
			continue
		case ok && live.Matches(en.Register) && !learnedRinginuse(en.Register, live):
			continue
		case ok && owed(en.Register, live) && !learnedRinginuse(en.Register, live):
			continue // not news: the next reconcile puts it right
		case !ok && live == nil:
			continue
		}
		var prev *state.Register
		if ok {
			prev = ptr(en.Register)
		}
		steps = append(steps, s.observe(prev, live, k, store.SourceAMI))
	}
	err := s.commit(ctx, steps)
	return outcomes(steps), err
}

// learnedRinginuse reports whether live shows a ringinuse the register does
// not hold: a register without one means the default (yes).
func learnedRinginuse(r state.Register, live *state.Live) bool {
	if live == nil || live.Ringinuse == nil || live.RinginuseAssumed {
		return false
	}
	if r.Ringinuse == nil {
		return !*live.Ringinuse
	}
	return *r.Ringinuse != *live.Ringinuse
}
