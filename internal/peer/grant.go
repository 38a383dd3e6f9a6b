package peer

import "github.com/queuesync/queuesync/internal/config"

// Grant is the set of queues a peer may read and write: its queues: entry
// in peers: (config.Queues). Queue names compare without case, as
// Asterisk's do. The zero Grant allows no queue.
type Grant = config.Queues

// AllQueues grants every queue.
var AllQueues = config.AllQueues

// narrow returns the queues of a request (all when empty) that g grants,
// and whether any is left. For a Grant of every queue, queues is returned
// as it is; for a list, an empty request asks for the whole list.
func narrow(g Grant, queues []string) ([]string, bool) {
	if g.All {
		return queues, true
	}
	if len(queues) == 0 {
		return g.Names, len(g.Names) > 0
	}
	var out []string
	for _, q := range queues {
		if g.Contains(q) {
			out = append(out, q)
		}
	}
	return out, len(out) > 0
}
