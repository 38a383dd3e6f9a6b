package engine

import (
	"context"
	"maps"
	"slices"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// compareDigests waits for pl's digests of the peer and compares them with
// the session's journal (reconciled: it holds every member of its queues).
// It returns the keys of the queues that differ, whose state pl then reads
// (none: the nodes agree and nothing is read); nil when the peer serves
// no digests (pl reads the whole state) or they could not be read (pl ends
// with why).
func (s *Session) compareDigests(ctx context.Context, p Peer, pl *pulling, queues []string) (map[string]bool, error) {
	select {
	case <-pl.digested:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if pl.digests == nil {
		return nil, nil
	}
	asked := map[string]bool{}
	for _, q := range queues {
		asked[state.NewKey(q, "").Queue] = true
	}
	inScope := func(queue string) bool {
		return p.Shares(queue) && (len(asked) == 0 || asked[state.NewKey(queue, "").Queue])
	}
	differ := map[string]bool{}
	theirs := map[string]string{}
	for _, d := range pl.digests.Queues {
		if inScope(d.Queue) {
			theirs[d.Queue] = d.Digest
		}
	}
	mine := s.digests(inScope)
	for q, d := range mine {
		if theirs[q] != d {
			differ[q] = true
		}
	}
	for q := range theirs {
		if _, ok := mine[q]; !ok {
			differ[q] = true
		}
	}
	pl.want <- slices.Sorted(maps.Keys(differ))
	return differ, nil
}

// digests sums up the session's journal of the queues in scope, by queue
// key (store.DigestOf).
func (s *Session) digests(inScope func(queue string) bool) map[string]string {
	var regs []state.Register
	for _, en := range s.journal {
		if inScope(en.Queue) {
			regs = append(regs, en.Register)
		}
	}
	out := map[string]string{}
	for _, d := range store.DigestOf(regs) {
		out[d.Queue] = d.Digest
	}
	return out
}
