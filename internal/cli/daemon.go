package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/build"
	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/node"
)

func newDaemonCmd(d *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Watch the local Asterisk, replicate its queue-member changes and serve the peer API",
		Long: `The daemon runs on every node under systemd. It holds one AMI session to
the local Asterisk (Events: agent), journals every real change of a queue
member and delivers it to every peer that shares the queue, within
milliseconds. It serves the peer API (GET /queue/v1/health, GET
/queue/v1/state, POST /queue/v1/changes) on listen:, authenticates every
request with the peer's shared secret, and applies the changes peers send with
the minimal AMI actions.

After every AMI (re)connect, Asterisk restart or event overflow it takes a
full QueueStatus snapshot and reconciles; members an Asterisk restart erased
are restored from the journal, not removed on the peers. It checks each
peer's health every health_interval and, when a peer comes back, delivers its
backlog and resyncs with it at once.

It applies the journal schema at start. SIGHUP reloads peers and secrets
from the config file. The first SIGINT or SIGTERM stops intake and lets
deliveries in flight finish within shutdown_timeout; a second one exits at
once.

` + exitStatusHelp,
		Example: `  queuesync daemon --config /etc/queuesync/queuesync.yaml`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd.Context(), d)
		},
	}
}

func runDaemon(ctx context.Context, d *Deps) error {
	n, err := d.openNode(ctx, node.Options{Events: node.EventsAgent, Partial: true})
	if err != nil {
		return err
	}
	defer n.Close()
	if n.Journal == nil {
		return n.Errs[0] // the daemon runs without Asterisk (it redials), not without its journal
	}
	for _, err := range n.Errs {
		d.Log.Warn("starting without the asterisk manager; retrying", "err", err)
	}
	if _, err := n.Journal.Migrate(ctx); err != nil {
		return err
	}
	sl, err := openSyncLog(d.Config.LogFile, d.Config.Node, d.Now)
	if err != nil {
		return err
	}
	defer sl.Close()
	dm, err := daemon.New(daemon.Options{Node: n, Software: build.Read().Version, Log: d.Log, SyncLog: sl, Now: d.Now})
	if err != nil {
		return err
	}
	d.Log.Info("queuesync daemon started", "node", d.Config.Node, "listen", dm.Addr(), "metrics", dm.MetricsAddr())
	go reloadOnHUP(ctx, d, dm)
	return dm.Run(secondSignalAborts(ctx))
}

// reloadOnHUP re-reads the config file on SIGHUP and hands it to the daemon.
func reloadOnHUP(ctx context.Context, d *Deps, dm *daemon.Daemon) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			cfg, err := d.loadConfig()
			if err == nil {
				err = dm.Reload(cfg)
			}
			if err != nil {
				d.Log.Error("SIGHUP: config not reloaded", "err", err)
			}
		}
	}
}

// secondSignalAborts returns ctx unchanged but exits the process at once on
// a second SIGINT/SIGTERM once ctx is cancelled by the first.
func secondSignalAborts(ctx context.Context) context.Context {
	go func() {
		<-ctx.Done()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		fmt.Fprintln(os.Stderr, "queuesync: second signal, exiting now")
		os.Exit(ExitInterrupted)
	}()
	return ctx
}
