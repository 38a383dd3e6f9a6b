package daemon

import (
	"strings"
	"sync"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// ringinuseCache remembers each member's ringinuse from AMI events, the
// only place Asterisk reports it (QueueStatus lists leave it out).
type ringinuseCache struct {
	mu sync.Mutex
	m  map[state.Key]bool
}

func newRinginuseCache() *ringinuseCache { return &ringinuseCache{m: map[state.Key]bool{}} }

// learn records what a QueueMember* event says.
func (c *ringinuseCache) learn(ev ami.Message) {
	if !strings.HasPrefix(ev.Event(), "QueueMember") {
		return
	}
	m := ami.DecodeQueueMember(ev)
	k := state.NewKey(m.Queue, m.Interface)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ev.Event() == "QueueMemberRemoved":
		delete(c.m, k)
	case m.Ringinuse != nil:
		c.m[k] = *m.Ringinuse
	}
}

// get returns the member's ringinuse, nil when no event told it.
func (c *ringinuseCache) get(k state.Key) *bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if !ok {
		return nil
	}
	return &v
}

// forget drops everything learnt.
func (c *ringinuseCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
