package ami

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// Link is a self-healing session: it dials on first use and again whenever
// the connection has gone, so that a restarted Asterisk or a cut TCP
// connection costs one failed action at most. Its queue methods are those
// of Client, retried once on a fresh connection when the first attempt
// found the connection closed; a change (add, remove, pause, penalty) that
// was sent before the connection was lost is read back first and sent
// again only if Asterisk does not hold it, so that it is never made twice.
// It is safe for concurrent use.
type Link struct {
	dial func(ctx context.Context) (*Client, error)

	mu  sync.Mutex
	cl  *Client
	gen uint64 // connections dialled so far: the number of the current one
}

// NewLink returns a Link that connects with dial, which must return a
// logged-in client. Nothing is dialled until the first use.
func NewLink(dial func(ctx context.Context) (*Client, error)) *Link {
	return &Link{dial: dial}
}

// Client returns the live client, dialling a new one when there is none or
// the last one has gone.
func (l *Link) Client(ctx context.Context) (*Client, error) {
	cl, _, err := l.ClientGeneration(ctx)
	return cl, err
}

// ClientGeneration is Client, with the number of that client's connection
// (see Generation): what arrives on the client belongs to that generation.
func (l *Link) ClientGeneration(ctx context.Context) (*Client, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cl != nil {
		select {
		case <-l.cl.Done():
			l.cl = nil
		default:
			return l.cl, l.gen, nil
		}
	}
	cl, err := l.dial(ctx)
	if err != nil {
		return nil, 0, err
	}
	l.cl, l.gen = cl, l.gen+1
	return cl, l.gen, nil
}

// Generation returns the number of the current connection (0 before the
// first). It changes at every dial: a restart of Asterisk always closes the
// connection, so state read under one generation is of one Asterisk run.
func (l *Link) Generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// Close logs off and closes the current connection, if any. A later use
// dials again.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cl == nil {
		return nil
	}
	_ = l.cl.Logoff(context.Background())
	err := l.cl.Close()
	l.cl = nil
	return err
}

// retry runs f on a live client and once more on a fresh connection when
// the first attempt found the connection closed.
func retry[T any](ctx context.Context, l *Link, f func(*Client) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		cl, err := l.Client(ctx)
		if err != nil {
			return zero, err
		}
		v, err := f(cl)
		if err == nil || !errors.Is(err, ErrClosed) || attempt > 0 {
			return v, err
		}
	}
}

func retryErr(ctx context.Context, l *Link, f func(*Client) error) error {
	_, err := retry(ctx, l, func(c *Client) (struct{}, error) { return struct{}{}, f(c) })
	return err
}

// QueueStatus is Client.QueueStatus on the live connection.
func (l *Link) QueueStatus(ctx context.Context, queue, member string) (QueueStatus, error) {
	return retry(ctx, l, func(c *Client) (QueueStatus, error) { return c.QueueStatus(ctx, queue, member) })
}

// CoreStatus is Client.CoreStatus on the live connection.
func (l *Link) CoreStatus(ctx context.Context) (CoreStatus, error) {
	return retry(ctx, l, func(c *Client) (CoreStatus, error) { return c.CoreStatus(ctx) })
}

// QueueAdd is Client.QueueAdd on the live connection. Like every change
// below, it is sent again on a fresh connection when the first was lost
// before the action was sent, or after it was sent (ErrUnanswered) and a
// read of the member shows it was not carried out: a change is never made
// twice (two queue_log lines for one pause).
func (l *Link) QueueAdd(ctx context.Context, r QueueAddRequest) error {
	return change(ctx, l, func(c *Client) error { return c.QueueAdd(ctx, r) },
		holds(ctx, r.Queue, r.Interface, func(m *QueueMember) bool { return m != nil }))
}

// QueueRemove is Client.QueueRemove on the live connection.
func (l *Link) QueueRemove(ctx context.Context, queue, iface string) error {
	return change(ctx, l, func(c *Client) error { return c.QueueRemove(ctx, queue, iface) },
		holds(ctx, queue, iface, func(m *QueueMember) bool { return m == nil }))
}

// QueuePause is Client.QueuePause on the live connection.
func (l *Link) QueuePause(ctx context.Context, queue, iface string, paused bool, reason string) error {
	return change(ctx, l, func(c *Client) error { return c.QueuePause(ctx, queue, iface, paused, reason) },
		holds(ctx, queue, iface, func(m *QueueMember) bool {
			return m != nil && m.Paused == paused && (!paused || m.PausedReason == reason)
		}))
}

// QueuePenalty is Client.QueuePenalty on the live connection.
func (l *Link) QueuePenalty(ctx context.Context, queue, iface string, penalty int) error {
	return change(ctx, l, func(c *Client) error { return c.QueuePenalty(ctx, queue, iface, penalty) },
		holds(ctx, queue, iface, func(m *QueueMember) bool { return m != nil && m.Penalty == penalty }))
}

// QueueMemberRingInUse is Client.QueueMemberRingInUse on the live
// connection. QueueStatus does not show ringinuse: an unanswered one is sent
// again (Asterisk logs no queue_log line for it).
func (l *Link) QueueMemberRingInUse(ctx context.Context, queue, iface string, ringinuse bool) error {
	return change(ctx, l, func(c *Client) error { return c.QueueMemberRingInUse(ctx, queue, iface, ringinuse) }, nil)
}

// change runs a change on a live client and, when the connection was lost,
// once more on a fresh one, unless it had been sent and done reports that
// Asterisk holds it already (nil done: send again).
func change(ctx context.Context, l *Link, f func(*Client) error, done func(*Client) (bool, error)) error {
	cl, err := l.Client(ctx)
	if err != nil {
		return err
	}
	err = f(cl)
	if err == nil || !errors.Is(err, ErrClosed) {
		return err
	}
	cl, cerr := l.Client(ctx)
	if cerr != nil {
		return errors.Join(err, cerr)
	}
	if errors.Is(err, ErrUnanswered) && done != nil {
		held, derr := done(cl)
		if derr != nil {
			return errors.Join(err, derr)
		}
		if held {
			return nil
		}
	}
	return f(cl)
}

// holds returns a check of whether Asterisk's member iface of queue is as
// want says (nil: not a member).
func holds(ctx context.Context, queue, iface string, want func(*QueueMember) bool) func(*Client) (bool, error) {
	return func(c *Client) (bool, error) {
		qs, err := c.QueueStatus(ctx, queue, iface)
		if err != nil {
			return false, err
		}
		var m *QueueMember
		for i := range qs.Members {
			if strings.EqualFold(qs.Members[i].Queue, queue) && strings.EqualFold(qs.Members[i].Interface, iface) {
				m = &qs.Members[i]
			}
		}
		return want(m), nil
	}
}
