package engine

import (
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// silentSet holds the members Asterisk sends no event for. Asterisk builds
// its QueueMember* events as JSON, and for a member whose name, state
// interface or pause reason is not UTF-8 (a Latin-1 name, legal in a
// member) it sends none at all, for any change (seen on Asterisk 22.10.1).
// Their changes are found only by reading them: the daemon polls them.
type silentSet struct {
	mu sync.Mutex
	m  map[state.Key]Member
}

// note records whether the live member m makes no events.
func (s *silentSet) note(k state.Key, m ami.QueueMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if utf8.ValidString(m.Name) && utf8.ValidString(m.StateInterface) && utf8.ValidString(m.PausedReason) {
		delete(s.m, k)
		return
	}
	if s.m == nil {
		s.m = map[state.Key]Member{}
	}
	s.m[k] = Member{Queue: m.Queue, Interface: m.Interface}
}

// gone forgets a member that is no longer in its queue.
func (s *silentSet) gone(k state.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// Silent returns the members last seen with a value that makes Asterisk
// send no event for them, sorted: the daemon reads them now and then
// (Capture) to find their changes. A member leaves the list once it is seen
// gone or with plain values.
func (e *Engine) Silent() []Member {
	s := e.silent
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Member, 0, len(s.m))
	for _, m := range s.m {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Queue != out[j].Queue {
			return out[i].Queue < out[j].Queue
		}
		return out[i].Interface < out[j].Interface
	})
	return out
}
