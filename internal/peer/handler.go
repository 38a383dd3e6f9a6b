package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// The paths of the peer API. GET PathState takes the query parameters
// queue (repeated; all queues when absent) and dry-run=true.
const (
	PathHealth  = "/queue/v1/health"
	PathState   = "/queue/v1/state"
	PathChanges = "/queue/v1/changes"
)

// Defaults of HandlerOptions and ClientOptions.
const (
	DefaultMaxBody         = 8 << 20
	DefaultReplayCacheSize = 100_000
	DefaultClockSkew       = 60 * time.Second // max_clock_skew, for a Clock the handler makes itself
	DefaultMaxConcurrent   = 16
)

// MaxHeaderBytes is what a server of the peer API should set as
// http.Server.MaxHeaderBytes: the signed headers need well under 1 KiB, and
// the handler reads no body byte before they authenticate the request, so
// an unauthenticated client makes the node hold no more than this.
const MaxHeaderBytes = 8 << 10

// Receiver is what the handler serves from: this node's state, and the
// application of a peer's registers. The daemon's receive path implements
// it.
type Receiver interface {
	// State returns this node's registers (tombstones included) for the
	// queues (all when empty), after reconciling live AMI state into the
	// journal. With dryRun (the caller runs resync --dry-run) it must not
	// write the journal nor act on Asterisk: it reconciles in memory only.
	State(ctx context.Context, queues []string, dryRun bool) ([]state.Register, error)
	// Apply applies registers received from the peer named from; it returns
	// one Result per register, in order. Every register has passed
	// ValidateRegister, is of a queue shared with from, and its stamp has
	// been merged into the clock. Implementations should be idempotent: a
	// peer retries a batch whose answer it did not get.
	Apply(ctx context.Context, from string, regs []state.Register) ([]Result, error)
}

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	Receiver Receiver
	Name     string            // this node's name
	Clock    *state.Clock      // this node's clock; default: a new one over Now, DefaultClockSkew
	Software string            // version reported by /health
	Secrets  map[string][]byte // peer name -> shared secret; never logged
	// Grants are the queues each peer may read and write (its queues: in
	// peers:). A peer missing from a non-nil map may read and write none;
	// a nil map grants every queue to every peer (tests, and nodes that
	// share everything).
	Grants  map[string]Grant
	MaxBody int64            // request body limit; default DefaultMaxBody
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	// Replay remembers the signatures of requests served. Pass the same
	// cache to every handler a node builds (one per config reload), so
	// that a reload forgets nothing; default: a new one of
	// ReplayCacheSize.
	Replay          *ReplayCache
	ReplayCacheSize int // signatures remembered by a default Replay; default DefaultReplayCacheSize
	// Refusals counts refused requests and bounds the log lines about
	// them. Pass the same one to every handler a node builds; default: a
	// new one.
	Refusals *Refusals
	// MaxConcurrent caps the requests served at once; one more is answered
	// 503 at once. Default DefaultMaxConcurrent.
	MaxConcurrent int
}

// Log attribute keys.
const (
	logPeer   = "peer"
	logRemote = "remote"
	logPath   = "path"
	logStatus = "status"
	logReason = "reason"
	logKey    = "key"
	logQueue  = "queue"
	logIface  = "interface"
)

type handler struct {
	opts     HandlerOptions
	auth     *authenticator
	log      *slog.Logger
	slots    chan struct{}
	reported *onceSet
	pages    *pageCache
}

// route is one endpoint: the method it accepts and what serves it, after the
// request is authenticated.
type route struct {
	method string
	serve  func(h *handler, w http.ResponseWriter, r *http.Request, c *credentials, body []byte)
}

var routes = map[string]route{
	PathHealth:  {http.MethodGet, (*handler).serveHealth},
	PathState:   {http.MethodGet, (*handler).serveState},
	PathChanges: {http.MethodPost, (*handler).serveChanges},
	PathDigest:  {http.MethodGet, (*handler).serveDigest},
}

// NewHandler returns the http.Handler of the peer API (architecture.md §3). Every
// request must be signed (see Sign) by a node named in Secrets; every
// answer is signed (see SignAnswer) when the request authenticated. It
// panics if Receiver is nil or Name is not a valid node name: both are
// programming errors.
func NewHandler(opts HandlerOptions) http.Handler {
	if opts.Receiver == nil {
		panic("peer.NewHandler: nil Receiver")
	}
	if err := ValidateNodeName(opts.Name); err != nil {
		panic("peer.NewHandler: " + err.Error())
	}
	opts = handlerDefaults(opts)
	return &handler{
		opts:     opts,
		auth:     &authenticator{secrets: maps.Clone(opts.Secrets), now: opts.Now, seen: opts.Replay},
		log:      opts.Logger,
		slots:    make(chan struct{}, opts.MaxConcurrent),
		reported: newOnceSet(maxReported),
		pages:    newPageCache(),
	}
}

func handlerDefaults(o HandlerOptions) HandlerOptions {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Clock == nil {
		o.Clock = state.NewClock(o.Now, DefaultClockSkew)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Replay == nil {
		o.Replay = NewReplayCache(o.ReplayCacheSize)
	}
	if o.Refusals == nil {
		o.Refusals = NewRefusals()
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ServeHTTP does the cheap checks first: a free slot, the route and method,
// no body on a GET, the content type, then the signed headers (node,
// timestamp, nonce, body hash, signature, replay). Only an authenticated
// request has its body read, within the limit and checked against the
// signed hash as it streams in; only then is it decoded and served.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		h.fail(w, r, nil, &httpError{code: http.StatusServiceUnavailable, kind: RefusedBusy,
			msg: fmt.Sprintf("busy: %d requests in progress; retry later", cap(h.slots))})
		return
	}
	rt, err := h.precheck(w, r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	c, err := h.auth.verifyHeaders(r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	body, err := h.readBody(w, r, c)
	if err != nil {
		h.fail(w, r, c, err)
		return
	}
	rt.serve(h, w, r, c, body)
}

// precheck finds the route and checks what needs no secret.
func (h *handler) precheck(w http.ResponseWriter, r *http.Request) (route, error) {
	rt, ok := routes[r.URL.Path]
	if !ok {
		return rt, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("no such endpoint %s: the peer API serves %s, %s and %s; check the peer URL",
			quoteValue(r.URL.Path), PathHealth, PathState, PathChanges)}
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		return rt, &httpError{code: http.StatusMethodNotAllowed, msg: fmt.Sprintf("method %s not allowed on %s: use %s", quoteValue(r.Method), r.URL.Path, rt.method)}
	}
	if r.Method == http.MethodGet && r.ContentLength != 0 {
		return rt, &httpError{code: http.StatusBadRequest, msg: "a GET carries no body"}
	}
	if r.Method == http.MethodPost && r.ContentLength > h.opts.MaxBody {
		return rt, h.tooLarge()
	}
	return rt, checkContentType(r)
}

// checkContentType requires an XML body on POST.
func checkContentType(r *http.Request) error {
	if r.Method != http.MethodPost {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/xml" || mt == "text/xml") &&
		(params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8")) {
		return nil
	}
	return &httpError{code: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %s: send application/xml (UTF-8)", quoteValue(ct))}
}

func (h *handler) tooLarge() *httpError {
	return &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
		"request body over %d bytes: send fewer changes per request, or raise the limit on this node", h.opts.MaxBody)}
}

// readBody reads the body of an authenticated request, at most MaxBody
// bytes, and checks it against the signed hash before anything decodes it.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, c *credentials) ([]byte, error) {
	if r.Method == http.MethodGet {
		return nil, nil
	}
	hr := newHashReader(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(hr)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, h.tooLarge()
	case err != nil:
		return nil, &httpError{code: http.StatusBadRequest, msg: "read request body: " + err.Error()}
	case hr.sum() != c.sum:
		return nil, unauthorized("signature mismatch: the body does not match its signed hash (%s); was it altered on the way?", HeaderBodyHash)
	}
	return buf.Bytes(), nil
}

func (h *handler) serveHealth(w http.ResponseWriter, r *http.Request, c *credentials, _ []byte) {
	var buf bytes.Buffer
	if err := EncodeHealth(&buf, Health{Node: h.opts.Name, Clock: h.opts.Clock.Now(), Software: h.opts.Software}); err != nil {
		h.fail(w, r, c, err)
		return
	}
	h.writeXML(w, c, buf.Bytes())
}

func (h *handler) serveState(w http.ResponseWriter, r *http.Request, c *credentials, _ []byte) {
	if token := r.URL.Query().Get("page"); token != "" {
		h.serveStatePage(w, r, c, token)
		return
	}
	queues, dryRun, err := stateQuery(r)
	if err != nil {
		h.fail(w, r, c, err)
		return
	}
	grant := h.grant(c.node)
	queues, some := narrow(grant, queues)
	var regs []state.Register
	if some {
		regs, err = h.opts.Receiver.State(r.Context(), queues, dryRun)
	}
	if err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusInternalServerError, msg: "read state: " + err.Error()})
		return
	}
	page, next := h.pages.first(c.node, h.servable(c.node, grant, regs), h.opts.Now())
	h.writeState(w, r, c, page, next)
}

// serveStatePage serves a page after the first of a paged state answer,
// from the snapshot the first page was taken from.
func (h *handler) serveStatePage(w http.ResponseWriter, r *http.Request, c *credentials, token string) {
	regs, next, ok := h.pages.page(c.node, token, h.opts.Now())
	if !ok {
		h.fail(w, r, c, &httpError{code: http.StatusGone, msg: "state page " + quoteValue(cleanText(token, 80)) +
			" expired or unknown; read the state again from its first page"})
		return
	}
	h.writeState(w, r, c, regs, next)
}

func (h *handler) writeState(w http.ResponseWriter, r *http.Request, c *credentials, regs []state.Register, next string) {
	var buf bytes.Buffer
	if err := encodeStatePage(&buf, h.opts.Name, h.opts.Clock.Now(), regs, next); err != nil {
		h.fail(w, r, c, err)
		return
	}
	h.writeXML(w, c, buf.Bytes())
}

// grant returns the queues peer may read and write.
func (h *handler) grant(peer string) Grant {
	if h.opts.Grants == nil {
		return AllQueues
	}
	return h.opts.Grants[peer]
}

// stateQuery reads the parameters of GET /queue/v1/state: queue (repeated)
// and dry-run (true or false).
func stateQuery(r *http.Request) ([]string, bool, error) {
	q := r.URL.Query()
	for _, queue := range q["queue"] {
		if err := ValidateQueue(queue); err != nil {
			return nil, false, &httpError{code: http.StatusBadRequest, msg: "query parameter queue: " + err.Error()}
		}
	}
	dryRun, err := parseBool("dry-run", q.Get("dry-run"), true)
	if err != nil {
		return nil, false, &httpError{code: http.StatusBadRequest, msg: "query parameter " + err.Error()}
	}
	return q["queue"], dryRun, nil
}

// servable drops the registers of queues not granted to the peer, and those
// that fail validation (reported once each), so that one bad journal row
// does not stop a node from serving the rest.
func (h *handler) servable(to string, grant Grant, regs []state.Register) []state.Register {
	out := regs[:0:0]
	for _, reg := range regs {
		if !grant.Contains(reg.Queue) {
			continue
		}
		if err := ValidateRegister(reg); err != nil {
			if h.reported.add(reg.Key().String() + "\x00" + err.Error()) {
				h.log.Warn("member not served: it cannot be carried; it is skipped until it changes", logPeer, to,
					logKey, quoteValue(reg.Key().String()), logReason, err.Error())
			}
			continue
		}
		out = append(out, reg)
	}
	return out
}

func (h *handler) writeXML(w http.ResponseWriter, c *credentials, body []byte) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	h.reply(w, c, http.StatusOK, body)
}

// reply writes an answer, signed for the authenticated requester c (nil
// when the request did not authenticate: such an answer is not signed).
func (h *handler) reply(w http.ResponseWriter, c *credentials, code int, body []byte) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if c != nil {
		w.Header().Set(HeaderAnswerSignature, SignAnswer(c.secret, c.nonce, code, h.opts.Name, body))
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// fail answers err: its status and text for an *httpError, else 500. The
// refusal is counted, and logged within the rate Refusals allows. A
// request that did not authenticate gets "Connection: close", so that its
// body is never read.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, c *credentials, err error) {
	code, kind, msg := http.StatusInternalServerError, "", err.Error()
	var he *httpError
	if errors.As(err, &he) {
		code, kind = he.code, he.kind
	}
	if kind == "" {
		kind = kindOf(code)
	}
	if suppressed, ok := h.opts.Refusals.add(kind, h.opts.Now()); ok {
		level := slog.LevelWarn
		if code >= 500 && kind != RefusedBusy {
			level = slog.LevelError
		}
		attrs := []any{logRemote, r.RemoteAddr, logPath, cleanText(r.URL.Path, 80),
			logPeer, cleanText(r.Header.Get(HeaderNode), MaxNodeLen), logStatus, code, logReason, msg}
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		h.log.Log(r.Context(), level, "peer request refused", attrs...)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Queuesync-HMAC realm="queuesync"`)
	}
	if c == nil {
		w.Header().Set("Connection", "close")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	h.reply(w, c, code, []byte("queuesync: "+msg+"\n"))
}
