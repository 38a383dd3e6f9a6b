//go:build bench

package bench

import (
	"fmt"
	"os"
	"testing"
)

// bed is the cluster every benchmark of the run shares.
var bed *cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if env("QS_AST1_AMI") == "" || env("QUEUESYNC_TEST_DATABASE") == "" {
		fmt.Fprintln(os.Stderr, "bench: the testbed is not up: `make bench` starts its own; by hand:\n"+
			"  QS_NAME=bench QS_STATE=/tmp/qs-bench QS_BASEPORT=6038 QS_EXTRA_QUEUES=50 test/testbed/testbed.sh up 2\n"+
			"  set -a; . /tmp/qs-bench/env; set +a")
		return 1
	}
	var err error
	bed, err = newCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if bed != nil {
			bed.close()
		}
		return 1
	}
	defer bed.close()
	return m.Run()
}

func env(k string) string { return os.Getenv(k) }
