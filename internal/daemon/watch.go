package daemon

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// amiRetryMax bounds the wait between two connects to an unreachable
// Asterisk (the jitter adds up to half of it): the daemon must find its
// Asterisk again within a second or two of its return, when every change
// made meanwhile is waiting for the reconcile. A connect to the local
// manager costs next to nothing; "unreachable" is logged once a minute.
const (
	amiRetryMax         = time.Second
	amiUnreachableEvery = time.Minute
)

// watch keeps the AMI event session alive: at every (re)connect, FullyBooted
// and event-queue overflow it reconciles every member (architecture.md §2 rule 4);
// in between, each member event is a hint to re-read that member and journal
// it if it really changed.
func (d *Daemon) watch(ctx context.Context) {
	bo := newBackoff(100*time.Millisecond, amiRetryMax)
	var said time.Time // when "unreachable" was last logged in this outage
	for ctx.Err() == nil {
		cl, gen, err := d.link.ClientGeneration(ctx)
		if err != nil {
			d.metrics.amiUp.Set(0)
			if now := d.opts.Now(); said.IsZero() || now.Sub(said) >= amiUnreachableEvery {
				d.opts.Log.Warn("asterisk manager unreachable", "addr", d.cfg().AMI.Address, "err", err)
				said = now
			}
			bo.wait(ctx)
			continue
		}
		said = time.Time{}
		d.metrics.amiUp.Set(1)
		err = d.follow(ctx, cl, gen)
		d.metrics.amiUp.Set(0)
		if ctx.Err() != nil {
			return
		}
		d.opts.Log.Warn("asterisk manager session ended; reconnecting", "err", err)
		_ = cl.Close()
		if d.reconciled.Load() == gen {
			bo.reset() // the session worked (follow never returns nil): reconnect at once
		}
		bo.wait(ctx)
	}
}

// follow handles one AMI connection until it fails.
func (d *Daemon) follow(ctx context.Context, cl *ami.Client, gen uint64) error {
	// What events taught about ringinuse may be stale now (Asterisk may have
	// restarted and reset it): unknown is safer than wrong, since the engine
	// neither journals nor acts on an unknown ringinuse.
	d.ringuse.forget()
	// Asterisk sends FullyBooted at login when it has booted already: the
	// connect reconcile, which reads after that, needs no second one. An
	// event received before the answer to a Ping was emitted before it.
	if err := cl.Ping(ctx); err != nil {
		return err
	}
	reading := time.Now() // the clock pkg/ami stamps events with
	if err := d.reconcileAll(ctx, "connect"); err != nil {
		return err
	}
	events := pump(ctx, cl)
	for {
		batch, err := nextBatch(ctx, events)
		if err != nil {
			return err
		}
		if err := d.handle(ctx, batch, gen, reading); err != nil {
			return err
		}
	}
}

// handle processes one batch of events: a gap or FullyBooted means a full
// reconcile (not a FullyBooted received before the connection's first
// reconcile began reading, at connected: that one read a booted Asterisk);
// a member event that carries the member's whole state is a reading of it
// (architecture.md §4), one that does not is a hint to ask Asterisk.
func (d *Daemon) handle(ctx context.Context, batch []ami.Event, gen uint64, connected time.Time) error {
	var (
		seen  []engine.Seen
		hints []engine.Member
		full  string
	)
	for _, ev := range batch {
		name := ev.Event()
		d.ringuse.learn(ev.Message, gen)
		switch {
		case ev.Gap:
			full = "event queue overflow"
		case name == "FullyBooted" && ev.Received.Before(connected):
			d.opts.Log.Debug("FullyBooted before the connect reconcile read: nothing more to read")
		case name == "FullyBooted":
			full = "FullyBooted"
		case isQueueReload(ev.Message):
			d.ringuse.reload(gen)
			full = "app_queue reload"
		case ami.IsMemberEvent(name):
			d.metrics.events.WithLabelValues(name).Inc()
			m := ami.DecodeQueueMember(ev.Message)
			if ami.HasMemberState(ev.Message) {
				seen = append(seen, engine.Seen{Member: m, Removed: strings.EqualFold(name, "QueueMemberRemoved"), Received: ev.Received})
			} else {
				hints = append(hints, engine.Member{Queue: m.Queue, Interface: m.Interface})
			}
		}
	}
	if full != "" {
		return d.reconcileAll(ctx, full)
	}
	now := d.opts.Now()
	if len(seen) > 0 && gen == d.reconciled.Load() {
		err := d.captureWith(ctx, func() (*engine.Session, error) { return d.eng.BeginSeen(ctx, seen) }, now)
		if err != nil {
			return err
		}
	}
	if len(hints) == 0 {
		return nil
	}
	return d.capture(ctx, hints, now)
}

func (d *Daemon) capture(ctx context.Context, hints []engine.Member, seen time.Time) error {
	return d.captureWith(ctx, func() (*engine.Session, error) { return d.eng.BeginMembers(ctx, hints) }, seen)
}

// captureWith journals the local changes among the members of the session
// begin opens.
func (d *Daemon) captureWith(ctx context.Context, begin func() (*engine.Session, error), seen time.Time) error {
	sess, err := begin()
	if err != nil {
		return err
	}
	if !d.upToDate() {
		// Read on a connection not yet reconciled: Asterisk may have
		// restarted since the events. The reconcile that follows every
		// reconnect covers these members.
		sess.End()
		return nil
	}
	outs, err := sess.Capture(ctx)
	sess.End()
	d.recordLocal(outs, seen)
	return err
}

// reconcileAll reconciles every member and wakes the deliverers.
func (d *Daemon) reconcileAll(ctx context.Context, why string) error {
	// A full reconcile holds every member twice for a moment (live state
	// and journal) and makes a burst of garbage: collecting more often
	// meanwhile keeps the peak near what is live (a first start at 100,000
	// members peaked at 175 MB instead of 208 MB, in the same time).
	defer lowerGC()()
	gen := d.link.Generation()
	sess, err := d.eng.Begin(ctx, nil)
	if err != nil {
		return err
	}
	changes, now := 0, d.opts.Now()
	err = sess.ReconcileEach(ctx, func(outs []engine.Outcome) {
		changes += countChanged(outs)
		d.recordLocal(outs, now)
	})
	members := len(sess.View().Members)
	sess.End()
	if err == nil && d.link.Generation() == gen {
		d.reconciled.Store(gen)
	}
	d.opts.Log.Info("reconciled live state", "why", why, "changes", changes)
	if members >= returnMemoryAfter {
		// The reconcile held every member twice (live and journal) for a
		// moment; the daemon then holds none until the next gap. Give the
		// memory back to the system now rather than over minutes.
		debug.FreeOSMemory()
	}
	return err
}

// reconcileGCPercent is the garbage collector's GOGC during a full
// reconcile (the runtime's default is 100).
const reconcileGCPercent = 25

// gcLow counts the full reconciles running (the watch's, a peer's state
// request's, a peer change's): GOGC is the process's, so the first to
// start lowers it and the last to end puts it back.
var gcLow struct {
	sync.Mutex
	running, saved int
}

// lowerGC sets GOGC to reconcileGCPercent until the returned func is
// called.
func lowerGC() (restore func()) {
	gcLow.Lock()
	defer gcLow.Unlock()
	if gcLow.running == 0 {
		gcLow.saved = debug.SetGCPercent(reconcileGCPercent)
	}
	gcLow.running++
	return func() {
		gcLow.Lock()
		defer gcLow.Unlock()
		if gcLow.running--; gcLow.running == 0 {
			debug.SetGCPercent(gcLow.saved)
		}
	}
}

// returnMemoryAfter is the size of a reconcile (members read) after which
// the daemon returns its freed memory to the system.
const returnMemoryAfter = 5000

// upToDate reports whether the current AMI connection is the one the
// journal was last fully reconciled on. Until it is, a session scoped to some
// members cannot tell a restart's losses from local changes when CoreStatus
// is not allowed (the least-privilege AMI user): it must not journal them.
func (d *Daemon) upToDate() bool {
	g := d.link.Generation()
	return g != 0 && g == d.reconciled.Load()
}

func (d *Daemon) recordLocal(outs []engine.Outcome, seen time.Time) {
	var queues []string
	for _, o := range outs {
		d.opts.SyncLog.Outcome("local", o)
		if o.Result == engine.Journalled {
			queues = append(queues, o.Queue)
			d.latency.noteJournalled(o, seen)
		}
	}
	if len(queues) > 0 {
		d.metrics.journalled.Add(float64(len(queues)))
		d.wakeFor("", queues)
	}
}

func countChanged(outs []engine.Outcome) int {
	n := 0
	for _, o := range outs {
		if o.Changed() {
			n++
		}
	}
	return n
}

// pump moves events from the client to a channel so that they can be
// taken in batches. The channel closes with the connection.
func pump(ctx context.Context, cl *ami.Client) <-chan eventOrErr {
	ch := make(chan eventOrErr, 1024)
	go func() {
		defer close(ch)
		for {
			ev, err := cl.NextEvent(ctx)
			select {
			case ch <- eventOrErr{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

type eventOrErr struct {
	ev  ami.Event
	err error
}

// nextBatch waits for one event, then takes every event already waiting.
func nextBatch(ctx context.Context, ch <-chan eventOrErr) ([]ami.Event, error) {
	var batch []ami.Event
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case e, ok := <-ch:
		if !ok {
			return nil, errors.New("event stream closed")
		}
		if e.err != nil {
			return nil, e.err
		}
		batch = append(batch, e.ev)
	}
	for len(batch) < 512 {
		select {
		case e, ok := <-ch:
			if !ok || e.err != nil {
				return batch, nil
			}
			batch = append(batch, e.ev)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// pollSilent reads, every health_interval, the members Asterisk sends no
// event for (a name, state interface or reason that is not UTF-8): those the
// engine saw live (engine.Silent) and those the journal holds (journalled
// by a resync or a peer), so that their changes are journalled and
// delivered like the others', a poll late. A new such member is found by
// the next full reconcile (a resync, a reconnect).
func (d *Daemon) pollSilent(ctx context.Context) {
	tick := time.NewTicker(d.cfg().HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ms := d.silentMembers(ctx)
		if len(ms) == 0 || !d.upToDate() {
			continue
		}
		if err := d.capture(ctx, ms, d.opts.Now()); err != nil && ctx.Err() == nil {
			d.opts.Log.Warn("read members that send no events", "members", len(ms), "err", err)
		}
	}
}

func (d *Daemon) silentMembers(ctx context.Context) []engine.Member {
	ms := d.eng.Silent()
	seen := map[state.Key]bool{}
	for _, m := range ms {
		seen[state.NewKey(m.Queue, m.Interface)] = true
	}
	ens, err := d.journal.ListUnplain(ctx)
	if err != nil && ctx.Err() == nil {
		d.opts.Log.Warn("list members that send no events", "err", err)
	}
	for _, en := range ens {
		if !seen[en.Key()] {
			ms = append(ms, engine.Member{Queue: en.Queue, Interface: en.Interface})
		}
	}
	return ms
}
