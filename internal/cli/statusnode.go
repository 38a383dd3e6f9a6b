package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// statusJournal is what status reads from the journal besides what the
// engine reads: each peer's delivery state.
type statusJournal interface {
	Peers(ctx context.Context) ([]store.PeerStatus, error)
}

// statusPeer is a configured peer as status checks it.
type statusPeer struct {
	conf   config.Peer
	index  int // position in peers:, for messages naming peers[i].secret_file
	peer   engine.Peer
	health func(ctx context.Context) (peer.Health, error)
	err    error // the client could not be built (secret file unreadable, bad URL)
}

// statusNode is everything status reads. openStatusNode builds it from the
// config; the parts that could not be opened are nil and their errors are
// in localErrs, so that status still reports what it can.
type statusNode struct {
	name      string
	journal   statusJournal
	engine    *engine.Engine // a dry-run engine; nil when AMI or the journal is unavailable
	peers     []statusPeer
	localErrs []error
	closers   []func()
}

// Close releases the AMI session and the database pool.
func (n *statusNode) Close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
}

// openStatusNode opens the journal, AMI (events off) and the peer clients
// of d.Config. Nothing it opens writes anywhere: the engine is a dry run.
func openStatusNode(ctx context.Context, d *Deps) *statusNode {
	n := &statusNode{name: d.Config.Node}
	st, err := d.openStore(ctx)
	if err == nil {
		n.closers = append(n.closers, st.Close)
		if err = st.Check(ctx); err == nil {
			n.journal = st
		}
	}
	if err != nil {
		n.localErrs = append(n.localErrs, databaseAdvice(d.Config.Database.URL, err))
	}
	cl, aerr := d.dialAMI(ctx, "off")
	if aerr != nil {
		n.localErrs = append(n.localErrs, aerr)
	} else {
		n.closers = append(n.closers, func() { _ = cl.Logoff(context.Background()); _ = cl.Close() })
	}
	if err == nil && aerr == nil {
		n.engine = engine.New(engine.Options{
			Node: d.Config.Node, AMI: cl, Journal: st, DryRun: true, Log: d.Log, Now: d.Now,
			Clock: state.NewClock(d.Now, d.Config.MaxClockSkew),
		})
	}
	n.peers = configuredPeers(d)
	return n
}

// configuredPeers builds a signed client for every configured peer; a peer
// whose client cannot be built carries the error.
func configuredPeers(d *Deps) []statusPeer {
	hc, hcErr := daemon.PeerHTTPClient(d.Config.TLS)
	out := make([]statusPeer, 0, len(d.Config.Peers))
	for i, pc := range d.Config.Peers {
		sp := statusPeer{conf: pc, index: i, err: hcErr}
		if hcErr == nil {
			p, cl, err := daemon.NewPeer(d.Config, pc, hc, d.Now)
			sp.err = err
			if err == nil {
				sp.peer, sp.health = p, cl.Health
			}
		}
		out = append(out, sp)
	}
	return out
}

// selectPeers returns the peers named (all when none), or a usage error.
func (n *statusNode) selectPeers(names []string) ([]statusPeer, error) {
	if len(names) == 0 {
		return n.peers, nil
	}
	var out []statusPeer
	for _, name := range names {
		found := false
		for _, p := range n.peers {
			if strings.EqualFold(p.conf.Name, name) {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			var all []string
			for _, p := range n.peers {
				all = append(all, p.conf.Name)
			}
			if len(all) == 0 {
				all = []string{"none configured"}
			}
			return nil, &FlagError{Err: fmt.Errorf("--peer %s: no such peer in the config (peers: %s)", name, strings.Join(all, ", "))}
		}
	}
	return out, nil
}

// databaseAdvice adds what to check to a journal failure, naming the
// database URL with its password masked (the store's errors name it
// already; a message that does not is given it).
func databaseAdvice(url string, err error) error {
	if errors.Is(err, store.ErrNotMigrated) || errors.Is(err, store.ErrSchemaTooNew) {
		return err
	}
	where := "database.url"
	if red := config.RedactURL(url); url != "" && !strings.Contains(err.Error(), red) {
		where += " (" + red + ")"
	}
	return fmt.Errorf("journal database: %w; is PostgreSQL running, and are %s and database.password_file right?", err, where)
}

// peerAdvice explains a failed health check of p and says what to check.
func peerAdvice(p statusPeer, err error) string {
	msg := err.Error()
	var ne net.Error
	switch {
	case p.err != nil:
		return fmt.Sprintf("%s (fix peers[%d] in the config)", msg, p.index)
	case errors.Is(err, peer.ErrUnauthorized):
		return fmt.Sprintf("%s (this node's secret for %s is peers[%d].secret_file %s)", msg, p.conf.Name, p.index, p.conf.SecretFile)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s; no answer in time: is %s up, and does a firewall let %s through?", msg, p.conf.Name, p.conf.URL)
	case errors.As(err, &ne):
		return fmt.Sprintf("%s; is 'queuesync daemon' running on %s and listening at %s (its listen:)?", msg, p.conf.Name, p.conf.URL)
	}
	return msg
}
