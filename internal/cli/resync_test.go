package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/store/storetest"
	"github.com/queuesync/queuesync/internal/store/storetest/pgtest"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// resyncNode is one node of the in-process resync test: a fake Asterisk
// (pkg/ami/amitest on 127.0.0.1), a real journal and its config file.
type resyncNode struct {
	name, cfg, listen string
	ast               *amitest.Server
}

const operatorUser = "operator"

func newResyncNode(t *testing.T, dir, name, listen, peerName, peerListen string) resyncNode {
	t.Helper()
	ast := amitest.NewServer(amitest.ServerOptions{
		Users: append(amitest.DefaultUsers(), amitest.User{Name: operatorUser, Secret: "queuesync", Read: "all", Write: "all"}),
	})
	t.Cleanup(func() { ast.Close() })
	dbURL := pgtest.Schema(t)
	storetest.Open(t, dbURL) // migrated
	n := resyncNode{name: name, listen: listen, ast: ast}
	yaml := fmt.Sprintf(`node: %s
ami: {address: %s, username: queuesync-min, secret_file: %s/ami.secret}
database: {url: "%s"}
listen: %s
peers:
  - {name: %s, url: "http://%s", secret_file: %s/peer.secret, queues: all}
log_file: %s/%s.log
health_interval: 100ms
`, name, ast.Addr(), dir, dbURL, n.listen, peerName, peerListen, dir, dir, name)
	n.cfg = writeFile(t, dir, name+".yaml", yaml, 0o644)
	return n
}

func reservePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// operate runs one action on n's Asterisk as the operator (an agent at a
// phone, or an administrator at the CLI).
func (n resyncNode) operate(t *testing.T, f func(ctx context.Context, cl *ami.Client) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := n.ast.Dial(ctx, operatorUser, "off")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := f(ctx, cl); err != nil {
		t.Fatal(err)
	}
}

func hasMember(n resyncNode, queue, iface string) (ami.QueueMember, bool) {
	for _, m := range n.ast.Members(queue) {
		if strings.EqualFold(m.Interface, iface) {
			return m, true
		}
	}
	return ami.QueueMember{}, false
}

// TestResyncInProcess runs the cron path, `queuesync resync -v`, in
// process through Deps.Node against a running daemon: each node's change
// made while nothing watched reaches the other, a second run changes
// nothing, and the node is assembled only by commands that need it.
func TestResyncInProcess(t *testing.T) {
	pgtest.URL(t)
	dir := t.TempDir()
	writeFile(t, dir, "ami.secret", "queuesync\n", 0o600)
	writeFile(t, dir, "peer.secret", "resync-test-shared-secret-0123456789\n", 0o600)
	l1, l2 := reservePort(t), reservePort(t)
	sop1 := newResyncNode(t, dir, "sop1", l1, "sop2", l2)
	sop2 := newResyncNode(t, dir, "sop2", l2, "sop1", l1)

	// Changes made before any queuesync runs: a paused agent on sop1, an
	// agent with a penalty on sop2.
	sop1.operate(t, func(ctx context.Context, cl *ami.Client) error {
		return cl.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/7001", MemberName: "Ann", Paused: true, Reason: "lunch"})
	})
	sop2.operate(t, func(ctx context.Context, cl *ami.Client) error {
		return cl.QueueAdd(ctx, ami.QueueAddRequest{Queue: "billing", Interface: "PJSIP/7002", MemberName: "Ben", Penalty: 2})
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dctx, stopDaemon := context.WithCancel(ctx)
	daemonDone := make(chan int, 1)
	go func() {
		daemonDone <- runCmd(dctx, newDeps(IOStreams{Out: &syncBuffer{}, ErrOut: &syncBuffer{}}), "daemon", "--config", sop2.cfg)
	}()
	defer func() {
		stopDaemon()
		if code := <-daemonDone; code != ExitOK {
			t.Errorf("sop2 daemon exited %d", code)
		}
	}()
	waitListening(t, sop2.listen)

	opened := 0
	resync := func(args ...string) (int, string) {
		d, out, errOut := testDeps(nil)
		d.Now = time.Now // the daemon signs and checks with the real clock
		d.Node = func(ctx context.Context, o node.Options) (*node.Node, error) {
			opened++
			return d.openNodeFromConfig(ctx, o)
		}
		code := runCmd(ctx, d, append(args, "--config", sop1.cfg)...)
		return code, out.String() + errOut.String()
	}

	if code, out := resync("resync", "--help"); code != ExitOK || opened != 0 {
		t.Fatalf("resync --help: exit %d, node opened %d times:\n%s", code, opened, out)
	}
	code, out := resync("resync", "-v")
	if code != ExitOK || opened != 1 {
		t.Fatalf("resync -v: exit %d, node opened %d times:\n%s", code, opened, out)
	}
	for _, w := range []string{"PJSIP/7001", "PJSIP/7002"} {
		if !strings.Contains(out, w) {
			t.Errorf("resync -v does not show %s:\n%s", w, out)
		}
	}
	if m, ok := hasMember(sop2, "sales", "PJSIP/7001"); !ok || !m.Paused || m.PausedReason != "lunch" || m.Name != "Ann" {
		t.Errorf("sop2 sales PJSIP/7001: %+v present %v", m, ok)
	}
	if m, ok := hasMember(sop1, "billing", "PJSIP/7002"); !ok || m.Penalty != 2 || m.Name != "Ben" {
		t.Errorf("sop1 billing PJSIP/7002: %+v present %v", m, ok)
	}

	before := sop1.ast.Actions("queuesync-min")
	code, out = resync("resync", "-v", "--log-level", "debug")
	if code != ExitOK {
		t.Fatalf("second resync: exit %d:\n%s", code, out)
	}
	// What an operator troubleshooting wants at debug level: the manager
	// login, each action and its time, each peer request and its status.
	for _, w := range []string{"asterisk manager connected", "ami action", "action=QueueStatus", "peer request", "status=200"} {
		if !strings.Contains(out, w) {
			t.Errorf("resync --log-level debug does not log %q:\n%s", w, out)
		}
	}
	after := sop1.ast.Actions("queuesync-min")
	for _, a := range []string{"QueueAdd", "QueueRemove", "QueuePause", "QueuePenalty"} {
		if after[a] != before[a] {
			t.Errorf("second resync sent %s on sop1 (%d -> %d)", a, before[a], after[a])
		}
	}
}

// waitListening waits until a peer API answers at addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/queue/v1/health")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing answers at %s", addr)
}
