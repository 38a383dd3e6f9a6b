//go:build e2e

package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// e2eNode is one node of TestStatusE2E: its config file and database.
type e2eNode struct {
	name, cfg, db, listen string
}

// TestStatusE2E runs status against the testbed's two real Asterisk nodes
// and PostgreSQL, with a real daemon as the peer: in sync, then a member
// added on sop1's Asterisk behind queuesync's back (status reports it and
// changes nothing), then resync, then the peer down.
func TestStatusE2E(t *testing.T) {
	for _, k := range []string{"QS_AST0_AMI", "QS_AST1_AMI", "QUEUESYNC_TEST_DATABASE", "QS_TESTBED"} {
		if os.Getenv(k) == "" {
			t.Skip("the testbed is not up: make testbed-up and load its env (make e2e does both)")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	n1, n2 := e2eSetup(ctx, t, dir)
	const member = "Local/7701@agents"
	clearDynamic(t, "billing") // whatever earlier tests left there
	t.Cleanup(func() {
		for _, i := range []string{"0", "1"} {
			_ = exec.Command(os.Getenv("QS_TESTBED"), "rx", i, "queue remove member "+member+" from billing").Run()
		}
	})

	dctx, stopDaemon := context.WithCancel(ctx)
	daemonDone := make(chan int, 1)
	go func() { daemonDone <- runCmd(dctx, e2eDeps(), "daemon", "--config", n2.cfg) }()
	waitHealthy(ctx, t, n2.listen)

	e2eRun(ctx, t, n1, ExitOK, "in sync", "resync", "billing")
	e2eRun(ctx, t, n1, ExitOK, "billing\tsop2\tin sync", "status", "billing")

	rx(t, "0", "queue add member "+member+" to billing penalty 1 as E2E")
	for range 2 { // twice: the first status must not have changed anything
		e2eRun(ctx, t, n1, ExitPartial, "billing\tsop2\t1 difference", "status", "billing")
	}
	if strings.Contains(rx(t, "1", "queue show billing"), member) {
		t.Errorf("status added %s on sop2", member)
	}
	e2eRun(ctx, t, n1, ExitPartial, "billing\tLocal/7701@agents\tmember\tE2E, penalty 1\t-\tE2E, penalty 1\t-\twould journal", "status", "-v", "billing")
	e2eRun(ctx, t, n1, ExitOK, "corrected", "resync", "billing")
	e2eRun(ctx, t, n1, ExitOK, "all in sync", "status", "billing")
	if !strings.Contains(rx(t, "1", "queue show billing"), member) {
		t.Errorf("resync did not add %s on sop2", member)
	}

	stopDaemon()
	if code := <-daemonDone; code != ExitOK && code != ExitInterrupted {
		t.Errorf("daemon exited %d", code)
	}
	e2eRun(ctx, t, n1, ExitPartial, "unknown (sop2 unreachable)", "status", "billing")
}

func e2eDeps() *Deps {
	d := newDeps(IOStreams{Out: &syncBuffer{}, ErrOut: &syncBuffer{}})
	d.Getenv = func(string) string { return "" }
	return d
}

// e2eRun runs queuesync on node n and checks its exit code and output.
func e2eRun(ctx context.Context, t *testing.T, n e2eNode, code int, want string, args ...string) {
	t.Helper()
	d := e2eDeps()
	got := runCmd(ctx, d, append(args, "--config", n.cfg)...)
	out := d.IO.Out.(*syncBuffer).String() + d.IO.ErrOut.(*syncBuffer).String()
	if got != code || !strings.Contains(out, want) {
		t.Fatalf("%s %v: exit %d (want %d), output lacks %q or is:\n%s", n.name, args, got, code, want, out)
	}
}

func e2eSetup(ctx context.Context, t *testing.T, dir string) (e2eNode, e2eNode) {
	t.Helper()
	writeFile(t, dir, "ami.secret", os.Getenv("QS_AMI_SECRET")+"\n", 0o600)
	writeFile(t, dir, "peer.secret", "e2e-status-shared-secret\n", 0o600)
	base := os.Getenv("QUEUESYNC_TEST_DATABASE")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	addrs := [2]string{reservePort(t), reservePort(t)}
	var nodes [2]e2eNode
	for i := range nodes {
		n := e2eNode{name: fmt.Sprintf("sop%d", i+1), db: fmt.Sprintf("qs_cli_status_sop%d", i+1), listen: addrs[i]}
		for _, q := range []string{"DROP DATABASE IF EXISTS " + n.db + " WITH (FORCE)", "CREATE DATABASE " + n.db} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), base)
			if err == nil {
				_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+n.db+" WITH (FORCE)")
				c.Close(context.Background())
			}
		})
		u := strings.Replace(base, "/postgres?", "/"+n.db+"?", 1)
		yaml := fmt.Sprintf(`node: %s
ami: {address: %s, username: %s, secret_file: %s/ami.secret}
database: {url: "%s"}
listen: %s
peers:
  - {name: sop%d, url: "http://%s", secret_file: %s/peer.secret, queues: [billing]}
log_file: %s/%s.log
`, n.name, os.Getenv(fmt.Sprintf("QS_AST%d_AMI", i)), os.Getenv("QS_AMI_USER"), dir, u, n.listen, 2-i, addrs[1-i], dir, dir, n.name)
		n.cfg = writeFile(t, dir, n.name+".yaml", yaml, 0o644)
		e2eRun(ctx, t, n, ExitOK, "journal schema up to date", "migrate")
		nodes[i] = n
	}
	return nodes[0], nodes[1]
}

// waitHealthy waits until the daemon at addr answers HTTP (any status).
func waitHealthy(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	for {
		resp, err := http.Get("http://" + addr + "/queue/v1/health")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("daemon at %s did not start: %v", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func rx(t *testing.T, i, cmd string) string {
	t.Helper()
	out, err := exec.Command(os.Getenv("QS_TESTBED"), "rx", i, cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("testbed rx %s %q: %v\n%s", i, cmd, err, out)
	}
	return string(out)
}

var ifaceRE = regexp.MustCompile(`[A-Za-z]+/[^ ()]+`)

// clearDynamic removes every dynamic member of queue on both testbed nodes.
func clearDynamic(t *testing.T, queue string) {
	t.Helper()
	for _, i := range []string{"0", "1"} {
		for _, line := range strings.Split(rx(t, i, "queue show "+queue), "\n") {
			if !strings.Contains(line, "(dynamic)") {
				continue
			}
			if iface := ifaceRE.FindString(line); iface != "" {
				rx(t, i, "queue remove member "+iface+" from "+queue)
			}
		}
	}
}
