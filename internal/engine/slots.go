package engine

import "sync"

// slots bounds the AMI actions a commit keeps in flight. A group of
// actions takes its slots together, so that the group is sent together:
// pkg/ami writes the actions queued at once in one write, and Asterisk
// reads them in one read. Taken one by one, each slot freed by an answer
// let one action go, and the actions after the first few hundred reached
// Asterisk one write, and one read, each (1,000 adds cost Asterisk 5 to
// 15 % more CPU than the same adds sent at once).
type slots struct {
	mu   sync.Mutex
	cond *sync.Cond
	size int // slots in all
	free int
}

func newSlots(n int) *slots {
	s := &slots{size: n, free: n}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// take waits until min(want, all slots) are free, takes them and returns
// how many it took.
func (s *slots) take(want int) int {
	n := min(want, s.size)
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.free < n {
		s.cond.Wait()
	}
	s.free -= n
	return n
}

// give returns one slot.
func (s *slots) give() {
	s.mu.Lock()
	s.free++
	s.mu.Unlock()
	s.cond.Broadcast()
}
