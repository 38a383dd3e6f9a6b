package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// node is everything a one-shot command needs, built from the config.
type node struct {
	ami     *ami.Client
	store   *store.Store
	engine  *engine.Engine
	peers   []engine.Peer
	synclog *syncLog
}

func (n *node) Close() {
	if n.ami != nil {
		_ = n.ami.Logoff(context.Background())
		_ = n.ami.Close()
	}
	if n.store != nil {
		n.store.Close()
	}
	if n.synclog != nil {
		n.synclog.Close()
	}
}

// openNode connects to AMI and the journal and builds the peer clients.
func (d *Deps) openNode(ctx context.Context, dryRun bool) (*node, error) {
	n := &node{}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	var err error
	if n.store, err = d.openStore(ctx); err != nil {
		return nil, err
	}
	if err := n.store.Check(ctx); err != nil {
		return nil, err
	}
	if n.ami, err = d.dialAMI(ctx, "off"); err != nil {
		return nil, err
	}
	if n.peers, err = d.peerClients(); err != nil {
		return nil, err
	}
	if n.synclog, err = openSyncLog(d.Config.LogFile, d.Config.Node, d.Now); err != nil {
		return nil, err
	}
	n.engine = engine.New(engine.Options{
		Node: d.Config.Node, AMI: n.ami, Journal: n.store, DryRun: dryRun, Log: d.Log,
		Clock: state.NewClock(d.Now, d.Config.MaxClockSkew),
	})
	ok = true
	return n, nil
}

func (d *Deps) openStore(ctx context.Context) (*store.Store, error) {
	c := d.Config.Database
	var pw string
	if c.PasswordFile != "" {
		b, err := config.ReadSecret(c.PasswordFile)
		if err != nil {
			return nil, err
		}
		pw = string(b)
	}
	st, err := store.Open(ctx, c.URL, store.Options{Password: pw})
	if err != nil {
		return nil, databaseAdvice(c.URL, err)
	}
	return st, nil
}

// dialAMI connects and logs in to the local Asterisk with the given event
// mask. An authentication failure names the manager.conf user.
func (d *Deps) dialAMI(ctx context.Context, events string) (*ami.Client, error) {
	c := d.Config.AMI
	secret, err := config.ReadSecret(c.SecretFile)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := ami.Dial(dctx, c.Address, ami.Options{})
	if err != nil {
		return nil, fmt.Errorf("connect to asterisk manager at %s (is Asterisk running, and manager.conf enabled?): %w", c.Address, err)
	}
	if err := cl.Login(dctx, c.Username, string(secret), events); err != nil {
		_ = cl.Close()
		if errors.Is(err, ami.ErrAuth) {
			return nil, fmt.Errorf("asterisk manager at %s refused user %q: check [%s] and its secret in manager.conf against ami.secret_file %s: %w",
				c.Address, c.Username, c.Username, c.SecretFile, err)
		}
		return nil, fmt.Errorf("log in to asterisk manager at %s: %w", c.Address, err)
	}
	return cl, nil
}

// peerClients builds a signed client for every configured peer.
func (d *Deps) peerClients() ([]engine.Peer, error) {
	hc, err := daemon.PeerHTTPClient(d.Config.TLS)
	if err != nil {
		return nil, err
	}
	out := make([]engine.Peer, 0, len(d.Config.Peers))
	for _, pc := range d.Config.Peers {
		p, _, err := daemon.NewPeer(d.Config, pc, hc, d.Now)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
