package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/queuesync/queuesync/internal/engine"
)

// syncMode says which directions a sync command runs.
type syncMode struct {
	name       string
	pull, push bool
}

var (
	modePull   = syncMode{name: "pull", pull: true}
	modePush   = syncMode{name: "push", push: true}
	modeResync = syncMode{name: "resync", pull: true, push: true}
)

// syncOptions are the flags of pull, push and resync.
type syncOptions struct {
	Verbose int
	DryRun  bool
	JSON    bool
	Peers   []string
	Queues  []string
}

func (o *syncOptions) addFlags(f *pflag.FlagSet) {
	f.CountVarP(&o.Verbose, "verbose", "v", "print a table of every difference and the action taken (repeat for in-sync members too)")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "show what would change; change nothing on either node or journal")
	f.BoolVar(&o.JSON, "json", false, "print the outcomes as JSON")
	f.StringSliceVar(&o.Peers, "peer", nil, "only sync with these peers (default: every configured peer)")
}

// syncReport collects a run's outcomes and peer failures.
type syncReport struct {
	Node      string           `json:"node"`
	DryRun    bool             `json:"dry_run"`
	Outcomes  []engine.Outcome `json:"-"`
	PeerError map[string]error `json:"-"`
}

func (r *syncReport) partial() bool {
	if len(r.PeerError) > 0 {
		return true
	}
	for _, o := range r.Outcomes {
		if o.Failed() {
			return true
		}
	}
	return false
}

func runSync(ctx context.Context, d *Deps, mode syncMode, o *syncOptions) error {
	n, err := d.openNode(ctx, o.DryRun)
	if err != nil {
		return err
	}
	defer n.Close()
	release, ok, err := n.store.TryLock(ctx, "resync")
	if err != nil {
		return err
	}
	if !ok {
		return &ExitError{Code: ExitLocked, Err: errors.New("another queuesync resync, pull or push is running on this node (it holds the journal lock); nothing was done, try again when it has finished")}
	}
	defer release()
	peers, err := selectPeers(n.peers, o.Peers)
	if err != nil {
		return err
	}
	rep, err := syncOnce(ctx, n, mode, peers, o)
	if err != nil {
		return err
	}
	n.synclog.Outcomes(mode.name, rep.Outcomes)
	n.synclog.Line("%s summary %s", mode.name, summary(rep))
	if err := printReport(d, rep, o); err != nil {
		return err
	}
	if rep.partial() {
		return &ExitError{Code: ExitPartial, Err: partialError(rep)}
	}
	return nil
}

func syncOnce(ctx context.Context, n *node, mode syncMode, peers []engine.Peer, o *syncOptions) (*syncReport, error) {
	sess, err := n.engine.Begin(ctx, o.Queues)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	rep := &syncReport{Node: n.engine.Node(), DryRun: o.DryRun, PeerError: map[string]error{}}
	local, err := sess.Reconcile(ctx)
	rep.Outcomes = append(rep.Outcomes, local...)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		outs, err := syncPeer(ctx, sess, mode, p, o.Queues)
		rep.Outcomes = append(rep.Outcomes, outs...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.PeerError[p.Name] = err
		}
	}
	return rep, nil
}

func syncPeer(ctx context.Context, sess *engine.Session, mode syncMode, p engine.Peer, queues []string) ([]engine.Outcome, error) {
	if !mode.pull {
		return sess.Push(ctx, p, nil)
	}
	known, outs, err := sess.Pull(ctx, p, queues)
	if err != nil || !mode.push {
		return outs, err
	}
	pushed, err := sess.Push(ctx, p, known)
	return append(outs, pushed...), err
}

func selectPeers(all []engine.Peer, names []string) ([]engine.Peer, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []engine.Peer
	for _, name := range names {
		found := false
		for _, p := range all {
			if strings.EqualFold(p.Name, name) {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			return nil, &FlagError{Err: fmt.Errorf("--peer %s: no such peer in the config (peers: %s)", name, peerNames(all))}
		}
	}
	return out, nil
}

func peerNames(ps []engine.Peer) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "none configured"
	}
	return strings.Join(names, ", ")
}

// partialError sums up a partial run; the details were printed with the
// report (peer errors on stderr, failed members in the table and the log).
func partialError(r *syncReport) error {
	failed := 0
	for _, o := range r.Outcomes {
		if o.Failed() {
			failed++
		}
	}
	var peers []string
	for name := range r.PeerError {
		peers = append(peers, name)
	}
	sort.Strings(peers)
	msg := fmt.Sprintf("partial sync: %d member(s) failed", failed)
	if len(peers) > 0 {
		msg += ", peer(s) not synced: " + strings.Join(peers, ", ")
	}
	return errors.New(msg + "; see the output above and `queuesync log`")
}
