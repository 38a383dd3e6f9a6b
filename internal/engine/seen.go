package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// Seen is a member's whole state as an AMI member event reported it: since
// Asterisk 12 every QueueMember* event carries every field of the member
// (ami.HasMemberState), so the event is a reading of the member, not only a
// hint that it changed.
type Seen struct {
	Member  ami.QueueMember
	Removed bool // QueueMemberRemoved: the member is no longer in the queue
	// Received is when the event came off the connection (zero: unknown).
	// An event received before the member's journal version was written
	// may be older than what that version was read from (see JournalSkew).
	Received time.Time
}

// actedWindow is how long after a queuesync process acted on a member its
// events are not taken as the member's state: the events of a change made
// of several actions (an add, then its ringinuse) may arrive after the
// change settled, and those between two actions show a state nobody chose.
const actedWindow = 5 * time.Second

// JournalSkew is how far the journal's clock (PostgreSQL's now(), which
// dates a version's write) may run behind this process's clock (which
// dates an event's receipt). The daemon warns at start when the two are
// further apart than half of it.
const JournalSkew = time.Second

// BeginSeen is BeginMembers for members whose state events reported (the
// last event of each member counts): the events are the live view, and
// Asterisk is asked only about the members whose event differs from the
// journal while their register is pending, was acted on within
// actedWindow, or was written after the event arrived (within
// JournalSkew): a reconcile or a resync that read Asterisk after the event
// journalled a newer state than the event shows. Capture then journals
// the real local changes. As for Capture, the caller must make sure the
// events came on the AMI connection the journal was last fully reconciled
// on.
func (e *Engine) BeginSeen(ctx context.Context, seen []Seen) (*Session, error) {
	return e.locked(func() (*Session, error) { return e.beginSeen(ctx, seen) })
}

func (e *Engine) beginSeen(ctx context.Context, seen []Seen) (*Session, error) {
	v := &View{Queues: map[string]string{}, Members: map[state.Key]*state.Live{}}
	keys := make([]state.Key, 0, len(seen))
	received := make(map[state.Key]time.Time, len(seen))
	for _, sn := range seen {
		m := sn.Member
		k := state.NewKey(m.Queue, m.Interface)
		v.Queues[strings.ToLower(m.Queue)] = m.Queue
		if _, ok := received[k]; !ok {
			keys = append(keys, k)
		}
		received[k] = sn.Received
		delete(v.Members, k)
		if !sn.Removed {
			v.Members[k] = e.live(k, m)
		}
	}
	start := time.Now()
	journal, err := e.opts.Journal.GetMany(ctx, keys)
	e.timed(StepJournalRead, start)
	if err != nil {
		return nil, fmt.Errorf("read journal of %d members: %w", len(keys), err)
	}
	s := &Session{e: e, view: v, journal: journal, scoped: true, partial: true, received: received}
	if err := s.rereadDoubtful(ctx, keys, received); err != nil {
		return nil, err
	}
	return s, nil
}

// rereadDoubtful asks Asterisk again about the members whose event may
// show a state between two actions of a queuesync process (see
// actedWindow) or one older than their journal version (see BeginSeen).
func (s *Session) rereadDoubtful(ctx context.Context, keys []state.Key, received map[state.Key]time.Time) error {
	since := s.e.opts.Now().Add(-actedWindow)
	var again []Member
	for _, k := range keys {
		en, ok := s.journal[k]
		live := s.view.Members[k]
		if !ok || en.Pending || live.Matches(en.Register) {
			continue
		}
		acted := !en.Acted.Before(since)
		rec := received[k]
		older := !rec.IsZero() && !rec.After(en.Updated.Add(JournalSkew))
		if acted || older {
			again = append(again, Member{Queue: en.Queue, Interface: en.Interface})
			delete(s.received, k) // its view is the read's, not the event's
		}
	}
	if len(again) == 0 {
		return nil
	}
	startup, _, err := s.e.steadyRead(ctx, func() error { return s.readLives(ctx, again) })
	s.view.Startup = startup
	return err
}
