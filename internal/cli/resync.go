package cli

import (
	"context"

	"github.com/spf13/cobra"
)

func newSyncCmd(d *Deps, mode syncMode, short, long, example string, runF func(context.Context, *syncOptions) error) *cobra.Command {
	var opts syncOptions
	cmd := &cobra.Command{
		Use:     mode.name + " [flags] [queue...]",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Queues = args
			if runF != nil {
				return runF(cmd.Context(), &opts)
			}
			return runSync(cmd.Context(), d, mode, &opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func newResyncCmd(d *Deps, runF func(context.Context, *syncOptions) error) *cobra.Command {
	return newSyncCmd(d, modeResync,
		"Pull then push: make this node and every peer agree",
		`Resync reconciles this node's live AMI state with its journal, compares
each queue's digest with each peer's (the peer reconciles its own first),
fetches the peer's member state of the queues that differ, applies what is
newer here with the minimal AMI actions, then sends each peer what it is
missing. Nodes that agree exchange no member state. With no queue given,
every queue the two nodes share is synced; --dry-run fetches every queue's
state and changes nothing on either node.

This is what cron runs every few minutes and what the "Force queue
synchronization" menu entry runs. Only one resync, pull or push runs at a time
on a node; a second one exits 4 without doing anything.`,
		`  # what cron runs
  queuesync resync

  # show every difference found and the action taken
  queuesync resync -v

  # see what would change, change nothing
  queuesync resync -v --dry-run support`, runF)
}

func newPullCmd(d *Deps, runF func(context.Context, *syncOptions) error) *cobra.Command {
	return newSyncCmd(d, modePull,
		"Fetch each peer's member state and apply what is newer here",
		`Pull fetches each peer's member-state XML (of the queues whose digests
differ, as resync does), merges it with the local journal by last writer
wins, compares the winners with live AMI QueueStatus and applies the
corrective actions locally. Nothing is sent to the peer.`,
		`  queuesync pull
  queuesync pull -v support sales`, runF)
}

func newPushCmd(d *Deps, runF func(context.Context, *syncOptions) error) *cobra.Command {
	return newSyncCmd(d, modePush,
		"Send this node's member state to each peer",
		`Push sends this node's journalled member state to each peer. The peer applies
what is newer than its own and answers what was stale; a newer register the
peer returns is applied here.`,
		`  queuesync push
  queuesync push --peer sop2 support`, runF)
}
