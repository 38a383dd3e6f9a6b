//go:build e2e

package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// tb is the pair every scenario shares: two real Asterisk nodes, their
// journals and two daemons (race-detector build), each daemon reaching its
// Asterisk and its peer through a gate; the CLI reaches both directly.
var tb *harness.Cluster

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "e2e", "the testbed is not up: run `make testbed-up` and load its env (make e2e does both)", setup))
}

// setup builds the pair and starts both daemons.
func setup(env harness.Env) (*harness.Cluster, error) {
	var err error
	tb, err = harness.New(env, harness.Options{DBPrefix: "qs_e2e_", Race: true, Gated: true, PeerSecret: peerSecret,
		HealthInterval: 500 * time.Millisecond, Keep: os.Getenv("QS_E2E_KEEP") != ""})
	if err != nil {
		return tb, err
	}
	for _, n := range tb.Nodes {
		if err := startDaemon(n); err != nil {
			return tb, err
		}
	}
	return tb, nil
}

func startDaemon(n *harness.Node) error {
	_, err := n.Start(harness.StartOptions{})
	return err
}

// resync runs `queuesync resync args...` on n and fails unless it exits 0;
// it returns what the command printed, the table (stdout) then the summary
// (stderr when piped).
func resync(t *testing.T, n *harness.Node, args ...string) string {
	t.Helper()
	r := tb.CLI(n, harness.CLIOptions{}, append([]string{"resync"}, args...)...)
	if r.Err != nil {
		t.Fatalf("resync on %s: exit %d\nstdout:\n%s\nstderr:\n%s", n.Name, r.Code(), r.Stdout, r.Stderr)
	}
	return r.Stdout + r.Stderr
}

// amiClient logs in to n's Asterisk with events off; the client is closed
// when the test ends.
func amiClient(t *testing.T, n *harness.Node) *ami.Client {
	t.Helper()
	return n.TestClient(t, "off", ami.Options{})
}

func runTestbed(t *testing.T, n *harness.Node, verb string, args ...string) {
	t.Helper()
	if _, err := n.Testbed(verb, args...); err != nil {
		t.Fatal(err)
	}
}
