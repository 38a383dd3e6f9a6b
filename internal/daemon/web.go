package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/internal/web"
)

// historyReader is the part of the journal the status page reads
// (store.Store).
type historyReader interface {
	History(ctx context.Context, q store.HistoryQuery) ([]store.HistoryEntry, error)
	LastChanges(ctx context.Context) ([]store.HistoryEntry, error)
}

// webServer serves the status page on web_listen.
type webServer struct {
	srv *http.Server
	ln  net.Listener
}

// listenWeb binds web_listen (with the node's TLS certificate, without
// asking browsers for one); nothing when it is empty.
func (d *Daemon) listenWeb(cfg config.Config) error {
	if cfg.WebListen == "" {
		return nil
	}
	var password []byte
	if cfg.WebPasswordFile != "" {
		pw, err := config.ReadSecret(cfg.WebPasswordFile)
		if err != nil {
			return fmt.Errorf("web_password_file: %w", err)
		}
		password = pw
	}
	ln, err := listenTLS(cfg.WebListen, "web_listen", cfg.TLS, true)
	if err != nil {
		return err
	}
	src := &webSource{d: d}
	h := web.NewHandler(web.Options{Source: src, Password: password, Log: d.opts.Log})
	d.web = &webServer{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}}
	return nil
}

// WebAddr returns the status page's address, or "" when it is off.
func (d *Daemon) WebAddr() string {
	if d.web == nil {
		return ""
	}
	return d.web.ln.Addr().String()
}

// serveWeb serves the status page until ctx ends.
func (d *Daemon) serveWeb(ctx context.Context, errc chan<- error) {
	if d.web == nil {
		return
	}
	d.opts.Log.Info("serving status page", "addr", d.WebAddr())
	go func() {
		if err := d.web.srv.Serve(d.web.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("status page: %w", err)
		}
	}()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = d.web.srv.Shutdown(sctx)
}

// webSource builds the page's data at most once every webCacheFor, whatever the
// number of viewers.
type webSource struct {
	d *Daemon

	mu     sync.Mutex
	cached web.Status
	at     time.Time
	took   time.Duration       // how long the cached status took to build
	known  map[string]peerView // each peer's last state read, for when it cannot be read
}

// webCacheFor is how long a built status is served again at least; a
// status that took long to build (a large node: it reads every member of
// both nodes' Asterisk and journals) is served three times as long as it
// took, so that viewers never keep the nodes busy more than a quarter of
// the time.
const webCacheFor = 750 * time.Millisecond

// Status returns this node's and its peers' members and agreement.
func (s *webSource) Status(ctx context.Context) (web.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.d.opts.Now()
	if !s.at.IsZero() && now.Sub(s.at) < max(webCacheFor, 3*s.took) {
		return s.cached, nil
	}
	st, err := s.d.buildStatus(ctx, s.remember)
	if err != nil {
		return web.Status{}, err
	}
	s.cached, s.at, s.took = st, s.d.opts.Now(), s.d.opts.Now().Sub(now)
	return st, nil
}

// remember keeps a peer's state read now, or gives the last one read (as
// of when) when it cannot be read: a drift made while a peer is down shows
// against what the peer held when last seen.
func (s *webSource) remember(v peerView) peerView {
	if s.known == nil {
		s.known = map[string]peerView{}
	}
	if v.err == nil {
		s.known[v.name] = v
		return v
	}
	last, ok := s.known[v.name]
	if !ok {
		return v
	}
	last.err, last.stale = v.err, true
	return last
}

// History returns a member's recorded changes, one per changed field.
func (s *webSource) History(ctx context.Context, queue, iface string, limit int) ([]web.Change, error) {
	hr, ok := s.d.journal.(historyReader)
	if !ok {
		return nil, nil
	}
	hs, err := hr.History(ctx, store.HistoryQuery{Queue: queue, Interface: iface, Limit: limit})
	if err != nil {
		return nil, err
	}
	var out []web.Change
	for _, h := range hs {
		out = append(out, changesOf(h)...)
	}
	return out, nil
}

// changesOf expands a recorded change into one Change per field.
func changesOf(h store.HistoryEntry) []web.Change {
	when := time.UnixMilli(h.New.Stamp.Wall).UTC()
	if h.Source == store.SourceRestore {
		when = h.Recorded.UTC()
	}
	var out []web.Change
	for _, f := range h.Fields() {
		out = append(out, web.Change{When: when, Recorded: h.Recorded.UTC(), Origin: h.New.Origin, Source: h.Source,
			Result: h.Result, Field: f.Field, Old: printable(f.Local), New: printable(f.Peer)})
	}
	return out
}

func printable(v string) string {
	if state.Plain(v) {
		return v
	}
	return state.Escape(v)
}

// peerView is one peer's registers as its signed state answer gave them.
type peerView struct {
	name  string
	regs  map[state.Key]state.Register
	err   error     // why the state could not be read now
	asOf  time.Time // when regs were read
	stale bool      // regs are the last ones read, before err
}

// buildStatus reads this node's state (a dry-run reconcile: what its
// Asterisk holds now), each peer's (its signed state answer, dry run), the
// agreement checks and the last change of every member.
func (d *Daemon) buildStatus(ctx context.Context, remember func(peerView) peerView) (web.Status, error) {
	d.mu.Lock()
	peers := make([]node.Peer, len(d.peers))
	for i, p := range d.peers {
		peers[i] = p.peer
	}
	d.mu.Unlock()
	views := make([]peerView, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers { // read while this node is read
		wg.Add(1)
		go func() {
			defer wg.Done()
			views[i] = readPeer(ctx, p, d.opts.Now())
		}()
	}
	local, err := d.localSnapshot(ctx)
	wg.Wait()
	if err != nil {
		return web.Status{}, err
	}
	for i := range views {
		views[i] = remember(views[i])
	}
	var last map[state.Key]store.HistoryEntry
	if hr, ok := d.journal.(historyReader); ok {
		if hs, err := hr.LastChanges(ctx); err == nil {
			last = make(map[state.Key]store.HistoryEntry, len(hs))
			for _, h := range hs {
				last[h.New.Key()] = h
			}
		}
	}
	return assembleStatus(d.cfg().Node, d.opts.Now(), local, peers, views, d.agree.Agreements(), last), nil
}

// readPeer reads a peer's state without changing anything there.
func readPeer(ctx context.Context, p node.Peer, now time.Time) peerView {
	v := peerView{name: p.Name, regs: map[state.Key]state.Register{}, asOf: now}
	if p.Err != nil {
		v.name, v.err = p.Conf.Name, p.Err
		return v
	}
	cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	err := p.Client.StatePages(cctx, nil, true, func(page peer.Snapshot, fresh bool) error {
		if fresh {
			clear(v.regs)
		}
		for _, r := range page.Registers {
			v.regs[r.Key()] = r
		}
		return nil
	})
	if err != nil {
		v.err = err
	}
	return v
}

// localView is this node's members as its Asterisk holds them now.
type localView struct {
	queues map[string]string // key -> spelling
	regs   map[state.Key]state.Register
	inCall map[state.Key]bool
}

// localSnapshot reconciles in memory only (the reader's dry run, off the
// live path) and returns what the journal would hold: the live state,
// dated as the journal dates it.
func (d *Daemon) localSnapshot(ctx context.Context) (localView, error) {
	sess, err := d.reader.Begin(ctx, nil)
	if err != nil {
		return localView{}, err
	}
	defer sess.End()
	if _, err := sess.Reconcile(ctx); err != nil {
		return localView{}, err
	}
	v := localView{queues: map[string]string{}, regs: map[state.Key]state.Register{}, inCall: map[state.Key]bool{}}
	view := sess.View()
	for k, q := range view.Queues {
		v.queues[k] = q
	}
	for k, l := range view.Members {
		if l.InCall {
			v.inCall[k] = true
		}
	}
	for _, en := range sess.Entries() {
		if view.Defined(en.Queue) {
			v.regs[en.Key()] = en.Register
		}
	}
	d.agree.countMembers(v)
	return v, nil
}

// closeListeners closes what listen bound, when New fails after it.
func (d *Daemon) closeListeners() {
	_ = d.ln.Close()
	if d.mln != nil {
		_ = d.mln.Close()
	}
}
