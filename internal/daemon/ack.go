package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// acker records a peer's watermark in the journal behind its deliverer:
// the next batch is read and sent without waiting for the write. Only the
// highest sequence number asked for is written, so writes coalesce when
// batches come faster than the journal takes them.
//
// A watermark written late is safe: after a crash, the changes past the
// recorded one are sent again and the peer finds them in sync (the
// deliverer's own watermark, in memory, is never behind).
type acker struct {
	ob   Outbox
	peer string
	log  *slog.Logger
	wake chan struct{}

	mu   sync.Mutex
	want int64 // the highest sequence number the peer acknowledged

	write sync.Mutex // held while writing; wrote is guarded by it
	wrote int64
}

// ackRetry is how often a watermark that could not be written is tried again.
const ackRetry = time.Second

func newAcker(ob Outbox, peer string, log *slog.Logger) *acker {
	return &acker{ob: ob, peer: peer, log: log, wake: make(chan struct{}, 1)}
}

// set asks for the watermark seq to be written (it never moves back).
func (a *acker) set(seq int64) {
	a.mu.Lock()
	a.want = max(a.want, seq)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run writes the watermark whenever it moves, until ctx ends; then it
// writes the last one (bounded by flushTimeout) and returns.
func (a *acker) run(ctx context.Context, flushTimeout time.Duration) {
	retry := time.NewTicker(ackRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			_ = a.flush(fctx)
			cancel()
			return
		case <-a.wake:
		case <-retry.C:
		}
		if err := a.flush(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("record peer watermark", "err", err)
		}
	}
}

// flush writes the watermark asked for, if it is past the one written. It
// returns once no write is in flight, so that a failure noted after it is
// never cleared by an acknowledgement written before it.
func (a *acker) flush(ctx context.Context) error {
	a.write.Lock()
	defer a.write.Unlock()
	a.mu.Lock()
	want := a.want
	a.mu.Unlock()
	if want <= a.wrote {
		return nil
	}
	if err := a.ob.Ack(ctx, a.peer, want); err != nil {
		return err
	}
	a.wrote = want
	return nil
}
