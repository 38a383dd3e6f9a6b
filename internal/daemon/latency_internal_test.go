package daemon

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// TestLatencyTrackerEvictsOldest fills the tracker with changes never
// delivered and checks that it stays bounded and still measures new ones.
func TestLatencyTrackerEvictsOldest(t *testing.T) {
	hist := &countingHist{Histogram: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"})}
	l := newLatencyTracker(hist, time.Now)
	l.max = 10
	reg := func(i int) state.Register {
		return state.Register{Queue: "q", Interface: "PJSIP/" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Stamp: state.Stamp{Wall: int64(i + 1)}, Origin: "sop1"}
	}
	for i := range 100 {
		r := reg(i)
		l.noteJournalled(engine.Outcome{Winner: &r}, time.Now())
	}
	if len(l.seen) != 10 || l.order.Len() != 10 {
		t.Fatalf("tracker holds %d/%d changes, want 10", len(l.seen), l.order.Len())
	}
	l.noteDelivered(reg(0)) // evicted long ago
	l.noteDelivered(reg(99))
	if got := hist.n; got != 1 {
		t.Errorf("%d samples, want 1 (the newest change)", got)
	}
	if len(l.seen) != 9 || l.order.Len() != 9 {
		t.Errorf("after a delivery: %d/%d", len(l.seen), l.order.Len())
	}
}

type countingHist struct {
	prometheus.Histogram
	n int
}

func (h *countingHist) Observe(v float64) { h.n++; h.Histogram.Observe(v) }
