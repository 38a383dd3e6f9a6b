package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/queuesync/queuesync/internal/peer"
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
	inScope := scope(p, queues)
	differ := differingQueues(s.digests(inScope), pl.digests.Queues, inScope)
	pl.want <- slices.Sorted(maps.Keys(differ))
	return differ, nil
}

// scope reports whether a queue is one a sync with p covers: shared with
// p and, when queues are given, one of them.
func scope(p Peer, queues []string) func(queue string) bool {
	asked := map[string]bool{}
	for _, q := range queues {
		asked[state.NewKey(q, "").Queue] = true
	}
	return func(queue string) bool {
		return p.Shares(queue) && (len(asked) == 0 || asked[state.NewKey(queue, "").Queue])
	}
}

// differingQueues returns the keys of the queues in scope whose digests
// differ between mine and theirs (a queue one side has no digest of
// differs from one the other has).
func differingQueues(mine []store.QueueDigest, theirs []peer.QueueDigest, inScope func(string) bool) map[string]bool {
	sums := map[string]string{}
	for _, d := range theirs {
		if inScope(d.Queue) {
			sums[d.Queue] = d.Digest
		}
	}
	differ := map[string]bool{}
	for _, d := range mine {
		if !inScope(d.Queue) {
			continue
		}
		if sums[d.Queue] != d.Digest {
			differ[d.Queue] = true
		}
		delete(sums, d.Queue)
	}
	for q := range sums {
		differ[q] = true
	}
	return differ
}

// peerDiffers compares p's digests (its journal reconciled first) with the
// journal's, reconciled meanwhile, for SyncPeer: the keys of the queues
// that differ; all is true when they cannot be compared (a dry run, which
// must not make the peer write, or a peer without digests) and every queue
// must be read.
func (e *Engine) peerDiffers(ctx context.Context, p Peer) (differ map[string]bool, all bool, err error) {
	if e.opts.DryRun {
		return nil, true, nil
	}
	var mine []store.QueueDigest
	var theirs peer.Digests
	var peerErr error
	err = alongside(func() (err error) {
		mine, err = e.reconciledDigests(ctx, p.Shares)
		return err
	}, func() error {
		theirs, peerErr = p.Client.ReconciledDigests(ctx)
		return nil
	})
	switch {
	case err != nil:
		return nil, false, err
	case servesNoDigests(peerErr):
		return nil, true, nil
	case peerErr != nil:
		return nil, false, fmt.Errorf("pull from %s: %w", p.Name, peerErr)
	}
	return differingQueues(mine, theirs.Queues, p.Shares), false, nil
}

// servesNoDigests reports whether err is a peer's 404 to a digest request:
// a peer without digests, whose whole state is read instead.
func servesNoDigests(err error) bool {
	var se *peer.StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

// reconciledDigests reconciles the live state of every queue into the
// journal, in a session of its own, and sums up the journal of the queues
// in scope.
func (e *Engine) reconciledDigests(ctx context.Context, inScope func(string) bool) ([]store.QueueDigest, error) {
	sess, err := e.Begin(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	if _, err := sess.Reconcile(ctx); err != nil {
		return nil, err
	}
	return sess.digests(inScope), nil
}

// digests sums up the session's journal of the queues in scope
// (store.DigestOf).
func (s *Session) digests(inScope func(string) bool) []store.QueueDigest {
	var regs []state.Register
	for _, en := range s.journal {
		if inScope(en.Queue) {
			regs = append(regs, en.Register)
		}
	}
	return store.DigestOf(regs)
}
