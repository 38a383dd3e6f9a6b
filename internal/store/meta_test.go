package store

import (
	"testing"
	"time"
)

func TestStartup(t *testing.T) {
	s, ctx := parallelStore(t)
	if got, err := s.Startup(ctx); err != nil || !got.IsZero() {
		t.Fatalf("Startup before SetStartup = %v, %v; want zero", got, err)
	}
	for _, want := range []time.Time{
		time.Date(2026, 11, 25, 4, 0, 0, 0, time.FixedZone("CET", 3600)),
		time.Date(2026, 11, 26, 1, 2, 3, 456789000, time.UTC),
	} {
		if err := s.SetStartup(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Startup(ctx); err != nil || !got.Equal(want) {
			t.Fatalf("Startup = %v, %v; want %v", got, err, want)
		}
	}
}

// The test database runs on this host: its clock is this host's, within
// the round trip.
func TestClockOffset(t *testing.T) {
	s, ctx := parallelStore(t)
	off, err := s.ClockOffset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if off < -time.Second || off > time.Second {
		t.Errorf("offset %v from a database on this host", off)
	}
}
