package daemon

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is a jittered exponential backoff that honours its context.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, cur: min}
}

// next returns the next delay: the current step with ±50% jitter.
func (b *backoff) next() time.Duration {
	d := b.cur/2 + rand.N(b.cur)
	b.cur = min(b.cur*2, b.max)
	return d
}

func (b *backoff) reset() { b.cur = b.min }

// wait sleeps for the next delay or until ctx is done.
func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
