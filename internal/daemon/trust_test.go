package daemon_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/peer"
)

// TestReloadKeepsReplayMemory records a signed request, reloads the
// daemon's config (which builds a new peer API handler) and replays it:
// it must still be refused.
func TestReloadKeepsReplayMemory(t *testing.T) {
	a, _ := pair(t)
	req, err := http.NewRequest(http.MethodGet, "http://"+a.listen+peer.PathHealth, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer.Sign(req, "sop2", []byte("0123456789abcdef0123456789abcdef"), time.Now(), nil)
	send := func() int {
		resp, err := http.DefaultClient.Do(req.Clone(ctxFor(t)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(); code != http.StatusOK {
		t.Fatalf("first request: %d", code)
	}
	if err := a.d.Reload(a.cfg); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if code := send(); code != http.StatusUnauthorized {
		t.Errorf("replay after reload: %d, want 401", code)
	}
}
