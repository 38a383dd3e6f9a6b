//go:build e2e || chaos || bench

package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// DialAMI logs in to n's Asterisk, directly, with the given event mask
// ("off", "agent"...). It tries again every 100 ms, while ctx lasts, when
// the manager refuses the connection or the login (Asterisk starting). The
// caller closes the client.
func (n *Node) DialAMI(ctx context.Context, events string, opts ami.Options) (*ami.Client, error) {
	var lastErr error
	for {
		cl, err := n.login(ctx, events, opts)
		if err == nil {
			return cl, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("AMI of %s at %s: %w", n.Name, n.AMI, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *Node) login(ctx context.Context, events string, opts ami.Options) (*ami.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cl, err := ami.Dial(ctx, n.AMI, opts)
	if err != nil {
		return nil, err
	}
	if err := cl.Login(ctx, n.c.Env.AMIUser, n.c.Env.AMISecret, events); err != nil {
		_ = cl.Close()
		return nil, err
	}
	return cl, nil
}

// Session returns the harness's own AMI session to n's Asterisk (events
// off), dialling a new one when the last has closed (Asterisk restarted).
func (n *Node) Session(ctx context.Context) (*ami.Client, error) {
	return n.link.Client(ctx)
}

// CloseAMI closes the harness's session, if any; the next Session dials.
func (n *Node) CloseAMI() { _ = n.link.Close() }

// WithAMI runs f on n's harness session, up to three times more on a fresh
// session when the session closed or timed out under f.
func WithAMI[T any](n *Node, f func(context.Context, *ami.Client) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cl, err := n.Session(ctx)
		if err != nil {
			cancel()
			var zero T
			return zero, err
		}
		v, err := f(ctx, cl)
		cancel()
		if err != nil && (errors.Is(err, ami.ErrClosed) || errors.Is(err, context.DeadlineExceeded)) && attempt < 3 {
			n.CloseAMI()
			continue
		}
		return v, err
	}
}
