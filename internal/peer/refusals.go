package peer

import (
	"maps"
	"net/http"
	"sync"
	"time"
)

// The kinds of refused request Refusals counts.
const (
	RefusedUnauthenticated = "unauthenticated" // unsigned, unknown node, bad signature, clock skew
	RefusedReplayed        = "replayed"        // a signature seen before
	RefusedBusy            = "busy"            // MaxConcurrent reached, or the replay cache full
	RefusedTooLarge        = "too_large"       // body over MaxBody
	RefusedBadRequest      = "bad_request"     // unknown path, wrong method or content type, malformed document
	RefusedConflict        = "clock_skew"      // a document clock too far ahead
	RefusedFailed          = "failed"          // this node failed to serve it (5xx)
)

// kindOf returns the refusal kind of an answer's status code.
func kindOf(code int) string {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return RefusedUnauthenticated
	case code == http.StatusRequestEntityTooLarge:
		return RefusedTooLarge
	case code == http.StatusConflict:
		return RefusedConflict
	case code >= 500:
		return RefusedFailed
	}
	return RefusedBadRequest
}

// Log rate of refusals: at most refusalLogBurst lines per refusalLogWindow;
// the next line after a quiet spell says how many were not logged.
const (
	refusalLogBurst  = 10
	refusalLogWindow = 10 * time.Second
)

// Refusals counts the requests the peer API refused, by kind, and decides
// which refusals are logged, so that a flood of hostile requests cannot
// flood the log. A node makes one and passes it to every handler it builds
// (HandlerOptions.Refusals), and exports Counts as a metric. It is safe for
// concurrent use.
type Refusals struct {
	mu         sync.Mutex
	counts     map[string]uint64
	window     time.Time
	logged     int
	suppressed uint64
}

// NewRefusals returns an empty counter.
func NewRefusals() *Refusals { return &Refusals{counts: map[string]uint64{}} }

// Counts returns the number of refusals so far, by kind.
func (r *Refusals) Counts() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.counts)
}

// add counts one refusal of kind at now and says whether to log it, and how
// many refusals went unlogged since the last line logged.
func (r *Refusals) add(kind string, now time.Time) (suppressed uint64, log bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[kind]++
	if now.Sub(r.window) >= refusalLogWindow || now.Before(r.window) {
		r.window, r.logged = now, 0
	}
	if r.logged >= refusalLogBurst {
		r.suppressed++
		return 0, false
	}
	r.logged++
	suppressed, r.suppressed = r.suppressed, 0
	return suppressed, true
}

// maxReported bounds the members remembered as already reported.
const maxReported = 4096

// onceSet remembers up to max keys, to report each problem once; when full
// it forgets everything, so a problem is reported again at worst once per
// max others.
type onceSet struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func newOnceSet(max int) *onceSet { return &onceSet{max: max, seen: map[string]struct{}{}} }

// add reports whether key is new.
func (s *onceSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; ok {
		return false
	}
	if len(s.seen) >= s.max {
		clear(s.seen)
	}
	s.seen[key] = struct{}{}
	return true
}
