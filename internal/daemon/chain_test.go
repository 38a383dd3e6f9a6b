package daemon_test

import (
	"maps"
	"testing"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/pkg/ami"
)

// In a chain sop1 - sop2 - sop3 (sop1 and sop3 do not know each other),
// sop2 forwards what it applies from one neighbour to the other, and
// sends nothing back to the neighbour it came from.
func TestChainForwards(t *testing.T) {
	a, b, c := newNode(t, "sop1"), newNode(t, "sop2"), newNode(t, "sop3")
	secret, amiSecret := secretFiles(t)
	a.configure(b, secret, amiSecret)
	c.configure(b, secret, amiSecret)
	b.configure(a, secret, amiSecret)
	b.cfg.Peers = append(b.cfg.Peers, config.Peer{Name: c.name, URL: "http://" + c.listen, SecretFile: secret, Queues: config.AllQueues})
	a.peer, b.peer, c.peer = b, a, b
	a.start()
	b.start()
	c.start()

	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Paused: true, Reason: "lunch"})
	c.waitMember("sales", "PJSIP/1001", isPaused("lunch"))
	c.pause("sales", "PJSIP/1001", false, "")
	a.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && !m.Paused })
	b.waitMember("sales", "PJSIP/1001", func(m *ami.QueueMember) bool { return m != nil && !m.Paused })

	barrier(t, a, c, "PJSIP/9001")
	barrier(t, c, a, "PJSIP/9002")
	want := map[string]map[string]int{
		a.name: {"QueuePause": 1, "QueueAdd": 1}, // sop3's unpause and barrier
		b.name: {"QueuePause": 1, "QueueAdd": 3}, // everything, from one side or the other
		c.name: {"QueueAdd": 2},                  // sop1's add and barrier
	}
	for _, n := range []*node{a, b, c} {
		if got := n.actions(); !maps.Equal(got, want[n.name]) {
			a.describe()
			b.describe()
			c.describe()
			t.Errorf("%s's daemon sent %v, want %v", n.name, got, want[n.name])
		}
	}
}
