package daemon

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/store"
)

// ackOutbox records the watermarks written; while failing, every Ack fails.
type ackOutbox struct {
	mu      sync.Mutex
	acks    []int64
	failing bool
	entered chan int64    // when set, each Ack says it began
	release chan struct{} // and waits for this
}

func (o *ackOutbox) Ack(ctx context.Context, peer string, seq int64) error {
	if o.entered != nil {
		o.entered <- seq
		<-o.release
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failing {
		return errors.New("database unavailable")
	}
	o.acks = append(o.acks, seq)
	return nil
}

func (o *ackOutbox) written() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.acks)
}

func (o *ackOutbox) Since(context.Context, string, int64, int) ([]store.Entry, error) {
	return nil, nil
}
func (o *ackOutbox) Watermark(context.Context, string) (int64, error)  { return 0, nil }
func (o *ackOutbox) NoteFailure(context.Context, string, string) error { return nil }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The watermark is written behind the deliverer, coalesced while a write
// is in flight, never moved back, retried after a failure, and the last
// one is written when the acker stops.
func TestAckerWritesBehind(t *testing.T) {
	ob := &ackOutbox{entered: make(chan int64), release: make(chan struct{})}
	a := newAcker(ob, "sop2", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.run(ctx, time.Second) }()

	a.set(10)
	if seq := <-ob.entered; seq != 10 { // in flight; 11, 12 and 5 come meanwhile
		t.Fatalf("first write of %d, want 10", seq)
	}
	a.set(11)
	a.set(12)
	a.set(5)
	ob.release <- struct{}{}
	if seq := <-ob.entered; seq != 12 {
		t.Fatalf("second write of %d, want 12 (the highest asked for)", seq)
	}
	ob.release <- struct{}{}
	waitFor(t, "watermark 12 written", func() bool { return slices.Equal(ob.written(), []int64{10, 12}) })

	ob.mu.Lock()
	ob.failing, ob.entered = true, nil
	ob.mu.Unlock()
	a.set(20)
	time.Sleep(50 * time.Millisecond)
	ob.mu.Lock()
	ob.failing = false
	ob.mu.Unlock()
	waitFor(t, "watermark 20 written once the database is back", func() bool { return slices.Equal(ob.written(), []int64{10, 12, 20}) })

	a.set(30)
	cancel()
	<-done
	if got := ob.written(); got[len(got)-1] != 30 {
		t.Errorf("watermarks written %v: the last one, 30, was not written at stop", got)
	}
}
