package ami

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Event is an unsolicited event, or a gap marker. When Gap is true the
// Message is empty and events were lost because the queue overflowed: the
// caller must take a full snapshot (for example QueueStatus) before trusting
// its state again.
type Event struct {
	Message
	Gap bool
	// Received is when the client read the event off the connection (zero
	// for a gap marker): an event received before some action was sent
	// was emitted before Asterisk handled that action.
	Received time.Time
}

// NextEvent returns the next unsolicited event: a message with an Event
// header whose ActionID (if any) matches no pending list request. Events
// already queued are returned even if ctx is done, so a cancelled ctx can be
// used to poll.
//
// Overflow policy: the reader never blocks on a slow consumer. When an event
// arrives while Options.EventBuffer events are queued, every queued event is
// discarded and a gap is recorded; the next NextEvent returns Event{Gap:
// true} before the events that arrived after the overflow.
//
// After the connection closes, NextEvent drains the remaining queued events
// (and a pending gap), then returns an error wrapping ErrClosed.
func (c *Client) NextEvent(ctx context.Context) (Event, error) {
	for {
		ev, ok, err := c.events.pop()
		if ok {
			return ev, err
		}
		select {
		case <-c.events.notify:
		case <-c.done:
		case <-ctx.Done():
			if ev, ok, err := c.events.pop(); ok {
				return ev, err
			}
			return Event{}, fmt.Errorf("ami next event: %w", ctx.Err())
		}
	}
}

// eventQueue is the bounded queue of unsolicited events.
type eventQueue struct {
	mu     sync.Mutex
	items  []queued
	head   int // items[head:] are queued
	limit  int
	gap    bool
	err    error // set once the connection is gone
	notify chan struct{}
}

// queued is an event in the queue, with when it was read.
type queued struct {
	m  Message
	at time.Time
}

// init prepares an empty queue holding at most limit events.
func (q *eventQueue) init(limit int) {
	q.limit = limit
	q.notify = make(chan struct{}, 1)
}

// push appends m, or on overflow discards everything queued, records a gap
// and then appends m. It never blocks.
func (q *eventQueue) push(m Message) {
	at := time.Now()
	q.mu.Lock()
	if len(q.items)-q.head >= q.limit {
		clear(q.items)
		q.items, q.head, q.gap = q.items[:0], 0, true
	}
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, queued{m, at})
	q.mu.Unlock()
	q.signal()
}

// pop returns the gap marker, the oldest event, or the close error, with
// ok false when there is nothing to return yet.
func (q *eventQueue) pop() (ev Event, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.gap:
		q.gap = false
		ev, ok = Event{Gap: true}, true
	case q.head < len(q.items):
		ev, ok = Event{Message: q.items[q.head].m, Received: q.items[q.head].at}, true
		q.items[q.head] = queued{}
		q.head++
	case q.err != nil:
		return Event{}, true, fmt.Errorf("ami next event: %w", q.err)
	default:
		return Event{}, false, nil
	}
	if q.gap || q.head < len(q.items) {
		q.signal() // wake another consumer for the rest
	}
	return ev, ok, nil
}

// close records that no more events will come.
func (q *eventQueue) close(err error) {
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	q.signal()
}

// signal wakes one waiting consumer without blocking.
func (q *eventQueue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}
