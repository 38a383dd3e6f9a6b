package state

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrClockSkew is returned when a peer's stamp lies further in the future than
// the allowed clock skew.
var ErrClockSkew = errors.New("stamp too far in the future")

// Stamp is a hybrid logical clock timestamp: wall-clock milliseconds since the
// Unix epoch plus a logical counter that orders events within one
// millisecond. Stamps are totally ordered by (Wall, Logical).
type Stamp struct {
	Wall    int64  // milliseconds since the Unix epoch
	Logical uint32 // counter within Wall
}

// Compare returns -1, 0 or +1 as s is before, equal to or after o.
func (s Stamp) Compare(o Stamp) int {
	switch {
	case s.Wall < o.Wall:
		return -1
	case s.Wall > o.Wall:
		return 1
	case s.Logical < o.Logical:
		return -1
	case s.Logical > o.Logical:
		return 1
	}
	return 0
}

// IsZero reports whether s is the zero stamp (never written).
func (s Stamp) IsZero() bool { return s.Wall == 0 && s.Logical == 0 }

// Time returns the wall-clock part of s.
func (s Stamp) Time() time.Time { return time.UnixMilli(s.Wall) }

// Next returns the smallest stamp after s.
func (s Stamp) Next() Stamp {
	if s.Logical == ^uint32(0) {
		return Stamp{Wall: s.Wall + 1}
	}
	return Stamp{Wall: s.Wall, Logical: s.Logical + 1}
}

// String formats s as "wall.logical", the wire form of the peer API.
func (s Stamp) String() string {
	return strconv.FormatInt(s.Wall, 10) + "." + strconv.FormatUint(uint64(s.Logical), 10)
}

// ParseStamp parses the "wall.logical" form written by Stamp.String.
func ParseStamp(v string) (Stamp, error) {
	wall, logical, ok := strings.Cut(v, ".")
	if !ok {
		return Stamp{}, fmt.Errorf("parse stamp %q: want milliseconds.counter", v)
	}
	w, err := strconv.ParseInt(wall, 10, 64)
	if err != nil || w < 0 || strings.HasPrefix(wall, "+") {
		return Stamp{}, fmt.Errorf("parse stamp %q: bad milliseconds", v)
	}
	l, err := strconv.ParseUint(logical, 10, 32)
	if err != nil {
		return Stamp{}, fmt.Errorf("parse stamp %q: bad counter", v)
	}
	return Stamp{Wall: w, Logical: uint32(l)}, nil
}

// Clock is a hybrid logical clock (Kulkarni et al. 2014). It is safe for
// concurrent use. The zero value is not usable; call NewClock.
type Clock struct {
	mu      sync.Mutex
	now     func() time.Time
	maxSkew time.Duration
	last    Stamp
}

// NewClock returns a clock reading wall time from now and refusing remote
// stamps more than maxSkew ahead of it.
func NewClock(now func() time.Time, maxSkew time.Duration) *Clock {
	return &Clock{now: now, maxSkew: maxSkew}
}

// Now returns a new stamp, later than every stamp this clock has issued or
// observed.
func (c *Clock) Now() Stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := c.now().UnixMilli()
	if wall > c.last.Wall {
		c.last = Stamp{Wall: wall}
	} else {
		c.last = c.last.Next()
	}
	return c.last
}

// Observe merges a stamp received from a peer into the clock, so that every
// later Now is after it. A stamp more than the maximum skew ahead of the
// local wall clock is refused with ErrClockSkew and not merged.
func (c *Clock) Observe(s Stamp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.now().Add(c.maxSkew).UnixMilli()
	if s.Wall > limit {
		return fmt.Errorf("observe stamp %s: %w (%s ahead, limit %s)",
			s, ErrClockSkew, time.Duration(s.Wall-c.now().UnixMilli())*time.Millisecond, c.maxSkew)
	}
	if s.Compare(c.last) > 0 {
		c.last = s
	}
	return nil
}

// Last returns the latest stamp issued or observed, without advancing.
func (c *Clock) Last() Stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
