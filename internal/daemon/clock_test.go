package daemon_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

// quietPeer serves a peer API with no members.
type quietPeer struct{}

func (quietPeer) State(context.Context, []string, bool) ([]state.Register, error) { return nil, nil }
func (quietPeer) Apply(context.Context, string, []state.Register) ([]peer.Result, error) {
	return nil, nil
}

// The daemon's peer clients merge the peer's hybrid clock from its answers
// (a peer 30 s ahead moves this node's clock along), and refuse a stamp
// beyond max_clock_skew (a peer 10 min ahead moves nothing).
func TestDaemonPeerClientsMergeAndBoundClock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ahead  time.Duration
		merged bool
	}{{"within skew", 30 * time.Second, true}, {"far future", 10 * time.Minute, false}} {
		t.Run(tc.name, func(t *testing.T) {
			a := newNode(t, "sop1")
			dir := t.TempDir()
			secret := filepath.Join(dir, "peer.secret")
			amiSecret := filepath.Join(dir, "ami.secret")
			for f, v := range map[string]string{secret: "0123456789abcdef0123456789abcdef\n", amiSecret: "queuesync\n"} {
				if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var checks atomic.Int64
			peerNow := func() time.Time { return time.Now().Add(tc.ahead) }
			h := peer.NewHandler(peer.HandlerOptions{
				Receiver: quietPeer{}, Name: "sop2", Clock: state.NewClock(peerNow, time.Hour),
				Secrets: map[string][]byte{"sop1": []byte("0123456789abcdef0123456789abcdef")},
			})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				checks.Add(1)
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			other := &node{name: "sop2", listen: srv.Listener.Addr().String()}
			a.configure(other, secret, amiSecret)
			a.start()

			eventually(t, "three health checks", func() bool { return checks.Load() >= 3 }, a)
			got := time.UnixMilli(a.parts.Clock.Now().Wall)
			switch {
			case tc.merged && got.Before(time.Now().Add(tc.ahead-5*time.Second)):
				t.Errorf("clock %v: the peer's clock, %v ahead, was not merged", got, tc.ahead)
			case !tc.merged && got.After(time.Now().Add(time.Minute)):
				t.Errorf("clock %v: a stamp %v ahead was accepted", got, tc.ahead)
			}
		})
	}
}
