package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// Options configure a daemon.
type Options struct {
	// Node holds the node's parts (node.New with node.EventsAgent, and its
	// journal opened). Its config is the daemon's until a Reload.
	Node     *node.Node
	Software string // version reported by /queue/v1/health
	Log      *slog.Logger
	SyncLog  SyncLog
	Now      func() time.Time // the one clock of the daemon; default time.Now
}

// Daemon watches the local Asterisk, journals its real changes, delivers
// them to peers, serves the peer API and applies what peers send. See
// docs/architecture.md §4 for the path of a change through it.
type Daemon struct {
	opts    Options
	conf    atomic.Pointer[config.Config]
	journal Journal
	link    *ami.Link
	eng     *engine.Engine
	clock   *state.Clock
	metrics *metrics
	latency *latencyTracker
	ringuse *ringinuseCache
	agree   *agreement
	web     *webServer
	handler atomic.Pointer[http.Handler]

	// readLink is a second manager session, without events, and reader an
	// engine on it that changes nothing: the status page, the member count
	// and peers' dry runs read the node through them, off the live path
	// (see engine.Reader).
	readLink *ami.Link
	reader   *engine.Engine

	// replay and refusals outlive the handlers Reload builds: a request
	// recorded before a reload stays refused after it.
	replay   *peer.ReplayCache
	refusals *peer.Refusals
	srv      *http.Server
	ln       net.Listener
	msrv     *http.Server
	mln      net.Listener

	// reconciled is the AMI connection (amiLink generation) on which the
	// journal was last fully reconciled; see upToDate.
	reconciled atomic.Uint64

	mu       sync.Mutex
	peers    []*deliverer
	stopPeer context.CancelFunc
	peerWG   sync.WaitGroup
}

// SyncLog receives one line per change the daemon journals, delivers,
// applies, finds stale or fails (the operator's queue_sync.log).
type SyncLog interface {
	Outcome(op string, o engine.Outcome)
	Line(format string, args ...any)
}

// Journal is the journal as the daemon uses it: the engine's view plus the
// outbox.
type Journal interface {
	engine.Journal
	Outbox
	// ListUnplain lists the members whose values make Asterisk send no
	// events for them (see pollSilent).
	ListUnplain(ctx context.Context) ([]store.Entry, error)
}

// New builds a daemon and binds its listeners, so that Addr is known before
// Run.
func New(o Options) (*Daemon, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SyncLog == nil {
		o.SyncLog = nopLog{}
	}
	n := o.Node
	d := &Daemon{opts: o, journal: n.Journal, link: n.AMI, clock: n.Clock, metrics: newMetrics(), ringuse: newRinginuseCache(n.AMI.Generation)}
	d.conf.Store(&n.Config)
	d.replay, d.refusals = peer.NewReplayCache(0), peer.NewRefusals()
	d.metrics.exportRefusals(d.refusals)
	d.latency = newLatencyTracker(d.metrics.latency, o.Now)
	d.eng = n.NewEngine(false, d.ringuse, d.metrics.timeStep)
	d.readLink = ami.NewLink(func(ctx context.Context) (*ami.Client, error) {
		return node.DialAMI(ctx, d.cfg().AMI, node.EventsOff, o.Log)
	})
	d.reader = d.eng.Reader(d.readLink)
	d.agree = newAgreement(d)
	if err := d.setHandler(n.Config); err != nil {
		return nil, err
	}
	if err := d.listen(); err != nil {
		return nil, err
	}
	if err := d.listenWeb(n.Config); err != nil {
		d.closeListeners()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) cfg() config.Config { return *d.conf.Load() }

// setHandler builds the peer API handler for cfg's peers and secrets.
func (d *Daemon) setHandler(cfg config.Config) error {
	secrets, err := node.Secrets(cfg)
	if err != nil {
		return err
	}
	var h http.Handler = peer.NewHandler(peer.HandlerOptions{
		Receiver: &receiver{d: d}, Name: cfg.Node, Clock: d.clock, Software: d.opts.Software,
		Secrets: secrets, Grants: node.Grants(cfg), Now: d.opts.Now, Logger: d.opts.Log,
		Replay: d.replay, Refusals: d.refusals,
	})
	d.handler.Store(&h)
	return nil
}

func (d *Daemon) serveHTTP(w http.ResponseWriter, r *http.Request) {
	(*d.handler.Load()).ServeHTTP(w, r)
}

// Addr returns the address the peer API is bound to.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// MetricsAddr returns the metrics address, or "" when metrics are off.
func (d *Daemon) MetricsAddr() string {
	if d.mln == nil {
		return ""
	}
	return d.mln.Addr().String()
}

// Run watches AMI, delivers to peers and serves until ctx is cancelled; then
// it stops intake and lets deliveries in flight finish within the shutdown
// timeout. It returns nil on a clean shutdown.
func (d *Daemon) Run(ctx context.Context) error {
	d.opts.Log.Info("serving peer API", "addr", d.Addr(), "node", d.cfg().Node)
	errc := make(chan error, 3)
	go func() { errc <- d.srv.Serve(d.ln) }()
	if d.msrv != nil {
		go func() { errc <- d.msrv.Serve(d.mln) }()
	}
	wctx, stopWatch := context.WithCancel(ctx)
	var watchWG sync.WaitGroup
	watchWG.Add(2)
	go func() { defer watchWG.Done(); d.watch(wctx) }()
	go func() { defer watchWG.Done(); d.pollSilent(wctx) }()
	d.startPeers(d.cfg(), d.opts.Node.Peers)
	watchWG.Add(3)
	go func() { defer watchWG.Done(); d.agree.run(wctx, d.cfg().HealthInterval) }()
	go func() { defer watchWG.Done(); d.collectHistory(wctx) }()
	go func() { defer watchWG.Done(); d.serveWeb(wctx, errc) }()
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stopWatch()
	watchWG.Wait()
	if serr := d.shutdown(); err == nil {
		err = serr
	}
	return err
}

// Reload applies a new config's peers and secrets without dropping the AMI
// session. The node name, listen addresses and AMI settings need a restart.
func (d *Daemon) Reload(cfg config.Config) error {
	old := d.cfg()
	if cfg.Node != old.Node || cfg.Listen != old.Listen || cfg.AMI != old.AMI {
		return errors.New("reload: node, listen and ami settings change only with a restart; peers and queues were not reloaded either")
	}
	if err := d.setHandler(cfg); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	d.conf.Store(&cfg)
	d.stopPeers()
	d.startPeers(cfg, node.NewPeers(cfg, d.clock, d.opts.Now, d.opts.Log))
	d.opts.Log.Info("config reloaded", "peers", len(cfg.Peers))
	return nil
}

func (d *Daemon) shutdown() error {
	timeout := d.cfg().ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() { d.stopPeers(); close(done) }() // deliveries in flight finish meanwhile
	err := d.srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A peer's request still running: it gets no answer and the peer
		// sends it again (a push is applied idempotently).
		d.opts.Log.Warn("shutdown timeout: closing the peer API's connections with requests still running")
		err = d.srv.Close()
	}
	if d.msrv != nil {
		_ = d.msrv.Close()
	}
	select {
	case <-done:
	case <-sctx.Done():
		d.opts.Log.Warn("shutdown timeout: deliveries still in flight stay in the journal and go out after the restart")
	}
	_ = d.link.Close()
	_ = d.readLink.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down peer API: %w", err)
	}
	return nil
}

type nopLog struct{}

func (nopLog) Outcome(string, engine.Outcome) {}
func (nopLog) Line(string, ...any)            {}
