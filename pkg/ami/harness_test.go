package ami_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// harness is what a scenario gets: a logged-in client with all events (C),
// a second logged-in connection with agent events only (C2), and helpers.
// The same scenarios run against the fake (scenarios_test.go) and against a
// real Asterisk (e2e_test.go), so they compare only what both must agree on.
type harness struct {
	Addr             string
	User, Secret     string
	MinUser          string // a user with read=agent, write=agent
	Real             bool
	C, C2            *ami.Client
	nextIface        func() int
	restart          func(t *testing.T) // "core restart now" and wait until booted
	persistsOverBoot bool
}

// scenario is one behaviour checked against both servers.
type scenario struct {
	name string
	fn   func(t *testing.T, h *harness)
}

// runScenarios runs every scenario with a fresh harness from setup.
func runScenarios(t *testing.T, setup func(t *testing.T) *harness) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			sc.fn(t, setup(t))
		})
	}
}

// ctxFor returns a context that ends with the test or after 20 s.
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect completes a harness: it dials C (events on) and C2 (agent events).
func (h *harness) connect(t *testing.T) *harness {
	h.C = h.login(t, h.User, "on")
	h.C2 = h.login(t, h.User, "agent")
	return h
}

// dial opens a connection that is closed when the test ends.
func (h *harness) dial(t testing.TB) *ami.Client {
	t.Helper()
	c, err := ami.Dial(ctxFor(t), h.Addr, ami.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", h.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// login dials and logs in as user with the given Events value.
func (h *harness) login(t testing.TB, user, events string) *ami.Client {
	t.Helper()
	c := h.dial(t)
	if err := c.Login(ctxFor(t), user, h.Secret, events); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// iface allocates a fresh member interface in Local/71xx..79xx@agents and
// removes it from every queue when the test ends.
func (h *harness) iface(t testing.TB) string {
	t.Helper()
	n := h.nextIface()
	if n < 7100 || n > 7999 {
		t.Fatalf("interface range exhausted: %d", n)
	}
	iface := fmt.Sprintf("Local/%d@agents", n)
	t.Cleanup(func() { h.removeEverywhere(t, iface) })
	return iface
}

// removeEverywhere removes iface from the three test queues, ignoring
// "Not there".
func (h *harness) removeEverywhere(t testing.TB, iface string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ami.Dial(ctx, h.Addr, ami.Options{})
	if err != nil {
		t.Errorf("cleanup dial: %v", err)
		return
	}
	defer c.Close()
	if err := c.Login(ctx, h.User, h.Secret, "off"); err != nil {
		t.Errorf("cleanup login: %v", err)
		return
	}
	for _, q := range []string{"sales", "support", "billing"} {
		if err := c.QueueRemove(ctx, q, iface); err != nil && !errors.Is(err, ami.ErrNotThere) {
			t.Errorf("cleanup remove %s from %s: %v", iface, q, err)
		}
	}
}

// add adds a member and fails the test on error.
func (h *harness) add(t testing.TB, r ami.QueueAddRequest) {
	t.Helper()
	if err := h.C.QueueAdd(ctxFor(t), r); err != nil {
		t.Fatalf("QueueAdd %s to %s: %v", r.Interface, r.Queue, err)
	}
}

// expect waits on c for the member event name about iface (in queue, if
// non-empty) and returns it. Other events are skipped.
func expect(t testing.TB, c *ami.Client, name, queue, iface string) ami.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s of %s in %q: %v", name, iface, queue, err)
		}
		if ev.Gap || ev.Event() != name || ev.Get("Interface") != iface {
			continue
		}
		if queue == "" || ev.Get("Queue") == queue {
			return ev
		}
	}
}

// expectEach waits on c for one member event name about iface per queue,
// in any order: Asterisk walks its queues in hash order.
func expectEach(t testing.TB, c *ami.Client, name, iface string, queues ...string) {
	t.Helper()
	left := make(map[string]bool)
	for _, q := range queues {
		left[q] = true
	}
	for len(left) > 0 {
		ev := expect(t, c, name, "", iface)
		if !left[ev.Get("Queue")] {
			t.Fatalf("unexpected %s for queue %q", name, ev.Get("Queue"))
		}
		delete(left, ev.Get("Queue"))
	}
}

// expectErr checks errors.Is(err, want).
func expectErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// members returns the members of a QueueStatus result that use one of ifaces.
func members(st ami.QueueStatus, ifaces ...string) map[string]ami.QueueMember {
	out := make(map[string]ami.QueueMember)
	for _, m := range st.Members {
		for _, i := range ifaces {
			if m.Interface == i {
				out[m.Queue+" "+i] = m
			}
		}
	}
	return out
}

// checkMember compares the configuration fields of a member.
func checkMember(t testing.TB, what string, got, want ami.QueueMember) {
	t.Helper()
	g, w := got, want
	g.CallsTaken, g.LastCall, g.LastPause, g.LoginTime, g.InCall, g.Status = 0, 0, 0, 0, false, 0
	w.CallsTaken, w.LastCall, w.LastPause, w.LoginTime, w.InCall, w.Status = 0, 0, 0, 0, false, 0
	if (g.Ringinuse == nil) != (w.Ringinuse == nil) || (g.Ringinuse != nil && *g.Ringinuse != *w.Ringinuse) {
		t.Errorf("%s: Ringinuse = %v, want %v", what, ptr(g.Ringinuse), ptr(w.Ringinuse))
	}
	if gw, ww := seconds(g.Wrapuptime), seconds(w.Wrapuptime); gw != ww {
		t.Errorf("%s: Wrapuptime = %d, want %d", what, gw, ww)
	}
	g.Ringinuse, w.Ringinuse, g.Wrapuptime, w.Wrapuptime = nil, nil, nil, nil
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// seconds reads an optional wrap-up time, 0 when not reported.
func seconds(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// ptr renders an optional bool.
func ptr(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

// boolp returns a pointer to b.
func boolp(b bool) *bool { return &b }
