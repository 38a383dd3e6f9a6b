//go:build bench

package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// timingJournal wraps the engine's journal and adds up the wall time spent
// in each method, to show where an engine run waits on PostgreSQL. It does
// not change what the engine does.
type timingJournal struct {
	j     engine.Journal
	mu    sync.Mutex
	dur   map[string]time.Duration
	calls map[string]int
}

func newTimingJournal(j engine.Journal) *timingJournal {
	return &timingJournal{j: j, dur: map[string]time.Duration{}, calls: map[string]int{}}
}

func (t *timingJournal) note(name string, start time.Time) {
	d := time.Since(start)
	t.mu.Lock()
	t.dur[name] += d
	t.calls[name]++
	t.mu.Unlock()
}

func (t *timingJournal) reset() {
	t.mu.Lock()
	clear(t.dur)
	clear(t.calls)
	t.mu.Unlock()
}

// total returns the wall time spent in the journal since the last reset.
func (t *timingJournal) total() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s time.Duration
	for _, d := range t.dur {
		s += d
	}
	return s
}

func (t *timingJournal) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(t.dur)) {
		parts = append(parts, fmt.Sprintf("%s %dx %s ms", n, t.calls[n], ms(t.dur[n])))
	}
	return strings.Join(parts, ", ")
}

func (t *timingJournal) List(ctx context.Context, queues []string) ([]store.Entry, error) {
	defer t.note("List", time.Now())
	return t.j.List(ctx, queues)
}

func (t *timingJournal) Analyze(ctx context.Context) error {
	defer t.note("Analyze", time.Now())
	if a, ok := t.j.(interface{ Analyze(context.Context) error }); ok {
		return a.Analyze(ctx)
	}
	return nil
}

func (t *timingJournal) GetMany(ctx context.Context, keys []state.Key) (map[state.Key]store.Entry, error) {
	defer t.note("GetMany", time.Now())
	return t.j.GetMany(ctx, keys)
}

func (t *timingJournal) PutMany(ctx context.Context, regs []state.Register, o store.PutOptions) ([]store.PutResult, error) {
	defer t.note("PutMany", time.Now())
	return t.j.PutMany(ctx, regs, o)
}

func (t *timingJournal) Settle(ctx context.Context, k state.Key, v state.Version) error {
	defer t.note("Settle", time.Now())
	return t.j.Settle(ctx, k, v)
}

func (t *timingJournal) SettleMany(ctx context.Context, regs []state.Register) error {
	defer t.note("SettleMany", time.Now())
	return t.j.SettleMany(ctx, regs)
}

func (t *timingJournal) Startup(ctx context.Context) (time.Time, error) {
	defer t.note("Startup", time.Now())
	return t.j.Startup(ctx)
}

func (t *timingJournal) SetStartup(ctx context.Context, tm time.Time) error {
	defer t.note("SetStartup", time.Now())
	return t.j.SetStartup(ctx, tm)
}
