//go:build e2e || chaos || bench

package harness

import (
	"fmt"
	"os"
	"testing"
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
