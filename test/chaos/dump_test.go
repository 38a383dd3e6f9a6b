//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// TestDumpSchedule prints the schedule of seed CHAOS_DUMP_SEED (with
// CHAOS_OPS changes) without playing it: no testbed needed.
func TestDumpSchedule(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("CHAOS_DUMP_SEED"), 10, 64)
	if seed == 0 {
		t.Skip("set CHAOS_DUMP_SEED")
	}
	nOps := 60
	if v, err := strconv.Atoi(os.Getenv("CHAOS_OPS")); err == nil {
		nOps = v
	}
	fmt.Print(formatSchedule(generate(seed, nOps)))
}
