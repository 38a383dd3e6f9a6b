package daemon

import (
	"context"
	"time"

	"github.com/queuesync/queuesync/internal/peer"
)

// historyCollector is the part of the journal that collects its history
// (store.Store).
type historyCollector interface {
	CollectHistory(ctx context.Context, olderThan time.Time, maxRows int) (int64, error)
}

// historyCollectEvery is how often the history is trimmed to
// history_retention and history_max_rows.
const historyCollectEvery = time.Hour

// collectHistory trims the history at start and then every hour.
func (d *Daemon) collectHistory(ctx context.Context) {
	hc, ok := d.journal.(historyCollector)
	if !ok {
		return
	}
	tick := time.NewTicker(historyCollectEvery)
	defer tick.Stop()
	for {
		cfg := d.cfg()
		n, err := hc.CollectHistory(ctx, d.opts.Now().Add(-cfg.HistoryRetention), cfg.HistoryMaxRows)
		switch {
		case err != nil && ctx.Err() == nil:
			d.opts.Log.Warn("history not collected", "err", err)
		case n > 0:
			d.opts.Log.Info("history collected", "changes", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Digests sums up the journal for GET /queue/v1/digest (peer.DigestSource);
// with reconcile, once the live state is reconciled into it, as for a state
// read.
func (n *receiver) Digests(ctx context.Context, reconcile bool) ([]peer.QueueDigest, error) {
	j, ok := n.d.journal.(digester)
	if !ok {
		return nil, nil
	}
	if reconcile {
		sess, err := n.reconciled(ctx, nil, false)
		if err != nil {
			return nil, err
		}
		sess.End()
	}
	ds, err := j.Digests(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := make([]peer.QueueDigest, len(ds))
	for i, q := range ds {
		out[i] = peer.QueueDigest{Queue: q.Queue, Members: q.Members, Digest: q.Digest}
	}
	return out, nil
}
