package daemon

import (
	"runtime/debug"
	"testing"
)

// Full reconciles that overlap share the lowered GOGC, and the last to end
// puts back what was set before the first began, whatever their order.
func TestLowerGCOverlapping(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	first := lowerGC()
	second := lowerGC()
	first()
	if got := debug.SetGCPercent(-1); got != reconcileGCPercent {
		t.Errorf("GOGC %d while a reconcile still runs, want %d", got, reconcileGCPercent)
	} else {
		debug.SetGCPercent(got)
	}
	second()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("GOGC %d after the last reconcile, want 150 back", got)
	}
}
