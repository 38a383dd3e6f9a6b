package engine_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// stepLog records what Options.Timing is told.
type stepLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *stepLog) record(step string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d < 0 {
		panic("negative step duration for " + step)
	}
	l.steps = append(l.steps, step)
}

func (l *stepLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.steps
	l.steps = nil
	slices.Sort(s)
	return slices.Compact(s)
}

// A peer's change applied on the live path is timed step by step: the wait
// for the engine, the reads of Asterisk and the journal, the write ahead,
// the actions and the settle. A dry run and a reader are not timed.
func TestTimingOfTheApplyPath(t *testing.T) {
	a, clk := solo(t)
	var log stepLog
	a.eng = engine.New(engine.Options{Node: a.name, AMI: a.ami, Journal: a.store, Clock: a.clock, Now: clk.Now, Timing: log.record})
	a.add(alice)
	a.reconcile()
	log.take()

	clk.Advance(time.Second)
	r := peerReg(clk, "sales", "PJSIP/1001", func(r *state.Register) {
		r.MemberName, r.StateInterface, r.Penalty = alice.Name, alice.StateInterface, alice.Penalty
		r.Paused, r.PausedReason = true, "lunch"
	})
	if o := byKey(t, a.apply("sop2", r), "sales", "PJSIP/1001"); o.Result != engine.Applied {
		t.Fatalf("apply: %s", describe([]engine.Outcome{o}))
	}
	want := []string{engine.StepActions, engine.StepAsteriskRead, engine.StepJournalRead,
		engine.StepSettle, engine.StepJournalWrite, engine.StepLockWait}
	slices.Sort(want)
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("steps timed = %v; want %v", got, want)
	}

	a.reconcileWith(a.eng.DryRun(), nil)
	if got := log.take(); len(got) != 0 {
		t.Errorf("a dry run was timed: %v", got)
	}
}
