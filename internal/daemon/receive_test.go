package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// A push whose sender goes away (killed, timed out, cut off) while the
// receiving daemon applies it still runs to its end: the member is not left
// half-changed with its register pending until some later reconcile.
func TestApplyOutlivesTheSender(t *testing.T) {
	b := newNode(t, "sop2")
	dir := t.TempDir()
	secret := filepath.Join(dir, "peer.secret")
	amiSecret := filepath.Join(dir, "ami.secret")
	key := "0123456789abcdef0123456789abcdef"
	for f, v := range map[string]string{secret: key + "\n", amiSecret: "queuesync\n"} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.configure(&node{name: "sop1", listen: reserveAddr(t)}, secret, amiSecret)
	b.start()
	b.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Penalty: 1, Paused: true, Reason: "lunch"})
	var reg state.Register
	eventually(t, "the add is journalled", func() bool {
		en, ok := b.entry("sales", "PJSIP/1001")
		reg = en.Register
		return ok && en.Present && en.Paused && !en.Pending
	}, b)

	clock := state.NewClock(time.Now, time.Minute)
	cl, err := peer.NewClient(peer.ClientOptions{Name: "sop2", URL: "http://" + b.listen, Node: "sop1", Secret: []byte(key), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	reg.Penalty, reg.Paused, reg.PausedReason = 3, false, ""
	reg.Stamp, reg.Origin = clock.Now(), "sop1"

	// Asterisk stalls while the daemon applies the push; the sender gives
	// up and closes its connection.
	b.srv.SetStall(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := cl.Push(ctx, []state.Register{reg}); done <- err }()
	eventually(t, "the daemon waits for Asterisk", func() bool { return b.srv.Held() >= 1 }, b)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the push succeeded although its sender gave up")
	}
	time.Sleep(200 * time.Millisecond) // the daemon sees the connection go
	b.srv.SetStall(false)

	b.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && m.Penalty == 3 && !m.Paused })
	eventually(t, "the register is journalled and settled", func() bool {
		en, _ := b.entry("sales", "PJSIP/1001")
		return en.Penalty == 3 && !en.Paused && !en.Pending
	}, b)
}
