package store

import (
	"testing"
)

func TestTryLock(t *testing.T) {
	s, ctx := parallelStore(t)
	release, ok, err := s.TryLock(ctx, "resync")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want ok", ok, err)
	}
	// Another session: the pool gives a second connection.
	if _, ok, err := s.TryLock(ctx, "resync"); err != nil || ok {
		t.Fatalf("second TryLock = %v, %v; want not ok", ok, err)
	}
	// A different name is a different lock.
	other, ok, err := s.TryLock(ctx, "gc")
	if err != nil || !ok {
		t.Fatalf("TryLock(gc) = %v, %v; want ok", ok, err)
	}
	other()
	release()
	release() // idempotent
	again, ok, err := s.TryLock(ctx, "resync")
	if err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v; want ok", ok, err)
	}
	again()
}
