//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// TestDumpSchedule prints the schedule of seed CHAOS_DUMP_SEED (with
// CHAOS_OPS changes, CHAOS_TOPOLOGY and CHAOS_FAULTS) without playing it:
// no testbed needed.
func TestDumpSchedule(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("CHAOS_DUMP_SEED"), 10, 64)
	if seed == 0 {
		t.Skip("set CHAOS_DUMP_SEED")
	}
	nOps := 60
	if v, err := strconv.Atoi(os.Getenv("CHAOS_OPS")); err == nil {
		nOps = v
	}
	topo, kinds, err := topoSettings()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(formatSchedule(generate(seed, nOps, topo, kinds)))
}
