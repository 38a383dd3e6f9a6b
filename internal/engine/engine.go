package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// AMI is what the engine needs from the local Asterisk manager session.
type AMI interface {
	QueueStatus(ctx context.Context, queue, member string) (ami.QueueStatus, error)
	CoreStatus(ctx context.Context) (ami.CoreStatus, error)
	QueueAdd(ctx context.Context, r ami.QueueAddRequest) error
	QueueRemove(ctx context.Context, queue, iface string) error
	QueuePause(ctx context.Context, queue, iface string, paused bool, reason string) error
	QueuePenalty(ctx context.Context, queue, iface string, penalty int) error
	QueueMemberRingInUse(ctx context.Context, queue, iface string, ringinuse bool) error
}

// Journal is what the engine needs from the node's journal (internal/store).
type Journal interface {
	List(ctx context.Context, queues []string) ([]store.Entry, error)
	// GetMany returns the entries of keys in one round trip.
	GetMany(ctx context.Context, keys []state.Key) (map[state.Key]store.Entry, error)
	PutMany(ctx context.Context, regs []state.Register, o store.PutOptions) ([]store.PutResult, error)
	Settle(ctx context.Context, k state.Key, v state.Version) error
	// SettleMany settles many registers in one round trip.
	SettleMany(ctx context.Context, regs []state.Register) error
	// Startup returns the Asterisk start time the journal was last
	// reconciled against (zero when never).
	Startup(ctx context.Context) (time.Time, error)
	SetStartup(ctx context.Context, t time.Time) error
}

// Options configure an Engine.
type Options struct {
	Node    string       // this node's name, the origin of local changes
	AMI     AMI          // the local Asterisk
	Journal Journal      // the local journal
	Clock   *state.Clock // the node's hybrid logical clock
	Log     *slog.Logger // optional
	DryRun  bool         // decide everything, change nothing
	Workers int          // AMI actions in flight at once (default 1024: four chunks of a commit, each sent together)
	// Ringinuse, when set, tells what AMI events taught of ringinuse, which
	// QueueStatus does not report. Nil: always unknown.
	Ringinuse RinginuseSource
	// LocalPauseReasons are pause reasons that stay on this node: such a
	// pause is neither journalled nor propagated, nor undone.
	LocalPauseReasons []string
	Now               func() time.Time
	// PendingGrace: a reconcile leaves alone a register journalled pending
	// less than this long ago (by the journal's clock): the process that
	// journalled it, a running daemon, is applying it. The one-shot
	// commands set it; 0 (the daemon) finishes every pending register,
	// since the daemon's own are never left half-done by itself.
	PendingGrace time.Duration
	// Timing, when set, is told how long each step of a session took (see
	// the Step constants). Reader's and DryRun's engines are not timed.
	Timing Timing
}

// RinginuseSource tells what AMI events taught of ringinuse.
type RinginuseSource interface {
	// Member returns a member's ringinuse (nil: unknown) and whether it is
	// assumed: the queue's default after a reload Asterisk announced.
	Member(k state.Key) (v *bool, assumed bool)
	// QueueDefault returns a queue's default ringinuse (yes when unknown).
	QueueDefault(queue string) bool
}

// Engine reconciles one node. It is safe for concurrent use: sessions are
// serialised by an internal lock.
type Engine struct {
	opts   Options
	mu     *sync.Mutex
	silent *silentSet
	start  *startCache // Asterisk's start time per connection (see steadyReadOnLink)
	reader bool        // made by Reader
}

// ErrQueueUndefined is reported for a register whose queue the local
// Asterisk does not define.
var ErrQueueUndefined = errors.New("queue not defined on this node")

// New returns an engine.
func New(o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{opts: o, mu: new(sync.Mutex), silent: &silentSet{}, start: &startCache{}}
}

// DryRun returns an engine that shares e's lock, journal and AMI session but
// changes nothing: sessions decide as usual and write nothing.
func (e *Engine) DryRun() *Engine {
	o := e.opts
	o.DryRun, o.Timing = true, nil
	return &Engine{opts: o, mu: e.mu, silent: e.silent, start: e.start}
}

// Reader returns an engine that changes nothing, like DryRun, for readers
// of the node's state (the status page, a peer's dry run) that must not
// hold up the live path. It reads Asterisk through a, a manager session
// of its own (without events), one queue per QueueStatus: Asterisk holds
// a queue's lock while it lists the queue's members, and an action waits
// for it. Its sessions take a lock of their own, never e's, and read the
// journal before Asterisk: a change e applies meanwhile shows as its old
// value or its new one, and the reader's reconcile never undoes it (read
// the other way round, Asterisk's old value would look like a change made
// after the journal's new one).
func (e *Engine) Reader(a AMI) *Engine {
	o := e.opts
	o.DryRun, o.AMI, o.Timing = true, a, nil
	return &Engine{opts: o, mu: new(sync.Mutex), silent: e.silent, start: &startCache{}, reader: true}
}

// Node returns this node's name.
func (e *Engine) Node() string { return e.opts.Node }

// Clock returns the node's clock.
func (e *Engine) Clock() *state.Clock { return e.opts.Clock }

// Begin takes the engine's lock and reads a consistent view: Asterisk's start
// time, its queues and members, and the journal, for queues (all when
// empty). The caller must End the session.
func (e *Engine) Begin(ctx context.Context, queues []string) (*Session, error) {
	return e.locked(func() (*Session, error) { return e.begin(ctx, queues) })
}

// locked takes the engine's lock for the session begin returns; the lock
// is released at once when begin fails, and by Session.End otherwise.
func (e *Engine) locked(begin func() (*Session, error)) (*Session, error) {
	start := time.Now()
	e.mu.Lock()
	e.timed(StepLockWait, start)
	s, err := begin()
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return s, nil
}

func (e *Engine) begin(ctx context.Context, queues []string) (*Session, error) {
	journal := map[state.Key]store.Entry{}
	var view *View
	observe := func() (err error) {
		view, err = e.observe(ctx, queues)
		return err
	}
	list := func() error {
		return e.listJournal(ctx, queues, func(en store.Entry) { journal[en.Key()] = en })
	}
	var err error
	if e.reader {
		err = list()
		if err == nil {
			err = observe()
		}
	} else {
		err = alongside(observe, list)
	}
	if err != nil {
		return nil, err
	}
	// A session of some queues must not record Asterisk's start as
	// reconciled: the other queues are not.
	return &Session{e: e, view: view, journal: journal, partial: len(queues) > 0}, nil
}

// alongside runs read and other at the same time (a read of Asterisk and
// one of the journal: this engine writes neither while its lock is held,
// and a change by another process lands before, between or after the two
// reads in either order) and returns their errors.
func alongside(read, other func() error) error {
	done := make(chan error, 1)
	go func() { done <- other() }()
	err := read()
	return errors.Join(err, <-done)
}

// listEacher is a journal that lists its entries as they arrive
// (store.Store): the session's map is then the only copy of the journal.
type listEacher interface {
	ListEach(ctx context.Context, queues []string, each func(store.Entry)) error
}

func (e *Engine) listJournal(ctx context.Context, queues []string, each func(store.Entry)) error {
	defer e.timed(StepJournalRead, time.Now())
	if l, ok := e.opts.Journal.(listEacher); ok {
		return l.ListEach(ctx, queues, each)
	}
	entries, err := e.opts.Journal.List(ctx, queues)
	for _, en := range entries {
		each(en)
	}
	return err
}
