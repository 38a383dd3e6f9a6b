package daemon

import (
	"context"
	"slices"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/node"
)

// startPeers starts one deliverer per peer whose client could be built.
func (d *Daemon) startPeers(cfg config.Config, peers []node.Peer) {
	ctx, cancel := context.WithCancel(context.Background())
	var ds []*deliverer
	for _, p := range peers {
		if p.Err != nil {
			d.opts.Log.Error("peer delivery disabled", "peer", p.Conf.Name, "err", p.Err)
			continue
		}
		ds = append(ds, newDeliverer(p, d.deliveryHost(), cfg.HealthInterval, d.opts.Log))
	}
	d.mu.Lock()
	d.peers, d.stopPeer = ds, cancel
	d.mu.Unlock()
	for _, p := range ds {
		d.peerWG.Add(1)
		go func() { defer d.peerWG.Done(); p.run(ctx) }()
	}
}

// stopPeers stops intake of new batches and waits for batches in flight.
func (d *Daemon) stopPeers() {
	d.mu.Lock()
	stop := d.stopPeer
	d.peers, d.stopPeer = nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
	d.peerWG.Wait()
}

// wakeFor tells the deliverers that have something to send after changes
// of queues were journalled, received from peer from ("" when local):
// every peer but from that shares one of the queues. The peer a change
// came from is never sent it back (Since leaves it out), so waking its
// deliverer would only cost an outbox read, and that read's exclusive
// journal lock would hold up the next change's write.
func (d *Daemon) wakeFor(from string, queues []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.peers {
		if p.peer.Name != from && slices.ContainsFunc(queues, p.peer.Shares) {
			p.poke()
		}
	}
}
