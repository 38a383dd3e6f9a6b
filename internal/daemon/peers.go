package daemon

import (
	"context"

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

// wakeAll tells every deliverer that the journal has news.
func (d *Daemon) wakeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.peers {
		p.poke()
	}
}
