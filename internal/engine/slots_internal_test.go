package engine

import (
	"testing"
	"time"
)

// A group takes its slots together: it waits while fewer are free than it
// needs, and a group larger than all the slots takes them all.
func TestSlotsTakeGroups(t *testing.T) {
	sl := newSlots(4)
	if n := sl.take(3); n != 3 {
		t.Fatalf("take(3) of 4 free = %d", n)
	}
	got := make(chan int)
	go func() { got <- sl.take(2) }()
	select {
	case n := <-got:
		t.Fatalf("take(2) with 1 free returned %d at once; want it to wait", n)
	case <-time.After(50 * time.Millisecond):
	}
	sl.give()
	if n := <-got; n != 2 {
		t.Fatalf("take(2) after a give = %d", n)
	}
	for range 4 { // every slot back
		sl.give()
	}
	if n := sl.take(10); n != 4 {
		t.Fatalf("take(10) of 4 slots = %d, want 4", n)
	}
}
