package web

import (
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

//go:embed assets
var assets embed.FS

// Paths of the page and its JSON.
const (
	PathQueues  = "/api/v1/queues"
	PathHistory = "/api/v1/history"
	PathMember  = "/member"
)

// Options configure NewHandler.
type Options struct {
	Source Source
	// Password, when set, is asked for with HTTP basic authentication
	// (any user name).
	Password []byte
	Log      *slog.Logger // default: discard
}

type handler struct {
	opts   Options
	mux    *http.ServeMux
	secret [32]byte
}

// NewHandler returns the status page's handler: the page at / (one queue
// at /?queue=Q, a member's history at /member?queue=Q&interface=I), its
// JSON at /api/v1/queues[?queue=Q] and /api/v1/history. It answers GET and
// HEAD only.
func NewHandler(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	h := &handler{opts: o, mux: http.NewServeMux(), secret: sha256.Sum256(o.Password)}
	static, _ := fs.Sub(assets, "assets")
	index, _ := fs.ReadFile(static, "index.html")
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	}
	h.mux.HandleFunc("GET /{$}", page)
	h.mux.HandleFunc("GET "+PathMember, page)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET "+PathQueues, h.serveQueues)
	h.mux.HandleFunc("GET "+PathHistory, h.serveHistory)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if !h.authorized(r) {
		hd.Set("WWW-Authenticate", `Basic realm="queuesync", charset="UTF-8"`)
		http.Error(w, "password required", http.StatusUnauthorized)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorized checks the basic-auth password in constant time (any user
// name); without a password every request is.
func (h *handler) authorized(r *http.Request) bool {
	if len(h.opts.Password) == 0 {
		return true
	}
	_, pw, ok := r.BasicAuth()
	got := sha256.Sum256([]byte(pw))
	return subtle.ConstantTimeCompare(got[:], h.secret[:]) == 1 && ok
}

// serveQueues serves the status; ?queue=NAME (repeatable, any case) keeps
// only those queues, for a wallboard or a phone that shows one.
func (h *handler) serveQueues(w http.ResponseWriter, r *http.Request) {
	st, err := h.opts.Source.Status(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	if want := r.URL.Query()["queue"]; len(want) > 0 {
		kept := []Queue{}
		for _, q := range st.Queues {
			for _, n := range want {
				if strings.EqualFold(q.Name, n) {
					kept = append(kept, q)
					break
				}
			}
		}
		st.Queues = kept
	}
	writeJSON(w, r, st)
}

func (h *handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	queue, iface := strings.TrimSpace(q.Get("queue")), strings.TrimSpace(q.Get("interface"))
	if queue == "" || iface == "" {
		http.Error(w, "queue and interface are required", http.StatusBadRequest)
		return
	}
	limit := 200
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			http.Error(w, "limit: want 1 to 10000", http.StatusBadRequest)
			return
		}
		limit = n
	}
	cs, err := h.opts.Source.History(r.Context(), queue, iface, limit)
	if err != nil {
		h.fail(w, err)
		return
	}
	if cs == nil {
		cs = []Change{}
	}
	writeJSON(w, r, cs)
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	h.opts.Log.Warn("status page", "err", err)
	http.Error(w, "status unavailable: "+err.Error(), http.StatusServiceUnavailable)
}

// writeJSON writes v, gzipped for a client that accepts it (the status of
// a large node is megabytes of repetitive JSON, asked for every second).
func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		_ = json.NewEncoder(w).Encode(v)
		return
	}
	h.Set("Content-Encoding", "gzip")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	_ = json.NewEncoder(zw).Encode(v)
	_ = zw.Close()
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
