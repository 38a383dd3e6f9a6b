package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// statusOptions are the flags of status.
type statusOptions struct {
	JSON    bool
	Verbose int
	Peers   []string
	Queues  []string
	Timeout time.Duration
}

func (o *statusOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.JSON, "json", false, "print the status as JSON")
	f.CountVarP(&o.Verbose, "verbose", "v", "also print every difference found, as resync -v --dry-run does")
	f.StringSliceVar(&o.Peers, "peer", nil, "only check these peers (default: every configured peer)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Second, "how long to wait for each peer's health answer")
}

const statusLong = `Status shows, for each peer, whether it answers (a signed GET
/queue/v1/health) and how fast, when changes were last delivered to it, the
last delivery error, and its backlog: the journalled changes it has not
acknowledged yet. For each queue it shows "in sync" or "N differences": the
members whose state differs between this node's live Asterisk, its journal
and its peers.

The comparison is a dry run of resync: it reads live AMI state, the journal
and each reachable peer's state (asking the peer for a dry run too) and
changes nothing anywhere. 'queuesync resync -v' corrects what it finds; add
-v here to see the differences first.

With no queue given, every queue this node defines and shares with a peer is
checked. Tables are bordered on a terminal and tab-separated when piped;
--json prints everything, including full error messages.

Status exits 0 only when every peer answered and every queue is in sync, so
it can serve as a monitoring check: 3 means a peer is unreachable or a queue
has differences, 1 that the local Asterisk or the journal database could not
be read.`

func newStatusCmd(d *Deps, runF func(context.Context, *statusOptions) error) *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status [flags] [queue...]",
		Short: "Show peer reachability, delivery backlog and which queues are out of sync",
		Long:  statusLong,
		Example: `  # peers and queues at a glance
  queuesync status

  # as a monitoring check: exit 0 only when all is in sync
  queuesync status >/dev/null || echo "queuesync needs attention"

  # what differs in queue support, without changing anything
  queuesync status -v support

  # for scripts
  queuesync status --json | jq '.queues[] | select(.differences > 0)'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Queues = args
			if opts.Timeout <= 0 {
				return &FlagError{Err: fmt.Errorf("--timeout %s: want a positive duration, like 5s", opts.Timeout)}
			}
			if runF != nil {
				return runF(cmd.Context(), &opts)
			}
			return runStatus(cmd.Context(), d, &opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runStatus(ctx context.Context, d *Deps, o *statusOptions) error {
	if _, err := pickPeers(configPeers(d.Config), o.Peers); err != nil {
		return err
	}
	n, err := openStatusInputs(ctx, d)
	if err != nil {
		return err
	}
	defer n.Close()
	return statusWith(ctx, d, n, o)
}

// statusWith checks n, prints the report and returns the exit error.
func statusWith(ctx context.Context, d *Deps, n *statusInputs, o *statusOptions) error {
	peers, err := pickPeers(n.peers, o.Peers)
	if err != nil {
		return err
	}
	rep := collectStatus(ctx, d, n, peers, o)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := printStatus(d, rep, o); err != nil {
		return err
	}
	return rep.exitError()
}

// exitError maps the report to the exit status: 1 when a local part could
// not be read, 3 when a peer is unreachable or a queue differs.
func (r *statusReport) exitError() error {
	if len(r.localErrs) > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("status incomplete: %w", errors.Join(r.localErrs...))}
	}
	if !r.OK {
		return &ExitError{Code: ExitPartial}
	}
	return nil
}
