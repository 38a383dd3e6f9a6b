package daemon

import (
	"strings"
	"sync"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// ringinuseCache remembers what AMI events taught of ringinuse, which
// QueueStatus lists leave out: each member's value, and each queue's
// default (a dynamic member is added with its queue's setting, so
// QueueMemberAdded shows it). It is the engine's RinginuseSource.
//
// What an event taught holds for the connection it came on only: a new
// connection may be to a restarted Asterisk, and a read made on it must not
// take the old run's values (the reconcile after a restart assumes the
// queue's default instead).
type ringinuseCache struct {
	mu       sync.Mutex
	gen      func() uint64 // the current connection's number
	m        map[state.Key]learnt
	defaults map[string]bool // lower-cased queue -> default
	// reloaded is the connection on which app_queue announced a reload,
	// after which a member not heard of since may be back at its queue's
	// default (0: none).
	reloaded uint64
}

// learnt is a member's ringinuse as events told it. A member's first event,
// QueueMemberAdded, shows its queue's default, not a choice: that value is
// assumed, so that the effects of queuesync's own add-then-set (an added
// event still on its way when the member is read) are never taken for a
// local change.
type learnt struct {
	v, assumed bool
	gen        uint64 // the connection the event came on
}

func newRinginuseCache(gen func() uint64) *ringinuseCache {
	return &ringinuseCache{gen: gen, m: map[state.Key]learnt{}, defaults: map[string]bool{}}
}

// learn records what a QueueMember* event that came on connection gen says.
func (c *ringinuseCache) learn(ev ami.Message, gen uint64) {
	name := ev.Event()
	if !strings.HasPrefix(name, "QueueMember") {
		return
	}
	m := ami.DecodeQueueMember(ev)
	k := state.NewKey(m.Queue, m.Interface)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case name == "QueueMemberRemoved":
		delete(c.m, k)
	case m.Ringinuse == nil:
	case name == "QueueMemberAdded":
		if m.Membership != string(state.Static) {
			c.defaults[k.Queue] = *m.Ringinuse
		}
		c.m[k] = learnt{v: *m.Ringinuse, assumed: true, gen: gen}
	default:
		c.m[k] = learnt{v: *m.Ringinuse, gen: gen}
	}
}

// Member returns the member's ringinuse as events told it, and whether it
// is only its queue's default (assumed): after an announced reload, a
// member not heard of since is taken to be at its queue's default.
func (c *ringinuseCache) Member(k state.Key) (*bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.gen()
	if l, ok := c.m[k]; ok && l.gen == cur {
		return state.Bool(l.v), l.assumed
	}
	if c.reloaded == cur && cur != 0 {
		return state.Bool(c.queueDefault(k.Queue)), true
	}
	return nil, false
}

// QueueDefault returns the queue's default ringinuse, yes (Asterisk's
// default) until an event showed another.
func (c *ringinuseCache) QueueDefault(queue string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queueDefault(strings.ToLower(queue))
}

func (c *ringinuseCache) queueDefault(lowerQueue string) bool {
	if v, ok := c.defaults[lowerQueue]; ok {
		return v
	}
	return true
}

// reload records an announced reload of app_queue. A reload keeps dynamic
// members' ringinuse on Asterisk 22.10.1, except after persistentmembers was
// switched on in queues.conf, when it puts every member back to its queue's
// default; QueueStatus cannot tell which happened, so every member is taken
// to be at its default, and a journalled value that differs is put back:
// one action per such member and reload, which may change nothing.
func (c *ringinuseCache) reload(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.reloaded = gen
}

// forget drops what members' events taught (a new connection: Asterisk may
// have restarted); queue defaults are kept, they come from queues.conf.
func (c *ringinuseCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.reloaded = 0
}

// isQueueReload reports whether ev announces a reload of app_queue (Event:
// Reload, which needs read=system; `queue reload members` sends nothing).
func isQueueReload(ev ami.Message) bool {
	if ev.Event() != "Reload" {
		return false
	}
	mod, _ := ev.Lookup("Module")
	return mod == "" || strings.HasPrefix(strings.ToLower(mod), "app_queue")
}
