package daemon_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/engine"
	qsnode "github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/internal/store/storetest"
	"github.com/queuesync/queuesync/internal/testkit"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// The tests run two daemons in-process, each over its own fake Asterisk
// (pkg/ami/amitest, on 127.0.0.1) and its own PostgreSQL journal (a schema
// of its own), pointed at each other's peer API on 127.0.0.1. They wait for
// conditions with deadlines and never assert timings.

var _ daemon.Journal = (*store.Store)(nil)

// waitTimeout bounds every wait for a condition.
const waitTimeout = 15 * time.Second

// ctxFor returns a context bounded by 30 s, so that nothing hangs.
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or waitTimeout passes; on a timeout
// it describes the nodes given.
func eventually(t testing.TB, what string, cond func() bool, show ...*node) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			for _, n := range show {
				n.describe()
			}
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The AMI users: the daemons log in as daemonUser (or the least-privilege
// "queuesync-min"); tests play agents and the operator as operator, so that
// the fake's action counts tell the two apart.
const (
	daemonUser = "queuesync"
	operator   = "operator"
)

// syncLog records the daemon's sync log lines.
type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLog) Outcome(op string, o engine.Outcome) {
	l.Line("%s %s queue=%s interface=%s", op, o.Result, o.Queue, o.Interface)
}

func (l *syncLog) Line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// count returns how many lines start with prefix.
func (l *syncLog) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// node is one queuesync node: a fake Asterisk, a journal and (while
// running) a daemon.
type node struct {
	t      testing.TB
	name   string
	user   string // the daemon's AMI user
	srv    *amitest.Server
	store  *store.Store
	listen string // the peer API address, fixed for the node's life
	cfg    config.Config
	log    *syncLog
	logs   *testkit.Buffer // the daemon's log, text

	d     *daemon.Daemon
	parts *qsnode.Node // what the daemon was assembled from
	stop  context.CancelFunc
	done  chan error
	peer  *node // the other node of the pair

	op *ami.Link // the operator's session
}

// newNode creates a node's Asterisk and journal and reserves its peer API
// address. The daemon starts with start, once the peers are known.
func newNode(t testing.TB, name string) *node {
	t.Helper()
	return newNodeAs(t, name, daemonUser)
}

// newNodeAs is newNode with the daemon logging in to AMI as user.
func newNodeAs(t testing.TB, name, user string) *node {
	t.Helper()
	srv := amitest.NewServer(amitest.ServerOptions{
		Users: append(amitest.DefaultUsers(), amitest.User{Name: operator, Secret: "queuesync", Read: "all", Write: "all"}),
	})
	t.Cleanup(func() { srv.Close() })
	n := &node{t: t, name: name, user: user, srv: srv, store: storetest.New(t), listen: reserveAddr(t), log: &syncLog{}, logs: &testkit.Buffer{},
		op: srv.Link(operator, "off")}
	t.Cleanup(func() { n.op.Close() })
	return n
}

// reserveAddr returns a free 127.0.0.1 port. The daemon binds it later: the
// two daemons must know each other's address before either exists.
func reserveAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// pair returns two nodes configured as each other's peer, both running.
func pair(t testing.TB) (a, b *node) {
	t.Helper()
	return pairAs(t, daemonUser)
}

// pairAs is pair with the daemons logging in to AMI as user.
func pairAs(t testing.TB, user string) (a, b *node) {
	t.Helper()
	return pairWith(t, user, nil)
}

// pairWith is pairAs with tweak (when not nil) changing the two nodes'
// configs before their daemons start.
func pairWith(t testing.TB, user string, tweak func(a, b *config.Config)) (a, b *node) {
	t.Helper()
	a, b = newNodeAs(t, "sop1", user), newNodeAs(t, "sop2", user)
	secret, amiSecret := secretFiles(t)
	a.configure(b, secret, amiSecret)
	b.configure(a, secret, amiSecret)
	if tweak != nil {
		tweak(&a.cfg, &b.cfg)
	}
	a.peer, b.peer = b, a
	a.start()
	b.start()
	return a, b
}

// secretFiles writes the peers' shared secret and the AMI secret.
func secretFiles(t testing.TB) (secret, amiSecret string) {
	t.Helper()
	dir := t.TempDir()
	secret = filepath.Join(dir, "peer.secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	amiSecret = filepath.Join(dir, "ami.secret")
	if err := os.WriteFile(amiSecret, []byte("queuesync\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, amiSecret
}

func (n *node) configure(other *node, secret, amiSecret string) {
	n.cfg = config.Config{
		Node:            n.name,
		AMI:             config.AMI{Address: n.srv.Addr(), Username: n.user, SecretFile: amiSecret},
		Listen:          n.listen,
		Peers:           []config.Peer{{Name: other.name, URL: "http://" + other.listen, SecretFile: secret, Queues: config.AllQueues}},
		HealthInterval:  50 * time.Millisecond,
		MaxClockSkew:    time.Minute,
		TombstoneTTL:    720 * time.Hour,
		ShutdownTimeout: 5 * time.Second,
	}
}

// start assembles the node from its config, as the daemon command does
// (node.New; the journal is the test's), and runs its daemon.
func (n *node) start() {
	n.t.Helper()
	log := slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	parts := qsnode.New(n.cfg, qsnode.Options{Events: qsnode.EventsAgent, Log: log})
	parts.Journal = n.store
	n.parts = parts
	d, err := daemon.New(daemon.Options{Node: parts, SyncLog: n.log, Software: "test", Log: log})
	if err != nil {
		n.t.Fatalf("%s: new daemon: %v", n.name, err)
	}
	if d.Addr() != n.listen {
		n.t.Fatalf("%s: daemon bound %s, want %s", n.name, d.Addr(), n.listen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.d, n.stop, n.done = d, cancel, make(chan error, 1)
	go func() { n.done <- d.Run(ctx) }()
	n.t.Cleanup(n.halt)
}

// halt stops the node's daemon and waits for Run to return nil.
func (n *node) halt() {
	n.t.Helper()
	if n.d == nil {
		return
	}
	n.stop()
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("%s: Run: %v", n.name, err)
		}
	case <-time.After(waitTimeout):
		n.t.Errorf("%s: daemon did not stop", n.name)
	}
	n.d = nil
}

// member is a dynamic member as an agent or the operator adds it.
type member struct {
	Queue, Interface, Name string
	Penalty                int
	Paused                 bool
	Reason                 string
}

// add adds m on the node's Asterisk, as an agent would. Operator actions
// go through an ami.Link: they retry once on a connection the fake just
// closed.
func (n *node) add(m member) {
	n.t.Helper()
	n.check(n.op.QueueAdd(ctxFor(n.t), ami.QueueAddRequest{Queue: m.Queue, Interface: m.Interface, MemberName: m.Name,
		Penalty: m.Penalty, Paused: m.Paused, Reason: m.Reason}))
}

func (n *node) remove(queue, iface string) {
	n.t.Helper()
	n.check(n.op.QueueRemove(ctxFor(n.t), queue, iface))
}

func (n *node) pause(queue, iface string, paused bool, reason string) {
	n.t.Helper()
	n.check(n.op.QueuePause(ctxFor(n.t), queue, iface, paused, reason))
}

func (n *node) penalty(queue, iface string, p int) {
	n.t.Helper()
	n.check(n.op.QueuePenalty(ctxFor(n.t), queue, iface, p))
}

// check fails the test on an operator action's error.
func (n *node) check(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatalf("%s: operator action: %v", n.name, err)
	}
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

// waitMember waits until the node's Asterisk holds a member that ok accepts
// (nil: absent).
func (n *node) waitMember(queue, iface string, ok func(*ami.QueueMember) bool) {
	n.t.Helper()
	eventually(n.t, fmt.Sprintf("%s's Asterisk holds the expected %s/%s", n.name, queue, iface),
		func() bool { return ok(n.live(queue, iface)) }, n, n.peer)
}

// describe logs the node's Asterisk, journal and sync log, to explain a
// failure; with QUEUESYNC_TEST_DAEMON_LOG set, the daemon's debug log too
// (every member decision).
func (n *node) describe() {
	if n == nil {
		return
	}
	n.t.Helper()
	for _, q := range []string{"sales", "billing", "support"} {
		n.t.Logf("%s Asterisk %s: %s", n.name, q, synced(n, q))
	}
	es, err := n.store.List(context.Background(), nil)
	for _, e := range es {
		n.t.Logf("%s journal %s present=%t penalty=%d paused=%t %q stamp=%s origin=%s seq=%d pending=%t via=%s",
			n.name, e.Key(), e.Present, e.Penalty, e.Paused, e.PausedReason, e.Stamp, e.Origin, e.Seq, e.Pending, e.Via)
	}
	if err != nil {
		n.t.Logf("%s journal: %v", n.name, err)
	}
	n.log.mu.Lock()
	defer n.log.mu.Unlock()
	for _, l := range n.log.lines {
		n.t.Logf("%s log: %s", n.name, l)
	}
	if os.Getenv("QUEUESYNC_TEST_DAEMON_LOG") != "" {
		n.t.Logf("%s daemon log:\n%s", n.name, n.logs.String())
	}
}

// actions returns the daemon's AMI actions on the node's Asterisk, queue
// actions only.
func (n *node) actions() map[string]int {
	out := map[string]int{}
	for k, v := range n.srv.Actions(n.user) {
		if strings.HasPrefix(k, "Queue") && k != "QueueStatus" {
			out[k] = v
		}
	}
	return out
}

// entry returns the journal entry of queue/iface.
func (n *node) entry(queue, iface string) (store.Entry, bool) {
	n.t.Helper()
	return storetest.Get(n.t, n.store, queue, iface)
}

func (n *node) maxSeq() int64 {
	n.t.Helper()
	return storetest.MaxSeq(n.t, n.store)
}

// synced renders the synced state of a queue's members, sorted.
func synced(n *node, queue string) string {
	var lines []string
	for _, m := range n.srv.Members(queue) {
		reason := ""
		if m.Paused {
			reason = m.PausedReason
		}
		lines = append(lines, fmt.Sprintf("%s name=%q penalty=%d paused=%t reason=%q",
			strings.ToLower(m.Interface), m.Name, m.Penalty, m.Paused, reason))
	}
	slices.Sort(lines)
	return strings.Join(lines, "; ")
}

// waitSame waits until both nodes' Asterisk hold the same state for queue.
func waitSame(t testing.TB, a, b *node, queue string) {
	t.Helper()
	eventually(t, "both nodes agree on queue "+queue, func() bool { return synced(a, queue) == synced(b, queue) }, a, b)
}

// barrier makes a change on from and waits until it reaches to: anything
// from earlier changes (an echo, a stray action) has happened by then.
func barrier(t testing.TB, from, to *node, iface string) {
	t.Helper()
	from.add(member{Queue: "billing", Interface: iface, Name: "Barrier"})
	to.waitMember("billing", iface, func(m *ami.QueueMember) bool { return m != nil })
}
