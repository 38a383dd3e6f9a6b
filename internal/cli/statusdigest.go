package cli

import (
	"context"
	"strings"

	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// journalDigester is the part of the journal that sums it up per queue.
type journalDigester interface {
	Digests(ctx context.Context, queues []string) ([]store.QueueDigest, error)
}

// peerDigester is the part of a peer client that reads its digests.
type peerDigester interface {
	Digests(ctx context.Context) (peer.Digests, error)
}

// addDigests compares this node's journal digests with each reachable
// peer's, as the daemon does for queuesync_queue_in_sync, and notes the
// answer per queue and peer ("agree" or "differ"). Where the journal or a
// peer cannot tell, nothing is noted.
func (r *statusReport) addDigests(ctx context.Context, journal statusJournal, peers []node.Peer) {
	j, ok := journal.(journalDigester)
	if !ok {
		return
	}
	local, err := j.Digests(ctx, nil)
	if err != nil {
		return
	}
	for _, p := range peers {
		c, ok := p.Client.(peerDigester)
		if p.Err != nil || !ok || r.byName[strings.ToLower(p.Name)] == "unreachable" {
			continue
		}
		remote, err := c.Digests(ctx)
		if err != nil {
			continue
		}
		same := daemon.CompareDigests(local, remote.Queues, p.Shares)
		for i := range r.Queues {
			q := &r.Queues[i]
			agree, known := same[state.NewKey(q.Queue, "").Queue]
			if !known {
				continue
			}
			if q.Journals == nil {
				q.Journals = map[string]string{}
			}
			q.Journals[p.Name] = map[bool]string{true: "agree", false: "differ"}[agree]
		}
	}
}

// journalsNote is what the STATUS column adds about the journals' digests.
func journalsNote(q queueReport) string {
	var differ []string
	for p, v := range q.Journals {
		if v == "differ" {
			differ = append(differ, p)
		}
	}
	if len(differ) == 0 {
		return ""
	}
	return "; journal differs from " + strings.Join(differ, ",")
}
