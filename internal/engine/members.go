package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// Member names one queue member as Asterisk spells it: the hint an AMI event
// or a peer's change gives about which member may have changed.
type Member struct {
	Queue     string
	Interface string
}

// maxMemberQueries is how many members BeginMembers reads one by one (the
// reads pipelined on the connection) before it reads their queues whole.
const maxMemberQueries = 64

// BeginMembers is Begin for a few members: it reads only their live state
// (QueueStatus filtered by queue and member, all at once) and journal
// entries (one query), which is what the live path needs to stay fast on
// large nodes.
func (e *Engine) BeginMembers(ctx context.Context, ms []Member) (*Session, error) {
	if len(ms) > maxMemberQueries {
		return e.Begin(ctx, queueNames(ms))
	}
	return e.locked(func() (*Session, error) { return e.beginMembers(ctx, ms) })
}

func (e *Engine) beginMembers(ctx context.Context, ms []Member) (*Session, error) {
	v := &View{Queues: map[string]string{}, Members: map[state.Key]*state.Live{}}
	s := &Session{e: e, view: v, scoped: true, partial: true}
	ms, keys := distinctMembers(ms)
	err := alongside(func() (err error) {
		v.Startup, v.gen, err = e.steadyRead(ctx, func() error { return s.readLives(ctx, ms) })
		return err
	}, func() (err error) {
		defer e.timed(StepJournalRead, time.Now())
		if s.journal, err = e.opts.Journal.GetMany(ctx, keys); err != nil {
			return fmt.Errorf("read journal of %d members: %w", len(keys), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// distinctMembers returns ms without repeats (spelled differently or not),
// and their keys.
func distinctMembers(ms []Member) ([]Member, []state.Key) {
	out, keys := make([]Member, 0, len(ms)), make([]state.Key, 0, len(ms))
	seen := make(map[state.Key]bool, len(ms))
	for _, m := range ms {
		if k := state.NewKey(m.Queue, m.Interface); !seen[k] {
			seen[k] = true
			out, keys = append(out, m), append(keys, k)
		}
	}
	return out, keys
}

// readLives reads the members' live state into the session's view, the
// QueueStatus actions all in flight at once.
func (s *Session) readLives(ctx context.Context, ms []Member) error {
	res := make([]liveRead, len(ms))
	concurrently(len(ms), func(i int) { res[i] = s.e.readLive(ctx, ms[i]) })
	var errs []error
	for i, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		s.setRead(ms[i], r)
	}
	return errors.Join(errs...)
}

// concurrently runs f(0) .. f(n-1) at once and waits for them all: reads
// on one AMI connection, which pipelines them.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// liveRead is what Asterisk reported of one member: its queue's name (""
// when the queue is not defined) and its state (nil when not a member).
type liveRead struct {
	queue string
	live  *state.Live
	err   error
}

// readLive asks Asterisk for one member (QueueStatus filtered by queue and
// member).
func (e *Engine) readLive(ctx context.Context, m Member) liveRead {
	k := state.NewKey(m.Queue, m.Interface)
	qs, err := e.opts.AMI.QueueStatus(ctx, m.Queue, m.Interface)
	if err != nil {
		return liveRead{err: fmt.Errorf("read queue status of %s in %s: %w", m.Interface, m.Queue, err)}
	}
	var r liveRead
	for _, p := range qs.Params {
		if strings.EqualFold(p.Queue, m.Queue) {
			r.queue = p.Queue
		}
	}
	for _, am := range qs.Members {
		if state.NewKey(am.Queue, am.Interface) == k {
			r.live = e.live(k, am)
		}
	}
	if r.live == nil {
		e.silent.gone(k)
	}
	return r
}

// setRead records one member's read in the session's view.
func (s *Session) setRead(m Member, r liveRead) {
	k := state.NewKey(m.Queue, m.Interface)
	if r.queue != "" {
		s.view.Queues[strings.ToLower(r.queue)] = r.queue
	}
	delete(s.view.Members, k)
	if r.live != nil {
		s.view.Members[k] = r.live
	}
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
// whose live state differs from the journal, stamped when seen
// (seenStamp). A member whose register is pending is being applied by this
// or another queuesync process and is left alone; its events are the
// effects of that application.
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
		steps = append(steps, s.observeAt(prev, live, k, store.SourceAMI, s.seenStamp(prev, k)))
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
