package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// View is the live state of the local Asterisk at one moment.
type View struct {
	Startup time.Time                 // when Asterisk last started
	Queues  map[string]string         // lower-cased name -> name as Asterisk spells it
	Members map[state.Key]*state.Live // every member of those queues
	gen     uint64                    // the AMI connection read (0: not numbered, or unknown)
}

// Defined reports whether the local Asterisk defines queue.
func (v *View) Defined(queue string) bool {
	_, ok := v.Queues[strings.ToLower(queue)]
	return ok
}

// maxQueueQueries is how many queues observe reads one by one (the reads
// pipelined on the connection) before it reads every queue instead.
const maxQueueQueries = 16

// observe reads CoreStatus and QueueStatus (see steadyRead). With up to
// maxQueueQueries queues it asks Asterisk for those queues only, all at
// once; otherwise it reads every queue and keeps those asked.
func (e *Engine) observe(ctx context.Context, queues []string) (*View, error) {
	var qs ami.QueueStatus
	startup, gen, err := e.steadyRead(ctx, func() error {
		var err error
		qs, err = e.queueStatus(ctx, queues)
		return err
	})
	if err != nil {
		return nil, err
	}
	want := wanted(queues)
	if startup.IsZero() && len(queues) == 0 {
		startup = estimateStartup(qs.Members)
		e.start.estimated(gen, startup)
	}
	v := &View{Startup: startup, Queues: map[string]string{}, Members: map[state.Key]*state.Live{}, gen: gen}
	for _, m := range e.Silent() { // a full read shows which silent members are gone
		if want(m.Queue) {
			e.silent.gone(state.NewKey(m.Queue, m.Interface))
		}
	}
	for _, p := range qs.Params {
		if want(p.Queue) {
			v.Queues[strings.ToLower(p.Queue)] = p.Queue
		}
	}
	for _, m := range qs.Members {
		if want(m.Queue) {
			k := state.NewKey(m.Queue, m.Interface)
			v.Members[k] = e.live(k, m)
		}
	}
	return v, nil
}

// queueStatus reads the members of queues (every queue when empty or many).
func (e *Engine) queueStatus(ctx context.Context, queues []string) (ami.QueueStatus, error) {
	if e.reader {
		return e.eachQueueStatus(ctx, queues)
	}
	if len(queues) == 0 || len(queues) > maxQueueQueries {
		qs, err := e.opts.AMI.QueueStatus(ctx, "", "")
		if err != nil {
			return qs, fmt.Errorf("read queue status: %w", err)
		}
		return qs, nil
	}
	return e.readQueues(ctx, queues, len(queues))
}

// readersInFlight is how many one-queue reads a reader keeps in flight:
// Asterisk answers them one after the other, releasing the queue's lock
// between them, and a node of hundreds of queues is not read at the pace
// of one round trip per queue.
const readersInFlight = 8

// QueueMembers reads the members of every queue Asterisk defines, as a Reader
// does (one queue per QueueStatus), without reading the journal: for
// those who only count live state. Every defined queue is in Params, an
// empty one too.
func (e *Engine) QueueMembers(ctx context.Context) (ami.QueueStatus, error) {
	return e.eachQueueStatus(ctx, nil)
}

// eachQueueStatus is a reader's queueStatus: one queue per QueueStatus
// (see Reader), every queue Asterisk defines when queues is empty.
func (e *Engine) eachQueueStatus(ctx context.Context, queues []string) (ami.QueueStatus, error) {
	if len(queues) == 0 {
		defined, err := e.opts.AMI.QueueStatus(ctx, "", ami.NoMember)
		if err != nil {
			return ami.QueueStatus{}, fmt.Errorf("read queues: %w", err)
		}
		for _, p := range defined.Params {
			queues = append(queues, p.Queue)
		}
	}
	return e.readQueues(ctx, queues, readersInFlight)
}

// readQueues reads each of queues with a QueueStatus of its own, at most
// inFlight at once, and returns what they read together.
func (e *Engine) readQueues(ctx context.Context, queues []string, inFlight int) (ami.QueueStatus, error) {
	parts := make([]ami.QueueStatus, len(queues))
	errs := make([]error, len(queues))
	reading := make(chan struct{}, max(inFlight, 1))
	concurrently(len(queues), func(i int) {
		reading <- struct{}{}
		defer func() { <-reading }()
		if parts[i], errs[i] = e.opts.AMI.QueueStatus(ctx, queues[i], ""); errs[i] != nil {
			errs[i] = fmt.Errorf("read queue status of %s: %w", queues[i], errs[i])
		}
	})
	var all ami.QueueStatus
	for _, p := range parts {
		all.Params = append(all.Params, p.Params...)
		all.Members = append(all.Members, p.Members...)
	}
	return all, errors.Join(errs...)
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
		Wrapuptime:     m.Wrapuptime,
		InCall:         m.InCall,
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

// maxReadAttempts bounds steadyRead's attempts.
const maxReadAttempts = 3

// steadyRead runs read (of live state) between two readings of Asterisk's
// start time and returns that time. When they differ, Asterisk restarted
// during the read, and what was read may belong to either run: it reads
// again. With one reading only, a session could take the old run's members
// for the new run's (and record the restart as handled) or the new run's
// for the old one's (and journal the restart's losses as removals).
//
// It also returns the connection's number (0 when the AMI is not
// numbered).
func (e *Engine) steadyRead(ctx context.Context, read func() error) (time.Time, uint64, error) {
	defer e.timed(StepAsteriskRead, time.Now())
	if g, ok := e.opts.AMI.(generational); ok {
		return e.steadyReadOnLink(ctx, g, read)
	}
	for range maxReadAttempts {
		before, err := startTime(ctx, e.opts.AMI)
		if err != nil {
			return time.Time{}, 0, err
		}
		if err := read(); err != nil {
			return time.Time{}, 0, err
		}
		after, err := startTime(ctx, e.opts.AMI)
		if err != nil {
			return time.Time{}, 0, err
		}
		if before.Equal(after) {
			return after, 0, nil
		}
	}
	return time.Time{}, 0, errors.New("read live state: asterisk restarted during every attempt")
}

// generational is an AMI whose connection is numbered (ami.Link): a restart
// of Asterisk always ends the connection, so reads made on one connection
// are of one Asterisk run.
type generational interface {
	Generation() uint64
}

// steadyReadOnLink is steadyRead on a numbered connection: Asterisk's start
// time is asked once per connection, and a read is steady when the
// connection did not change under it. The live path then costs one
// QueueStatus, not two CoreStatus around it.
func (e *Engine) steadyReadOnLink(ctx context.Context, g generational, read func() error) (time.Time, uint64, error) {
	for range maxReadAttempts {
		startup, gen, err := e.start.of(ctx, e.opts.AMI, g)
		if err != nil {
			return time.Time{}, 0, err
		}
		if err := read(); err != nil {
			return time.Time{}, 0, err
		}
		if g.Generation() == gen {
			return startup, gen, nil
		}
	}
	return time.Time{}, 0, errors.New("read live state: asterisk restarted during every attempt")
}

// startCache remembers Asterisk's start time for one connection: as
// CoreStatus reported it, or, for a user not allowed CoreStatus, as a full
// read on the connection estimated it (see estimated).
type startCache struct {
	mu      sync.Mutex
	gen     uint64
	startup time.Time
}

// estimated records t, estimated from a full read on connection gen, as
// the start of that connection's Asterisk when CoreStatus could not tell
// it. Every later read on the connection (of the same run of Asterisk)
// then has a start: a read of some queues cannot estimate it, and without
// one a reconcile takes every difference in those queues for a restart's
// loss and undoes the local changes it has not journalled yet. The first
// estimate on a connection stays: a later one moves when the earliest
// member leaves, though Asterisk did not restart.
func (c *startCache) estimated(gen uint64, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != 0 && gen == c.gen && c.startup.IsZero() {
		c.startup = t
	}
}

// of returns the start time of the Asterisk on connection gen, asking it
// only when the connection is new.
func (c *startCache) of(ctx context.Context, a AMI, g generational) (time.Time, uint64, error) {
	c.mu.Lock()
	if gen := g.Generation(); gen != 0 && gen == c.gen {
		defer c.mu.Unlock()
		return c.startup, gen, nil
	}
	c.mu.Unlock()
	for range maxReadAttempts {
		before := g.Generation()
		startup, err := startTime(ctx, a)
		if err != nil {
			return time.Time{}, 0, err
		}
		if gen := g.Generation(); gen == before || before == 0 {
			c.mu.Lock()
			c.gen, c.startup = gen, startup
			c.mu.Unlock()
			return startup, gen, nil
		}
	}
	return time.Time{}, 0, errors.New("read asterisk start time: the connection changed during every attempt")
}

// startTime asks Asterisk when it started. CoreStatus needs the system or
// reporting read class: for a least-privilege AMI user (read = agent) it
// returns the zero time and callers estimate.
func startTime(ctx context.Context, a AMI) (time.Time, error) {
	cs, err := a.CoreStatus(ctx)
	if errors.Is(err, ami.ErrPermission) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read asterisk start time: %w", err)
	}
	return cs.Startup, nil
}

// estimateStartup estimates Asterisk's start from the earliest member login:
// static members and members restored from astdb log in at start. With no
// member at all it returns the zero time: unknown, treated as a restart
// (the safe side: restore, never propagate a loss).
func estimateStartup(ms []ami.QueueMember) time.Time {
	var first int64
	for _, m := range ms {
		if m.LoginTime > 0 && (first == 0 || m.LoginTime < first) {
			first = m.LoginTime
		}
	}
	if first == 0 {
		return time.Time{}
	}
	return time.Unix(first, 0)
}

// live converts m, filling in the ringinuse QueueStatus leaves out. A pause
// whose reason stays local (local_pause_reasons) is not shown: to the rest
// of queuesync the member is unpaused, so the pause is neither journalled
// nor undone.
func (e *Engine) live(k state.Key, m ami.QueueMember) *state.Live {
	e.silent.note(k, m)
	l := LiveFromAMI(m)
	if l.Ringinuse == nil && e.opts.Ringinuse != nil {
		l.Ringinuse, l.RinginuseAssumed = e.opts.Ringinuse.Member(k)
	}
	if l.Paused && slices.Contains(e.opts.LocalPauseReasons, l.PausedReason) {
		l.Paused, l.PausedReason = false, ""
	}
	return &l
}

// assumeDefaultRinginuse sets every live member whose ringinuse is unknown
// to its queue's default: Asterisk restarted, and a restart (persisted
// members included) gives every member the queue's setting (architecture.md
// §2 rule 8).
func (e *Engine) assumeDefaultRinginuse(v *View) {
	for _, l := range v.Members {
		if l.Ringinuse == nil {
			l.Ringinuse, l.RinginuseAssumed = state.Bool(e.queueRinginuse(l.Queue)), true
		}
	}
}

// queueRinginuse is a queue's default ringinuse: as last seen in an event
// of a member added with the queue's setting, else Asterisk's default, yes.
func (e *Engine) queueRinginuse(queue string) bool {
	if e.opts.Ringinuse == nil {
		return true
	}
	return e.opts.Ringinuse.QueueDefault(queue)
}
