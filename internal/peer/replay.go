package peer

import (
	"sync"
	"time"
)

// ReplayCache remembers the request signatures seen until they expire (when
// the skew check would refuse them anyway). It holds at most max entries:
// expired ones are swept every sweepEvery and whenever it is full, and a new
// signature that finds it still full is refused, never let through.
//
// A node makes one and passes it to every handler it builds
// (HandlerOptions.Replay), so that a request recorded before a reload is
// still refused after it. It lives in memory: a restart forgets it, and the
// timestamp check (MaxSkew) is what then refuses requests older than the
// restart by more than MaxSkew. It is safe for concurrent use.
type ReplayCache struct {
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

// NewReplayCache returns a cache of at most size signatures (at most
// DefaultReplayCacheSize when size <= 0).
func NewReplayCache(size int) *ReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	return &ReplayCache{max: size, seen: make(map[[32]byte]time.Time)}
}

// add records sig, valid until expires, and says whether it is fresh.
func (c *ReplayCache) add(sig [32]byte, expires, now time.Time) replayVerdict {
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

func (c *ReplayCache) sweep(now time.Time) {
	for sig, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, sig)
		}
	}
	c.lastSweep = now
}

func (c *ReplayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
