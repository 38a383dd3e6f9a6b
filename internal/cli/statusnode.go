package cli

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/store"
)

// statusJournal is what status reads from the journal besides what the
// engine reads: each peer's delivery state.
type statusJournal interface {
	Peers(ctx context.Context) ([]store.PeerStatus, error)
}

// statusInputs is everything status reads: the node's journal (nil when
// it cannot be read), a dry-run engine (nil when AMI or the journal is
// unavailable), the peers, and why a local part is missing.
type statusInputs struct {
	name      string
	journal   statusJournal
	engine    *engine.Engine
	peers     []node.Peer
	localErrs []error
	close     func()
}

// Close releases the AMI session and the database pool.
func (n *statusInputs) Close() {
	if n.close != nil {
		n.close()
	}
}

// openStatusInputs opens what it can of the node. Nothing it opens writes
// anywhere: the engine is a dry run.
func openStatusInputs(ctx context.Context, d *Deps) (*statusInputs, error) {
	n, err := d.openNode(ctx, node.Options{DryRun: true, Partial: true})
	if err != nil {
		return nil, err
	}
	in := &statusInputs{name: d.Config.Node, engine: n.Engine, peers: n.Peers, localErrs: n.Errs, close: n.Close}
	if n.Journal != nil {
		in.journal = n.Journal
	}
	return in, nil
}

// peerAdvice explains a failed health check of p and says what to check.
func peerAdvice(p node.Peer, err error) string {
	msg := err.Error()
	var ne net.Error
	switch {
	case p.Err != nil:
		return fmt.Sprintf("%s (fix peers[%d] in the config)", msg, p.Index)
	case errors.Is(err, peer.ErrUnauthorized):
		return fmt.Sprintf("%s (this node's secret for %s is peers[%d].secret_file %s)", msg, p.Conf.Name, p.Index, p.Conf.SecretFile)
	case errors.Is(err, peer.ErrUntrusted):
		return fmt.Sprintf("%s; nothing from it was applied. Something between the nodes changes the answers (a proxy?), or %s runs a queuesync that does not sign them (upgrade it); peers[%d].url is %s: use TLS (https://) between nodes", msg, p.Conf.Name, p.Index, p.Conf.URL)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s; no answer in time: is %s up, and does a firewall let %s through?", msg, p.Conf.Name, p.Conf.URL)
	case errors.As(err, &ne):
		return fmt.Sprintf("%s; is 'queuesync daemon' running on %s and listening at %s (its listen:)?", msg, p.Conf.Name, p.Conf.URL)
	}
	return msg
}
