package daemon

import (
	"testing"
	"time"
)

// However long Asterisk stays away, the daemon tries again within
// amiRetryMax and its jitter, so that it finds Asterisk again soon after
// its return (the chaos harness measures what that gives).
func TestAMIRetryBounded(t *testing.T) {
	bo := newBackoff(100*time.Millisecond, amiRetryMax)
	for i := 0; i < 200; i++ {
		if d := bo.next(); d > amiRetryMax*3/2 || d <= 0 {
			t.Fatalf("retry %d after %s, want at most %s", i, d, amiRetryMax*3/2)
		}
	}
	if amiRetryMax > time.Second {
		t.Errorf("amiRetryMax %s: a returning Asterisk would wait up to %s for its daemon", amiRetryMax, amiRetryMax*3/2)
	}
}
