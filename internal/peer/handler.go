package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
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
)

// Node is the node the handler serves. The daemon implements it.
type Node interface {
	// State returns this node's registers (tombstones included) for the
	// queues (all when empty), after reconciling live AMI state into the
	// journal. With dryRun (the caller runs resync --dry-run) it must not
	// write the journal nor act on Asterisk: it reconciles in memory only.
	State(ctx context.Context, queues []string, dryRun bool) ([]state.Register, error)
	// Apply applies registers received from the peer named from; it returns
	// one Result per register, in order. Every register has passed
	// ValidateRegister and its stamp has been merged into the clock.
	// Implementations should be idempotent: a peer retries a batch whose
	// answer it did not get.
	Apply(ctx context.Context, from string, regs []state.Register) ([]Result, error)
}

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	Node            Node
	Name            string            // this node's name
	Clock           *state.Clock      // this node's clock; default: a new one over Now, DefaultClockSkew
	Software        string            // version reported by /health
	Secrets         map[string][]byte // peer name -> shared secret; never logged
	MaxBody         int64             // request body limit; default DefaultMaxBody
	Now             func() time.Time  // default time.Now
	Logger          *slog.Logger      // default: discard
	ReplayCacheSize int               // signatures remembered; default DefaultReplayCacheSize
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
	opts HandlerOptions
	auth *authenticator
	log  *slog.Logger
}

// route is one endpoint: the method it accepts and what serves it, after the
// request is authenticated as coming from node from.
type route struct {
	method string
	serve  func(h *handler, w http.ResponseWriter, r *http.Request, from string, body []byte)
}

var routes = map[string]route{
	PathHealth:  {http.MethodGet, (*handler).serveHealth},
	PathState:   {http.MethodGet, (*handler).serveState},
	PathChanges: {http.MethodPost, (*handler).serveChanges},
}

// NewHandler returns the http.Handler of the peer API (architecture.md §3). Every
// request must be signed (see Sign) by a node named in Secrets. It panics if
// Node is nil or Name is not a valid node name: both are programming errors.
func NewHandler(opts HandlerOptions) http.Handler {
	if opts.Node == nil {
		panic("peer.NewHandler: nil Node")
	}
	if err := ValidateNodeName(opts.Name); err != nil {
		panic("peer.NewHandler: " + err.Error())
	}
	opts = handlerDefaults(opts)
	return &handler{
		opts: opts,
		auth: &authenticator{secrets: maps.Clone(opts.Secrets), now: opts.Now, seen: newReplayCache(opts.ReplayCacheSize)},
		log:  opts.Logger,
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
	if o.ReplayCacheSize <= 0 {
		o.ReplayCacheSize = DefaultReplayCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ServeHTTP routes, checks method and content type, reads the body within
// the limit, authenticates, then serves.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := routes[r.URL.Path]
	if !ok {
		h.fail(w, r, &httpError{http.StatusNotFound, fmt.Sprintf("no such endpoint %s: the peer API serves %s, %s and %s; check the peer URL",
			quoteValue(r.URL.Path), PathHealth, PathState, PathChanges)})
		return
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		h.fail(w, r, &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s: use %s", quoteValue(r.Method), r.URL.Path, rt.method)})
		return
	}
	if err := checkContentType(r); err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	from, err := h.auth.verify(r, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rt.serve(h, w, r, from, body)
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
	return &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: send application/xml (UTF-8)", quoteValue(ct))}
}

func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"request body over %d bytes: send fewer changes per request, or raise the limit on this node", h.opts.MaxBody)}
	if r.ContentLength > h.opts.MaxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, "read request body: " + err.Error()}
	}
	return body, nil
}

func (h *handler) serveHealth(w http.ResponseWriter, r *http.Request, _ string, _ []byte) {
	var buf bytes.Buffer
	if err := EncodeHealth(&buf, Health{Node: h.opts.Name, Clock: h.opts.Clock.Now(), Software: h.opts.Software}); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeXML(w, buf.Bytes())
}

func (h *handler) serveState(w http.ResponseWriter, r *http.Request, from string, _ []byte) {
	queues, dryRun, err := stateQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	regs, err := h.opts.Node.State(r.Context(), queues, dryRun)
	if err != nil {
		h.fail(w, r, &httpError{http.StatusInternalServerError, "read state: " + err.Error()})
		return
	}
	var buf bytes.Buffer
	if err := EncodeState(&buf, h.opts.Name, h.opts.Clock.Now(), h.servable(from, regs)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeXML(w, buf.Bytes())
}

// stateQuery reads the parameters of GET /queue/v1/state: queue (repeated)
// and dry-run (true or false).
func stateQuery(r *http.Request) ([]string, bool, error) {
	q := r.URL.Query()
	for _, queue := range q["queue"] {
		if err := ValidateQueue(queue); err != nil {
			return nil, false, &httpError{http.StatusBadRequest, "query parameter queue: " + err.Error()}
		}
	}
	dryRun, err := parseBool("dry-run", q.Get("dry-run"), true)
	if err != nil {
		return nil, false, &httpError{http.StatusBadRequest, "query parameter " + err.Error()}
	}
	return q["queue"], dryRun, nil
}

// servable drops (and logs) the registers that fail validation, so that
// one bad journal row does not stop a node from serving the rest.
func (h *handler) servable(to string, regs []state.Register) []state.Register {
	out := regs[:0:0]
	for _, reg := range regs {
		if err := ValidateRegister(reg); err != nil {
			h.log.Warn("register not served: invalid", logPeer, to, logKey, reg.Key().String(), logReason, err.Error())
			continue
		}
		out = append(out, reg)
	}
	return out
}

func (h *handler) writeXML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// fail answers err: its status and text for an *httpError, else 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	}
	level := slog.LevelWarn
	if code >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "peer request refused", logRemote, r.RemoteAddr, logPath, r.URL.Path,
		logPeer, cleanText(r.Header.Get(HeaderNode), MaxNodeLen), logStatus, code, logReason, msg)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Queuesync-HMAC realm="queuesync"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "queuesync: "+msg+"\n")
}
