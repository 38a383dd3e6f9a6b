package peer

import (
	"sync"
	"time"
)

// replayCache remembers the signatures seen until they expire (when the
// skew check would refuse them anyway). It holds at most max entries:
// expired ones are swept every sweepEvery and whenever it is full, and a
// new signature that finds it still full is refused, never let through.
type replayCache struct {
	mu        sync.Mutex
	max       int
	seen      map[[32]byte]time.Time // signature -> expiry
	lastSweep time.Time
}

type replayVerdict int

const (
	fresh replayVerdict = iota
	replayed
	cacheFull
)

// sweepEvery is how often expired signatures are dropped.
const sweepEvery = 30 * time.Second

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[32]byte]time.Time)}
}

// add records sig, valid until expires, and says whether it is fresh.
func (c *replayCache) add(sig [32]byte, expires, now time.Time) replayVerdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[sig]; ok && now.Before(exp) {
		return replayed
	}
	if now.Sub(c.lastSweep) >= sweepEvery || len(c.seen) >= c.max {
		c.sweep(now)
	}
	if len(c.seen) >= c.max {
		return cacheFull
	}
	c.seen[sig] = expires
	return fresh
}

func (c *replayCache) sweep(now time.Time) {
	for sig, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, sig)
		}
	}
	c.lastSweep = now
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
