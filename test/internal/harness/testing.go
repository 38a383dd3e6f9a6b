//go:build e2e || chaos || bench

package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// Main is the body of a TestMain whose tests share one cluster: it loads
// the testbed's environment (at least a pair of Asterisk instances) and
// prints hint when the testbed is not up, sets the cluster up with setup,
// runs the tests and closes the cluster. It returns the exit code for
// os.Exit; name prefixes what it prints.
func Main(m *testing.M, name, hint string, setup func(Env) (*Cluster, error)) int {
	env, err := LoadEnv(2)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, hint)
		return 1
	}
	c, err := setup(env)
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return m.Run()
}

// Context returns a context that ends after d or with the test.
func Context(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// TestClient is DialAMI for a test: it gives up after 10 s and fails tb,
// and the client is closed when tb ends (closing it earlier is fine).
func (n *Node) TestClient(tb testing.TB, events string, opts ami.Options) *ami.Client {
	tb.Helper()
	cl, err := n.DialAMI(Context(tb, 10*time.Second), events, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}
