package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/queuesync/queuesync/pkg/ami"
)

// amiLink is a self-healing AMI session: it dials on first use and again
// whenever the connection has gone, so that a restarted Asterisk or a cut
// TCP connection costs one failed action at most.
type amiLink struct {
	dial func(ctx context.Context) (*ami.Client, error)
	mu   sync.Mutex
	cl   *ami.Client
	gen  uint64 // connections dialled so far: the number of the current one
}

func (l *amiLink) client(ctx context.Context) (*ami.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cl != nil {
		select {
		case <-l.cl.Done():
			l.cl = nil
		default:
			return l.cl, nil
		}
	}
	cl, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	l.cl, l.gen = cl, l.gen+1
	return cl, nil
}

// generation returns the number of the current connection (0 before the
// first). It changes at every dial: a restart of Asterisk always closes the
// connection, so state read under one generation is of one Asterisk run.
func (l *amiLink) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

func (l *amiLink) Close() error {
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

// with runs f on a live client and retries once on a fresh connection when
// the first attempt found the connection closed.
func with[T any](ctx context.Context, l *amiLink, f func(*ami.Client) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		cl, err := l.client(ctx)
		if err != nil {
			return zero, err
		}
		v, err := f(cl)
		if err == nil || !errors.Is(err, ami.ErrClosed) || attempt > 0 {
			return v, err
		}
	}
}

func do(ctx context.Context, l *amiLink, f func(*ami.Client) error) error {
	_, err := with(ctx, l, func(c *ami.Client) (struct{}, error) { return struct{}{}, f(c) })
	return err
}

// The engine.AMI methods.

func (l *amiLink) QueueStatus(ctx context.Context, queue, member string) (ami.QueueStatus, error) {
	return with(ctx, l, func(c *ami.Client) (ami.QueueStatus, error) { return c.QueueStatus(ctx, queue, member) })
}

func (l *amiLink) CoreStatus(ctx context.Context) (ami.CoreStatus, error) {
	return with(ctx, l, func(c *ami.Client) (ami.CoreStatus, error) { return c.CoreStatus(ctx) })
}

func (l *amiLink) QueueAdd(ctx context.Context, r ami.QueueAddRequest) error {
	return do(ctx, l, func(c *ami.Client) error { return c.QueueAdd(ctx, r) })
}

func (l *amiLink) QueueRemove(ctx context.Context, queue, iface string) error {
	return do(ctx, l, func(c *ami.Client) error { return c.QueueRemove(ctx, queue, iface) })
}

func (l *amiLink) QueuePause(ctx context.Context, queue, iface string, paused bool, reason string) error {
	return do(ctx, l, func(c *ami.Client) error { return c.QueuePause(ctx, queue, iface, paused, reason) })
}

func (l *amiLink) QueuePenalty(ctx context.Context, queue, iface string, penalty int) error {
	return do(ctx, l, func(c *ami.Client) error { return c.QueuePenalty(ctx, queue, iface, penalty) })
}

func (l *amiLink) QueueMemberRingInUse(ctx context.Context, queue, iface string, v bool) error {
	return do(ctx, l, func(c *ami.Client) error { return c.QueueMemberRingInUse(ctx, queue, iface, v) })
}
