package daemon

import (
	"context"
	"sort"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// The AMI UserEvents the daemon sends when ami.user_events is on.
const (
	UserEventPeerDown = "QueuesyncPeerDown"
	UserEventPeerUp   = "QueuesyncPeerUp"
	UserEventDrift    = "QueuesyncDrift"
	UserEventRepaired = "QueuesyncRepaired"
)

// userEvent is one announcement.
type userEvent struct {
	name    string
	headers []ami.Header
}

// announcements lists what changed between two checks of one peer: its
// reachability, and each queue's agreement while the peer is reachable.
func announcements(node string, prev, cur PeerAgreement) []userEvent {
	h := func(kv ...string) []ami.Header {
		out := []ami.Header{{Key: "Node", Value: node}, {Key: "Peer", Value: cur.Peer}}
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, ami.Header{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	var evs []userEvent
	switch {
	case prev.Reachable && !cur.Reachable:
		evs = append(evs, userEvent{UserEventPeerDown, h("Reason", oneLine(cur.Reason))})
	case !prev.Reachable && cur.Reachable:
		evs = append(evs, userEvent{UserEventPeerUp, h()})
	}
	if !cur.Reachable {
		return evs
	}
	queues := make([]string, 0, len(cur.InSync))
	for q := range cur.InSync {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	for _, q := range queues {
		was, known := prev.InSync[q]
		switch now := cur.InSync[q]; {
		case !now && (was || !known):
			evs = append(evs, userEvent{UserEventDrift, h("Queue", q)})
		case now && known && !was:
			evs = append(evs, userEvent{UserEventRepaired, h("Queue", q)})
		}
	}
	return evs
}

// oneLine keeps the first line of s, short enough for an AMI header.
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			s = s[:i]
			break
		}
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// announce sends the UserEvents of a check, when ami.user_events is on,
// without holding up the checks: a failure is logged and forgotten.
func (a *agreement) announce(prev, cur PeerAgreement) {
	cfg := a.d.cfg()
	if !cfg.AMI.UserEvents {
		return
	}
	evs := announcements(cfg.Node, prev, cur)
	if len(evs) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, ev := range evs {
			if err := a.d.link.UserEvent(ctx, ev.name, ev.headers...); err != nil {
				a.d.opts.Log.Warn("AMI UserEvent not sent (does the user have write = user?)", "event", ev.name, "err", err)
				return
			}
		}
	}()
}
