//go:build bench

package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// bed is the cluster every benchmark of the run shares.
var bed *harness.Cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	env, err := harness.LoadEnv(2)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: the testbed is not up: `make bench` starts its own; by hand:\n"+
			"  QS_NAME=bench QS_STATE=/tmp/qs-bench QS_BASEPORT=6038 QS_EXTRA_QUEUES=50 test/testbed/testbed.sh up 2\n"+
			"  set -a; . /tmp/qs-bench/env; set +a")
		return 1
	}
	bed, err = newCluster(env)
	if bed != nil {
		defer bed.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return m.Run()
}
