package state

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeNow is a settable wall clock for tests.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

func (f *fakeNow) Set(t time.Time) { f.mu.Lock(); f.t = t; f.mu.Unlock() }

var t0 = time.UnixMilli(1764041230000)

func TestClockNowMonotonic(t *testing.T) {
	wall := &fakeNow{t: t0}
	c := NewClock(wall.Now, time.Minute)
	var prev Stamp
	steps := []time.Duration{0, 0, time.Millisecond, -time.Second, 0, 1005 * time.Millisecond}
	for i, d := range steps {
		wall.Set(wall.Now().Add(d))
		s := c.Now()
		if i > 0 && s.Compare(prev) <= 0 {
			t.Fatalf("step %d: Now %s not after %s", i, s, prev)
		}
		prev = s
	}
	if got, want := prev, (Stamp{Wall: t0.UnixMilli() + 6, Logical: 0}); got != want {
		t.Errorf("last stamp %s, want %s (wall clock caught up)", got, want)
	}
}

func TestClockNowSameMillisecond(t *testing.T) {
	c := NewClock(func() time.Time { return t0 }, time.Minute)
	for i := range uint32(3) {
		if got, want := c.Now(), (Stamp{Wall: t0.UnixMilli(), Logical: i}); got != want {
			t.Errorf("Now #%d = %s, want %s", i, got, want)
		}
	}
}

func TestClockObserveMerges(t *testing.T) {
	c := NewClock(func() time.Time { return t0 }, time.Minute)
	remote := Stamp{Wall: t0.UnixMilli() + 30_000, Logical: 7}
	if err := c.Observe(remote); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if got := c.Last(); got != remote {
		t.Errorf("Last = %s, want %s", got, remote)
	}
	if got, want := c.Now(), remote.Next(); got != want {
		t.Errorf("Now after Observe = %s, want %s", got, want)
	}
	if err := c.Observe(Stamp{Wall: 1}); err != nil {
		t.Fatalf("Observe old stamp: %v", err)
	}
	if got := c.Last(); got != remote.Next() {
		t.Errorf("an older stamp moved the clock back to %s", got)
	}
}

func TestClockObserveRefusesSkew(t *testing.T) {
	c := NewClock(func() time.Time { return t0 }, time.Minute)
	limit := Stamp{Wall: t0.Add(time.Minute).UnixMilli(), Logical: 99}
	if err := c.Observe(limit); err != nil {
		t.Fatalf("stamp exactly at the limit refused: %v", err)
	}
	before := c.Last()
	err := c.Observe(Stamp{Wall: limit.Wall + 1})
	if !errors.Is(err, ErrClockSkew) {
		t.Fatalf("Observe(limit+1ms) = %v, want ErrClockSkew", err)
	}
	if c.Last() != before {
		t.Errorf("refused stamp was merged: Last = %s", c.Last())
	}
}

func TestStampTotalOrder(t *testing.T) {
	ordered := []Stamp{{0, 0}, {0, 1}, {0, ^uint32(0)}, {1, 0}, {1, 5}, {1764041230000, 0}, {1764041230000, 3}}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestVersionAfterBreaksTiesByOrigin(t *testing.T) {
	s := Stamp{Wall: 10, Logical: 1}
	tests := []struct {
		a, b Version
		want bool
	}{
		{Version{s, "sop2"}, Version{s, "sop1"}, true},
		{Version{s, "sop1"}, Version{s, "sop2"}, false},
		{Version{s, "sop1"}, Version{s, "sop1"}, false},
		{Version{s.Next(), "a"}, Version{s, "z"}, true},
		{Version{s, "z"}, Version{s.Next(), "a"}, false},
	}
	for _, tt := range tests {
		if got := tt.a.After(tt.b); got != tt.want {
			t.Errorf("%v.After(%v) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestStampNext(t *testing.T) {
	if got, want := (Stamp{5, 1}).Next(), (Stamp{5, 2}); got != want {
		t.Errorf("Next = %s, want %s", got, want)
	}
	if got, want := (Stamp{5, ^uint32(0)}).Next(), (Stamp{6, 0}); got != want {
		t.Errorf("Next at counter overflow = %s, want %s", got, want)
	}
}

func TestParseStampRoundTrip(t *testing.T) {
	for _, s := range []Stamp{{0, 0}, {1764041234567, 3}, {1, ^uint32(0)}, {1<<63 - 1, 0}} {
		got, err := ParseStamp(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStamp(%q) = %s, %v; want %s", s.String(), got, err, s)
		}
	}
}

func TestParseStampBad(t *testing.T) {
	bad := []string{"", ".", "123", "123.", ".4", "-1.0", "1.-1", "a.b", "1.2.3", "1.4294967296",
		"9223372036854775808.0", " 1.0", "1.0 ", "1e3.0", "0x10.0", "1.0\n", "+1.0", "1.+0", "1,0"}
	for _, v := range bad {
		if s, err := ParseStamp(v); err == nil {
			t.Errorf("ParseStamp(%q) = %s, want an error", v, s)
		}
	}
}
