//go:build e2e

package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// waitUserEvent waits for the UserEvent name on cl, with header key equal
// to value when key is set, and fails after timeout.
func waitUserEvent(t *testing.T, cl *ami.Client, name, key, value string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxT(t), timeout)
	defer cancel()
	var seen []string
	for {
		ev, err := cl.NextEvent(ctx)
		if err != nil {
			t.Fatalf("no UserEvent %s (%s: %s) within %s; saw %v", name, key, value, timeout, seen)
		}
		if !strings.EqualFold(ev.Get("Event"), "UserEvent") {
			continue
		}
		seen = append(seen, ev.Get("UserEvent")+" "+ev.Get("Peer")+" "+ev.Get("Queue"))
		if ev.Get("UserEvent") == name && ev.Get("Node") == "sop1" && (key == "" || ev.Get(key) == value) {
			return
		}
	}
}

// With ami.user_events on, A's daemon announces on its Asterisk that B is
// down and back, that a queue drifted and that it was repaired.
func TestWatchUserEvents(t *testing.T) {
	reset(t)
	t.Setenv("QUEUESYNC_AMI_USER_EVENTS", "true")
	a, b := watchDaemons(t) // both daemons start with the variable set
	os.Unsetenv("QUEUESYNC_AMI_USER_EVENTS")
	const q, iface = "billing", "Local/3701@agents"
	addAndWait(t, a.node, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Max"})
	waitFor(t, "A reports billing in sync with B", func() bool { return a.metric(t, `queuesync_queue_in_sync{peer="sop2",queue="billing"}`) == "1" })
	cl := a.node.TestClient(t, "user", ami.Options{EventBuffer: 1024})

	b.node.Stop()
	waitUserEvent(t, cl, "QueuesyncPeerDown", "Peer", "sop2", 15*time.Second)
	if err := startDaemon(b.node); err != nil {
		t.Fatal(err)
	}
	waitUserEvent(t, cl, "QueuesyncPeerUp", "Peer", "sop2", 15*time.Second)

	execSQL(t, b.node, `UPDATE attribute_state SET stamp_wall = stamp_wall + 1, seq = nextval('queue_sync_seq')
		WHERE class = 'queue_sync' AND queue_key = $1 AND iface_key = $2`,
		q, strings.ToLower(iface))
	waitUserEvent(t, cl, "QueuesyncDrift", "Queue", q, 20*time.Second)
	resync(t, b.node)
	waitUserEvent(t, cl, "QueuesyncRepaired", "Queue", q, 20*time.Second)
}
