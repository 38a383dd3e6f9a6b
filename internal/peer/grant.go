package peer

import "strings"

// Grant is the set of queues a peer may read and write: its queues: entry
// in peers:. Queue names compare without case, as Asterisk's do. The zero
// Grant allows no queue.
type Grant struct {
	All    bool     // every queue (queues: all)
	Queues []string // else these
}

// AllQueues grants every queue.
var AllQueues = Grant{All: true}

// Allows reports whether queue is granted.
func (g Grant) Allows(queue string) bool {
	if g.All {
		return true
	}
	for _, q := range g.Queues {
		if strings.EqualFold(q, queue) {
			return true
		}
	}
	return false
}

// narrow returns the queues of a request (all when empty) that g grants,
// and whether any is left. For a Grant of every queue, queues is returned
// as it is; for a list, an empty request asks for the whole list.
func (g Grant) narrow(queues []string) ([]string, bool) {
	if g.All {
		return queues, true
	}
	if len(queues) == 0 {
		return g.Queues, len(g.Queues) > 0
	}
	var out []string
	for _, q := range queues {
		if g.Allows(q) {
			out = append(out, q)
		}
	}
	return out, len(out) > 0
}
