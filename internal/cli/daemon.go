package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/build"
	"github.com/queuesync/queuesync/internal/daemon"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/sdnotify"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

func newDaemonCmd(d *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Watch the local Asterisk, replicate its queue-member changes and serve the peer API",
		Long: `The daemon runs on every node under systemd. It holds one AMI session to
the local Asterisk (Events: agent), journals every real change of a queue
member and delivers it to every peer that shares the queue, within
milliseconds. It serves the peer API (GET /queue/v1/health, GET
/queue/v1/state, POST /queue/v1/changes, GET /queue/v1/digest) on listen:,
authenticates every request with the peer's shared secret, and applies the
changes peers send with the minimal AMI actions.

Every health_interval it compares a digest of each queue's journal with each
peer's (queuesync_queue_in_sync on metrics_listen:; with ami.user_events, the
AMI UserEvents QueuesyncPeerDown, QueuesyncPeerUp, QueuesyncDrift and
QueuesyncRepaired). With web_listen: it serves a read-only status page of
every member on this node and its peers, and /api/v1/queues for wallboards.
Every change it journals or restores is kept in the history (queuesync
history), trimmed hourly to history_retention and history_max_rows.

After every AMI (re)connect, Asterisk restart or event overflow it takes a
full QueueStatus snapshot and reconciles; members an Asterisk restart erased
are restored from the journal, not removed on the peers. It checks each
peer's health every health_interval and, when a peer comes back, delivers its
backlog and resyncs with it at once.

Under systemd (Type=notify) it tells systemd it is ready (READY=1) only
once it has applied the journal schema and logged in to Asterisk, so that
"systemctl start queuesync" fails when the journal database cannot be
reached or Asterisk refuses the login, and waits (up to the unit's start
timeout) while Asterisk is still starting. systemctl status shows what it
is doing (STATUS=).

SIGHUP reloads peers and secrets from the config file ("systemctl reload
queuesync" runs 'queuesync reload', which waits for the answer). node,
listen and ami change only with a restart: a reload that changes them is
refused and the daemon keeps running on the old config. The first SIGINT or
SIGTERM stops intake and lets deliveries in flight finish within
shutdown_timeout; a second one exits at once.`,
		Example: `  queuesync daemon --config /etc/queuesync/queuesync.yaml
  systemctl reload queuesync`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd.Context(), d)
		},
	}
	return cmd
}

func runDaemon(ctx context.Context, d *Deps) error {
	sd := sdnotify.New(d.Getenv)
	status := func(s string) { _ = sd.Notify(sdnotify.Status(s)) }
	status("opening the journal database and Asterisk")
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
		return pgAdvice(d.Config.Database.URL, err)
	}
	warnJournalClock(ctx, d, n.Journal)
	if sd.Enabled() && len(n.Errs) > 0 {
		if err := d.waitForAMI(ctx, status); err != nil {
			return err
		}
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
	d.Log.Info("queuesync daemon started", "node", d.Config.Node, "listen", dm.Addr(), "metrics", dm.MetricsAddr(), "web", dm.WebAddr())
	for _, w := range d.Config.Warnings() {
		d.Log.Warn("config: " + w)
	}
	rl := newReloadOutcome(d.Getenv, d.Log)
	rl.write("ok", "started")
	_ = sd.Ready(readyStatus(d, dm.Addr()))
	go reloadOnHUP(ctx, d, dm, sd, rl)
	err = dm.Run(secondSignalAborts(ctx))
	_ = sd.Stopping("stopped")
	return err
}

// journalClockTolerance is how far the journal database's clock may be
// from this host's before the daemon warns: the engine tells an AMI event
// that arrived before a member's journal write from one after it within
// engine.JournalSkew, and needs the two clocks well within that.
const journalClockTolerance = engine.JournalSkew / 2

// warnJournalClock warns when the journal database's clock is off this
// host's by more than journalClockTolerance.
func warnJournalClock(ctx context.Context, d *Deps, st *store.Store) {
	off, err := st.ClockOffset(ctx)
	switch {
	case err != nil:
		d.Log.Warn("could not compare the journal database's clock with this host's", "err", err)
	case off > journalClockTolerance || off < -journalClockTolerance:
		d.Log.Warn("the journal database's clock differs from this host's; keep both on NTP (or run PostgreSQL on this host)",
			"offset", off.Round(time.Millisecond), "tolerance", journalClockTolerance)
	}
}

// waitForAMI logs in to Asterisk before the daemon reports ready when the
// first attempt failed, so that "systemctl start" waits for Asterisk (and
// fails when systemd's start timeout passes first). A refused login fails at
// once: retrying cannot fix a wrong secret. Outside systemd the daemon
// starts at once and connects in the background.
func (d *Deps) waitForAMI(ctx context.Context, status func(string)) error {
	for {
		status("logging in to Asterisk at " + d.Config.AMI.Address)
		cl, err := node.DialAMI(ctx, d.Config.AMI, "off", d.Log)
		if err == nil {
			_ = cl.Logoff(ctx)
			return cl.Close()
		}
		if errors.Is(err, ami.ErrAuth) {
			return err
		}
		d.Log.Warn("waiting for Asterisk before reporting ready", "err", err)
		status("waiting for Asterisk: " + err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func readyStatus(d *Deps, addr string) string {
	return fmt.Sprintf("node %s serving the peer API at %s; %s", d.Config.Node, addr, plural(len(d.Config.Peers), "peer", "peers"))
}

// reloadOnHUP re-reads the config file on SIGHUP and hands it to the
// daemon, telling systemd and 'queuesync reload' the outcome.
func reloadOnHUP(ctx context.Context, d *Deps, dm *daemon.Daemon, sd *sdnotify.Notifier, rl *reloadOutcome) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			_ = sd.Reloading("reloading the config")
			cfg, err := d.loadConfig()
			if err == nil {
				err = dm.Reload(cfg)
			}
			if err != nil {
				d.Log.Error("SIGHUP: config not reloaded; the daemon runs on with its previous config", "err", err)
				rl.write("refused", err.Error())
				_ = sd.Ready("reload refused, running on the previous config: " + err.Error())
				continue
			}
			rl.write("ok", "reloaded")
			_ = sd.Ready(readyStatus(d, dm.Addr()))
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
