package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// AMI event masks for Options.Events.
const (
	EventsOff = "off" // the one-shot commands: actions only
	// EventsAgent is the daemon's mask: QueueMember* (class agent), and
	// FullyBooted and Reload (class system) where the user may read them.
	EventsAgent = "agent,system"
)

// Options tune the assembly.
type Options struct {
	Now    func() time.Time // default time.Now
	Log    *slog.Logger     // default: discard
	Events string           // AMI event mask; default EventsOff
	DryRun bool             // the engine decides everything and changes nothing
	// Partial opens what can be opened: a journal or Asterisk that cannot
	// be reached leaves its part nil (and Engine nil) and its error in
	// Node.Errs instead of failing Open (status reports what it can).
	Partial bool
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Events == "" {
		o.Events = EventsOff
	}
	return o
}

// Node is this queuesync instance: the parts its config names, assembled.
type Node struct {
	Config  config.Config
	Clock   *state.Clock
	AMI     *ami.Link
	Journal *store.Store
	Engine  *engine.Engine
	Peers   []Peer
	Errs    []error // with Options.Partial: why a part is missing
	opts    Options
}

// Open connects to the journal and to Asterisk and builds every part. It
// fails when the journal or Asterisk cannot be reached, or when a peer's
// client cannot be built, unless o.Partial.
func Open(ctx context.Context, cfg config.Config, o Options) (*Node, error) {
	n := New(cfg, o)
	if o.Partial {
		n.Errs = nonNil(n.openJournal(ctx), n.dial(ctx))
	} else {
		for _, open := range []func(context.Context) error{n.openJournal, n.dial, n.peerErr} {
			if err := open(ctx); err != nil {
				n.Close()
				return nil, err
			}
		}
	}
	if len(n.Errs) == 0 {
		n.Engine = n.NewEngine(n.opts.DryRun, nil, nil)
	}
	return n, nil
}

func (n *Node) dial(ctx context.Context) error {
	_, err := n.AMI.Client(ctx)
	return err
}

func (n *Node) openJournal(ctx context.Context) error {
	st, err := OpenJournal(ctx, n.Config.Database)
	if err != nil {
		return err
	}
	if err := st.Check(ctx); err != nil {
		st.Close()
		return DatabaseAdvice(n.Config.Database.URL, err)
	}
	n.Journal = st
	return nil
}

// peerErr is the first peer whose client could not be built.
func (n *Node) peerErr(context.Context) error {
	for _, p := range n.Peers {
		if p.Err != nil {
			return p.Err
		}
	}
	return nil
}

func nonNil(errs ...error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// New builds the parts that need no connection: the clock, the AMI link
// (not yet dialled) and the peer clients (each with its error when it
// could not be built). The journal and engine are left to the caller.
func New(cfg config.Config, o Options) *Node {
	o = o.withDefaults()
	n := &Node{Config: cfg, Clock: state.NewClock(o.Now, cfg.MaxClockSkew), opts: o}
	n.AMI = ami.NewLink(func(ctx context.Context) (*ami.Client, error) { return DialAMI(ctx, cfg.AMI, o.Events, o.Log) })
	n.Peers = NewPeers(cfg, n.Clock, o.Now, o.Log)
	return n
}

// NewEngine returns an engine over the node's link, journal and clock.
// ringinuse tells what AMI events taught of ringinuse (nil: nothing);
// timing is told how long each step of a session took (nil: nobody).
func (n *Node) NewEngine(dryRun bool, ringinuse engine.RinginuseSource, timing engine.Timing) *engine.Engine {
	return engine.New(engine.Options{
		Node: n.Config.Node, AMI: n.AMI, Journal: n.Journal, Clock: n.Clock, Log: n.opts.Log,
		Now: n.opts.Now, DryRun: dryRun, Ringinuse: ringinuse, LocalPauseReasons: n.Config.LocalPauseReasons,
		PendingGrace: n.pendingGrace(), Timing: timing,
	})
}

// oneShotPendingGrace is how long a one-shot command (no events: resync,
// pull, push, status) leaves a freshly journalled pending register to the
// daemon that is applying it; the next cron run finishes it if the daemon
// did not.
const oneShotPendingGrace = 10 * time.Second

func (n *Node) pendingGrace() time.Duration {
	if n.opts.Events == EventsOff {
		return oneShotPendingGrace
	}
	return 0
}

// Close logs off Asterisk and closes the journal.
func (n *Node) Close() {
	_ = n.AMI.Close()
	if n.Journal != nil {
		n.Journal.Close()
	}
}

// OpenJournal opens the node's journal, reading database.password_file. A
// failure says what to check.
func OpenJournal(ctx context.Context, c config.Database) (*store.Store, error) {
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
		return nil, DatabaseAdvice(c.URL, err)
	}
	return st, nil
}

// DialAMI connects and logs in to the local Asterisk with the given event
// mask; log (nil: none) gets the connection and, at debug level, every
// action. An authentication failure names the manager.conf user.
func DialAMI(ctx context.Context, c config.AMI, events string, log *slog.Logger) (*ami.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secret, err := config.ReadSecret(c.SecretFile)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	cl, err := ami.Dial(dctx, c.Address, ami.Options{Logger: log.With("ami", c.Address)})
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
	log.Debug("asterisk manager connected", "addr", c.Address, "user", c.Username, "events", events,
		"banner", cl.Banner(), "took", time.Since(start))
	return cl, nil
}

// DatabaseAdvice adds what to check to a journal failure, naming the
// database URL with its password masked (the store's errors name it
// already; a message that does not is given it).
func DatabaseAdvice(url string, err error) error {
	if errors.Is(err, store.ErrNotMigrated) || errors.Is(err, store.ErrSchemaTooNew) {
		return err
	}
	where := "database.url"
	if red := config.RedactURL(url); url != "" && !strings.Contains(err.Error(), red) {
		where += " (" + red + ")"
	}
	return fmt.Errorf("journal database: %w; is PostgreSQL running, and are %s and database.password_file right?", err, where)
}
