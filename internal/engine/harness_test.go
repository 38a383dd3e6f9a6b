package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/internal/store/storetest"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// The tests drive real engines against the fake Asterisk of pkg/ami/amitest
// (over TCP on 127.0.0.1) and a real PostgreSQL journal on a schema of
// their own. Every node of a test shares one manual clock, so that stamps,
// LoginTime and LastPause are deterministic.

// Compile-time checks that the real implementations fit the engine.
var (
	_ engine.AMI        = (*ami.Client)(nil)
	_ engine.Journal    = (*store.Store)(nil)
	_ engine.PeerClient = (*peer.Client)(nil)
)

// base is the manual clock's start: a quarter past a second, so that a
// register stamped "now" is later than Asterisk's second-resolution times.
var base = time.Date(2026, 11, 25, 10, 0, 0, 250e6, time.UTC)

// manualClock is a wall clock that moves only when told.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ctxFor returns a context bounded by 20 s, so that nothing hangs.
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// operator is the name of the fake's account that tests use to play the
// agents and the operator (their actions are not the engine's).
const operator = "operator"

// node is one queuesync node: a fake Asterisk, its journal and an engine.
type node struct {
	t     testing.TB
	name  string
	clk   *manualClock
	srv   *amitest.Server
	ami   *recAMI
	store *store.Store
	clock *state.Clock
	eng   *engine.Engine
	op    *ami.Link // the operator's session
}

// nodeOption adjusts a node's fake Asterisk or engine.
type nodeOption func(*amitest.ServerOptions, *string)

// withQueues configures the fake's queues.
func withQueues(qs ...amitest.Queue) nodeOption {
	return func(o *amitest.ServerOptions, _ *string) { o.Queues = qs }
}

// asUser makes the engine log in as user (default "queuesync", read and
// write all).
func asUser(user string) nodeOption {
	return func(_ *amitest.ServerOptions, u *string) { *u = user }
}

func newNode(t testing.TB, name string, clk *manualClock, opts ...nodeOption) *node {
	t.Helper()
	so := amitest.ServerOptions{Now: clk.Now,
		Users: append(amitest.DefaultUsers(), amitest.User{Name: operator, Secret: "queuesync", Read: "all", Write: "all"})}
	user := "queuesync"
	for _, o := range opts {
		o(&so, &user)
	}
	srv := amitest.NewServer(so)
	t.Cleanup(func() { srv.Close() })
	n := &node{t: t, name: name, clk: clk, srv: srv, ami: newRecAMI(srv, user), store: storetest.New(t),
		clock: state.NewClock(clk.Now, time.Minute), op: srv.Link(operator, "off")}
	t.Cleanup(func() { n.ami.close() })
	t.Cleanup(func() { n.op.Close() })
	n.eng = engine.New(engine.Options{Node: name, AMI: n.ami, Journal: n.store, Clock: n.clock, Now: clk.Now})
	return n
}

// solo returns node sop1 on a manual clock of its own, started at base.
func solo(t testing.TB, opts ...nodeOption) (*node, *manualClock) {
	t.Helper()
	clk := &manualClock{t: base}
	return newNode(t, "sop1", clk, opts...), clk
}

// member is a dynamic member as an agent or the operator adds it.
type member struct {
	Queue, Interface, Name, StateInterface string
	Penalty                                int
	Paused                                 bool
	Reason                                 string
}

// add adds m on the node's Asterisk, as an agent would (not through queuesync).
func (n *node) add(m member) {
	n.t.Helper()
	err := n.op.QueueAdd(ctxFor(n.t), ami.QueueAddRequest{Queue: m.Queue, Interface: m.Interface,
		MemberName: m.Name, StateInterface: m.StateInterface, Penalty: m.Penalty, Paused: m.Paused, Reason: m.Reason})
	n.must("add "+m.Interface, err)
}

// staff has agents add ms a second from now, then lets another second
// pass: how most tests set the scene.
func (n *node) staff(ms ...member) {
	n.t.Helper()
	n.clk.Advance(time.Second)
	for _, m := range ms {
		n.add(m)
	}
	n.clk.Advance(time.Second)
}

// addWith adds m with its own wrap-up time, as an agent logging in would.
func (n *node) addWith(m member, wrapuptime int) {
	n.t.Helper()
	err := n.op.QueueAdd(ctxFor(n.t), ami.QueueAddRequest{Queue: m.Queue, Interface: m.Interface,
		MemberName: m.Name, Penalty: m.Penalty, Wrapuptime: &wrapuptime})
	n.must("add "+m.Interface, err)
}

func (n *node) remove(queue, iface string) {
	n.t.Helper()
	n.must("remove "+iface, n.op.QueueRemove(ctxFor(n.t), queue, iface))
}

func (n *node) pause(queue, iface string, paused bool, reason string) {
	n.t.Helper()
	n.must("pause "+iface, n.op.QueuePause(ctxFor(n.t), queue, iface, paused, reason))
}

func (n *node) penalty(queue, iface string, p int) {
	n.t.Helper()
	n.must("penalty "+iface, n.op.QueuePenalty(ctxFor(n.t), queue, iface, p))
}

// live returns the fake's member iface of queue, or nil.
func (n *node) live(queue, iface string) *ami.QueueMember {
	for _, m := range n.srv.Members(queue) {
		if strings.EqualFold(m.Interface, iface) {
			return &m
		}
	}
	return nil
}

// reconcile runs a full reconcile session.
func (n *node) reconcile() []engine.Outcome {
	n.t.Helper()
	return n.reconcileWith(n.eng, nil)
}

func (n *node) reconcileWith(e *engine.Engine, queues []string) []engine.Outcome {
	n.t.Helper()
	sess := n.begin(e, queues)
	return n.run(sess, "reconcile", sess.Reconcile)
}

// pull runs Begin + Pull from p (as queuesync pull does).
func (n *node) pull(p engine.Peer) []engine.Outcome {
	n.t.Helper()
	return n.pullWith(n.eng, p)
}

func (n *node) pullWith(e *engine.Engine, p engine.Peer) []engine.Outcome {
	n.t.Helper()
	sess := n.begin(e, nil)
	return n.run(sess, "pull from "+p.Name, func(ctx context.Context) ([]engine.Outcome, error) {
		_, outs, err := sess.Pull(ctx, p, nil)
		return outs, err
	})
}

// apply applies regs as received from peer from, in a session scoped to
// their members (as the daemon does).
func (n *node) apply(from string, regs ...state.Register) []engine.Outcome {
	n.t.Helper()
	sess := n.beginMembers(engine.Members(regs))
	return n.run(sess, "apply", func(ctx context.Context) ([]engine.Outcome, error) { return sess.Apply(ctx, from, regs) })
}

// capture runs Capture for the hinted members.
func (n *node) capture(hints ...engine.Member) []engine.Outcome {
	n.t.Helper()
	sess := n.beginMembers(hints)
	return n.run(sess, "capture", sess.Capture)
}

// begin begins a session of e over queues (all when nil), failing the test
// on an error. The caller ends it (run does).
func (n *node) begin(e *engine.Engine, queues []string) *engine.Session {
	n.t.Helper()
	sess, err := e.Begin(ctxFor(n.t), queues)
	n.must("begin", err)
	return sess
}

// beginMembers begins a session of the node's engine over members only.
func (n *node) beginMembers(members []engine.Member) *engine.Session {
	n.t.Helper()
	sess, err := n.eng.BeginMembers(ctxFor(n.t), members)
	n.must("begin members", err)
	return sess
}

// run runs f in sess, ends sess and returns f's outcomes; an error of f
// fails the test, saying what failed.
func (n *node) run(sess *engine.Session, what string, f func(context.Context) ([]engine.Outcome, error)) []engine.Outcome {
	n.t.Helper()
	defer sess.End()
	outs, err := f(ctxFor(n.t))
	n.must(what, err)
	return outs
}

// must fails the test when err is not nil, naming the node and what failed.
func (n *node) must(what string, err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatalf("%s: %s: %v", n.name, what, err)
	}
}

// entry returns the journal entry of queue/iface.
func (n *node) entry(queue, iface string) (store.Entry, bool) {
	n.t.Helper()
	return storetest.Get(n.t, n.store, queue, iface)
}

// mustEntry returns the journal entry of queue/iface or fails.
func (n *node) mustEntry(queue, iface string) store.Entry {
	n.t.Helper()
	en, ok := n.entry(queue, iface)
	if !ok {
		n.t.Fatalf("%s: no journal entry for %s/%s", n.name, queue, iface)
	}
	return en
}

// putPending journals r pending, via its origin, as the engine does before
// it acts on a peer's change.
func (n *node) putPending(r state.Register) {
	n.t.Helper()
	_, err := n.store.PutMany(ctxFor(n.t), []state.Register{r}, store.PutOptions{Pending: true, Via: r.Origin})
	n.must("put pending", err)
}

// entries returns the whole journal.
func (n *node) entries() []store.Entry {
	n.t.Helper()
	return storetest.List(n.t, n.store)
}

func (n *node) maxSeq() int64 {
	n.t.Helper()
	return storetest.MaxSeq(n.t, n.store)
}

// byKey returns the outcome of queue/iface, failing when there is none.
func byKey(t testing.TB, outs []engine.Outcome, queue, iface string) engine.Outcome {
	t.Helper()
	k := state.NewKey(queue, iface)
	for _, o := range outs {
		if state.NewKey(o.Queue, o.Interface) == k {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %s", k, describe(outs))
	return engine.Outcome{}
}

// changed returns the outcomes that changed something (not in sync, not
// stale).
func changed(outs []engine.Outcome) []engine.Outcome {
	var out []engine.Outcome
	for _, o := range outs {
		if o.Changed() {
			out = append(out, o)
		}
	}
	return out
}

func describe(outs []engine.Outcome) string {
	var b strings.Builder
	for _, o := range outs {
		fmt.Fprintf(&b, "\n  %s/%s %s", o.Queue, o.Interface, o.Result)
		if o.Err != nil {
			fmt.Fprintf(&b, " err=%v", o.Err)
		}
		for _, a := range o.Actions {
			fmt.Fprintf(&b, " [%s]", a)
		}
		for _, r := range o.Reports {
			fmt.Fprintf(&b, " report=%q", r)
		}
	}
	return b.String()
}

// sameMembers fails unless both nodes' Asterisk hold the same synced state
// for every member of queue.
func sameMembers(t testing.TB, a, b *node, queue string) {
	t.Helper()
	sa, sb := synced(a.srv.Members(queue)), synced(b.srv.Members(queue))
	if sa != sb {
		t.Errorf("queue %s differs:\n%s: %s\n%s: %s", queue, a.name, sa, b.name, sb)
	}
}

// synced renders the synced fields of members, sorted by interface.
func synced(ms []ami.QueueMember) string {
	var lines []string
	for _, m := range ms {
		reason := ""
		if m.Paused {
			reason = m.PausedReason
		}
		lines = append(lines, fmt.Sprintf("%s name=%q si=%s %s penalty=%d paused=%t reason=%q",
			strings.ToLower(m.Interface), m.Name, m.StateInterface, m.Membership, m.Penalty, m.Paused, reason))
	}
	slices.Sort(lines)
	return strings.Join(lines, "; ")
}

// kinds returns the action kinds of calls.
func kinds(calls []call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Kind)
	}
	return out
}

// restart restarts the node's Asterisk ("core restart now") and waits
// until the engine's connection is gone.
func (n *node) restart(persist bool) {
	n.t.Helper()
	n.cut(func() { n.srv.Restart(persist) })
}

// drop cuts every AMI connection of the node and waits until the engine's
// is gone.
func (n *node) drop() {
	n.t.Helper()
	n.cut(n.srv.DropConnections)
}

// cut runs f, which closes the fake's connections, and waits until the
// engine's client has seen it, so that its next action redials. The
// operator's session needs no wait: an ami.Link retries an action that
// found its connection closed.
func (n *node) cut(f func()) {
	n.t.Helper()
	old := n.ami.current()
	f()
	if old == nil {
		return
	}
	select {
	case <-old.Done():
	case <-ctxFor(n.t).Done():
		n.t.Fatal("AMI connection still open after the fake closed it")
	}
}
