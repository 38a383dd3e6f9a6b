package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
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
	if _, err := pickPeers(configPeers(d.Config), o.Peers); err != nil {
		return err // before any connection: a typo is a usage error even when the database is down
	}
	n, err := d.openNode(ctx, node.Options{DryRun: o.DryRun})
	if err != nil {
		return err
	}
	defer n.Close()
	peers, err := selectPeers(n.Peers, o.Peers)
	if err != nil {
		return err
	}
	sl, err := openSyncLog(d.Config.LogFile, d.Config.Node, d.Now)
	if err != nil {
		return err
	}
	defer sl.Close()
	release, ok, err := n.Journal.TryLock(ctx, "resync")
	if err != nil {
		return err
	}
	if !ok {
		return &ExitError{Code: ExitLocked, Err: errors.New("another queuesync resync, pull or push is running on this node (it holds the journal lock); nothing was done, try again when it has finished")}
	}
	defer release()
	rep, err := syncOnce(ctx, n.Engine, mode, peers, o)
	if err != nil {
		return err
	}
	sl.Outcomes(mode.name, rep.Outcomes)
	sl.Line("%s summary %s", mode.name, summary(rep))
	if err := printReport(d, rep, o); err != nil {
		return err
	}
	if rep.partial() {
		return &ExitError{Code: ExitPartial, Err: partialError(rep)}
	}
	return nil
}

func syncOnce(ctx context.Context, eng *engine.Engine, mode syncMode, peers []engine.Peer, o *syncOptions) (*syncReport, error) {
	var pulls *engine.Pulls
	if mode.pull { // the peers' states are read while the local one is
		pulls = engine.StartPulls(ctx, peers, o.Queues, o.DryRun)
	}
	sess, err := eng.Begin(ctx, o.Queues)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	res, err := sess.Sync(ctx, peers, engine.Direction{Pull: mode.pull, Push: mode.push}, o.Queues, pulls)
	if err != nil {
		return nil, err
	}
	return &syncReport{Node: eng.Node(), DryRun: o.DryRun, Outcomes: res.Outcomes, PeerError: res.PeerErrors}, nil
}

// selectPeers returns the engine's view of the peers named (all when
// none), or a usage error.
func selectPeers(all []node.Peer, names []string) ([]engine.Peer, error) {
	picked, err := pickPeers(all, names)
	out := make([]engine.Peer, len(picked))
	for i, p := range picked {
		out[i] = p.Peer
	}
	return out, err
}

// pickPeers returns the peers named (all when none), or a usage error.
func pickPeers(all []node.Peer, names []string) ([]node.Peer, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []node.Peer
	for _, name := range names {
		found := false
		for _, p := range all {
			if strings.EqualFold(p.Conf.Name, name) {
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

// configPeers are the configured peers, for checking names before the
// node is opened.
func configPeers(cfg config.Config) []node.Peer {
	out := make([]node.Peer, len(cfg.Peers))
	for i, pc := range cfg.Peers {
		out[i] = node.Peer{Conf: pc, Index: i}
	}
	return out
}

func peerNames(ps []node.Peer) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Conf.Name)
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
