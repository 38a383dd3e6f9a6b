package engine_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// call is one queue action the engine sent.
type call struct {
	Kind      string
	Queue     string
	Interface string
	Detail    string
}

func (c call) String() string { return c.Kind + " " + c.Queue + " " + c.Interface + " " + c.Detail }

// recAMI is the engine's AMI: a session with the fake that redials when
// the connection is gone (a test drops it or restarts the fake) and records
// every queue action. Before, when set, runs before each action and may
// make it fail. Unlike the engine's ami.Link it never retries: a test that
// cuts the connection sees the action fail.
type recAMI struct {
	link *ami.Link

	mu     sync.Mutex
	cl     *ami.Client // the last client the link handed out
	calls  []call
	before func(kind string)
	read   func(kind string) // run before each QueueStatus and CoreStatus
}

func newRecAMI(srv *amitest.Server, user string) *recAMI {
	return &recAMI{link: srv.Link(user, "off")}
}

func (a *recAMI) client(ctx context.Context) (*ami.Client, error) {
	cl, err := a.link.Client(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cl = cl
	return cl, nil
}

func (a *recAMI) close() { _ = a.link.Close() }

// act records an action, takes the client, then runs the hook: a hook that
// drops the connection makes the action fail on that client, as when the
// connection breaks mid-apply.
func (a *recAMI) act(ctx context.Context, c call) (*ami.Client, error) {
	a.mu.Lock()
	a.calls = append(a.calls, c)
	hook := a.before
	a.mu.Unlock()
	cl, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	if hook != nil {
		hook(c.Kind)
	}
	return cl, nil
}

// setBefore sets the hook run before each action.
func (a *recAMI) setBefore(f func(kind string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.before = f
}

// current returns the client in use, or nil.
func (a *recAMI) current() *ami.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cl
}

// Calls returns the actions sent so far and forgets them.
func (a *recAMI) Calls() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.calls
	a.calls = nil
	return out
}

// setRead sets the hook run before each read.
func (a *recAMI) setRead(f func(kind string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.read = f
}

func (a *recAMI) reading(kind string) {
	a.mu.Lock()
	hook := a.read
	a.mu.Unlock()
	if hook != nil {
		hook(kind)
	}
}

func (a *recAMI) QueueStatus(ctx context.Context, queue, member string) (ami.QueueStatus, error) {
	a.reading("QueueStatus")
	cl, err := a.client(ctx)
	if err != nil {
		return ami.QueueStatus{}, err
	}
	return cl.QueueStatus(ctx, queue, member)
}

func (a *recAMI) CoreStatus(ctx context.Context) (ami.CoreStatus, error) {
	a.reading("CoreStatus")
	cl, err := a.client(ctx)
	if err != nil {
		return ami.CoreStatus{}, err
	}
	return cl.CoreStatus(ctx)
}

func (a *recAMI) QueueAdd(ctx context.Context, r ami.QueueAddRequest) error {
	d := fmt.Sprintf("name=%s si=%s penalty=%d paused=%t reason=%s", r.MemberName, r.StateInterface, r.Penalty, r.Paused, r.Reason)
	if r.Wrapuptime != nil {
		d += fmt.Sprintf(" wrapuptime=%d", *r.Wrapuptime)
	}
	cl, err := a.act(ctx, call{"QueueAdd", r.Queue, r.Interface, d})
	if err != nil {
		return err
	}
	return cl.QueueAdd(ctx, r)
}

func (a *recAMI) QueueRemove(ctx context.Context, queue, iface string) error {
	cl, err := a.act(ctx, call{"QueueRemove", queue, iface, ""})
	if err != nil {
		return err
	}
	return cl.QueueRemove(ctx, queue, iface)
}

func (a *recAMI) QueuePause(ctx context.Context, queue, iface string, paused bool, reason string) error {
	cl, err := a.act(ctx, call{"QueuePause", queue, iface, fmt.Sprintf("paused=%t reason=%s", paused, reason)})
	if err != nil {
		return err
	}
	return cl.QueuePause(ctx, queue, iface, paused, reason)
}

func (a *recAMI) QueuePenalty(ctx context.Context, queue, iface string, penalty int) error {
	cl, err := a.act(ctx, call{"QueuePenalty", queue, iface, fmt.Sprintf("penalty=%d", penalty)})
	if err != nil {
		return err
	}
	return cl.QueuePenalty(ctx, queue, iface, penalty)
}

func (a *recAMI) QueueMemberRingInUse(ctx context.Context, queue, iface string, v bool) error {
	cl, err := a.act(ctx, call{"QueueMemberRingInUse", queue, iface, fmt.Sprintf("ringinuse=%t", v)})
	if err != nil {
		return err
	}
	return cl.QueueMemberRingInUse(ctx, queue, iface, v)
}
