//go:build bench

package bench

import (
	"os"
	"testing"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// bed is the cluster every benchmark of the run shares.
var bed *harness.Cluster

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "bench", "the testbed is not up: `make bench` starts its own; by hand:\n"+
		"  QS_NAME=bench QS_STATE=/tmp/qs-bench QS_BASEPORT=6038 QS_EXTRA_QUEUES=50 test/testbed/testbed.sh up 2\n"+
		"  set -a; . /tmp/qs-bench/env; set +a", func(env harness.Env) (*harness.Cluster, error) {
		var err error
		bed, err = newCluster(env)
		return bed, err
	}))
}
