package peer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// countingBody is a request body of size bytes that records how many of
// them were read.
type countingBody struct {
	left int64
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > b.left {
		n = b.left
	}
	clear(p[:n])
	b.left -= n
	b.read.Add(n)
	return int(n), nil
}

func (b *countingBody) Close() error { return nil }

// TestHandlerRefusesBeforeReadingBody sends 8 MB bodies with headers that
// do not authenticate, and checks that not one body byte is read.
func TestHandlerRefusesBeforeReadingBody(t *testing.T) {
	const size = 8 << 20
	used := signed("POST", PathChanges, []byte("<x/>"), now)
	h := testHandler(&fakeNode{})
	serve(h, used) // its signature is now in the replay cache
	tests := []struct {
		name string
		mod  func(r *http.Request)
		code int
	}{
		{"unsigned", func(r *http.Request) { r.Header = http.Header{"Content-Type": {"application/xml"}} }, 401},
		{"unknown node", func(r *http.Request) { r.Header.Set(HeaderNode, "mallory") }, 401},
		{"stale timestamp", func(r *http.Request) { r.Header.Set(HeaderTimestamp, "1000") }, 401},
		{"no nonce", func(r *http.Request) { r.Header.Del(HeaderNonce) }, 401},
		{"no body hash", func(r *http.Request) { r.Header.Del(HeaderBodyHash) }, 401},
		{"forged signature", func(r *http.Request) { r.Header.Set(HeaderSignature, "v1="+strings.Repeat("ab", 32)) }, 401},
		{"replayed", func(r *http.Request) { r.Header = used.Header.Clone() }, 401},
		{"declared too large", func(r *http.Request) { r.ContentLength = DefaultMaxBody + 1 }, 413},
		{"GET with a body", func(r *http.Request) { r.Method, r.URL.Path = "GET", PathState }, 400},
		{"wrong content type", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{left: size}
			req := signed("POST", PathChanges, nil, now)
			req.Body, req.ContentLength = body, size
			tt.mod(req)
			rec := serve(h, req)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if n := body.read.Load(); n != 0 {
				t.Errorf("%d body bytes read before the request authenticated", n)
			}
			if rec.Header().Get("Connection") != "close" {
				t.Error("refusal does not close the connection: the server would drain the body")
			}
			if rec.Header().Get(HeaderAnswerSignature) != "" {
				t.Error("an unauthenticated request got a signed answer")
			}
		})
	}
}

// TestHandlerChecksBodyAgainstSignedHash: an authenticated request whose
// body was swapped on the way is refused after the read, before decoding.
func TestHandlerChecksBodyAgainstSignedHash(t *testing.T) {
	node := &fakeNode{}
	body := encodeState(t, []state.Register{validRegister()})
	req := signed("POST", PathChanges, body, now)
	evil := bytes.Replace(body, []byte("lunch"), []byte("lurch"), 1)
	req.Body, req.ContentLength = httpBody(evil), int64(len(evil))
	rec := serve(testHandler(node), req)
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "does not match its signed hash") || len(node.applied) != 0 {
		t.Errorf("swapped body: %d %s (applied %d)", rec.Code, rec.Body, len(node.applied))
	}
}

// TestHandlerCapsConcurrency holds one request in the node and checks that
// the next is answered 503 at once.
func TestHandlerCapsConcurrency(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{})
	node := &blockingNode{entered: entered, release: release}
	refusals := NewRefusals()
	h := NewHandler(HandlerOptions{Receiver: node, Name: "sop2", Now: fixedNow, Clock: state.NewClock(fixedNow, time.Minute),
		Secrets: map[string][]byte{"sop1": secret}, MaxConcurrent: 1, Refusals: refusals})
	done := make(chan int)
	go func() { done <- serve(h, signed("GET", PathState, nil, now)).Code }()
	<-entered
	if rec := serve(h, signed("GET", PathHealth, nil, now)); rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second request: %d %s, want 503 with Retry-After", rec.Code, rec.Body)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("first request: %d", code)
	}
	if rec := serve(h, signed("GET", PathHealth, nil, now)); rec.Code != 200 {
		t.Errorf("after the first finished: %d", rec.Code)
	}
	if got := refusals.Counts()[RefusedBusy]; got != 1 {
		t.Errorf("busy refusals = %d, want 1", got)
	}
}

type blockingNode struct {
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingNode) State(context.Context, []string, bool) ([]state.Register, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return nil, nil
}

func (b *blockingNode) Apply(context.Context, string, []state.Register) ([]Result, error) {
	return nil, nil
}

// TestHandlerRefusalLogIsBounded floods the handler with unsigned requests:
// every one is counted, few are logged, and the next logged line says how
// many were not.
func TestHandlerRefusalLogIsBounded(t *testing.T) {
	var logs bytes.Buffer
	refusals := NewRefusals()
	clock := now
	h := testHandler(&fakeNode{}, func(o *HandlerOptions) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Refusals = refusals
		o.Now = func() time.Time { return clock }
	})
	for range 1000 {
		serve(h, httptest.NewRequest("GET", PathHealth, nil))
	}
	if got := refusals.Counts()[RefusedUnauthenticated]; got != 1000 {
		t.Errorf("counted %d refusals, want 1000", got)
	}
	if n := strings.Count(logs.String(), "\n"); n > refusalLogBurst {
		t.Errorf("%d log lines for 1000 refusals within one window, want at most %d", n, refusalLogBurst)
	}
	logs.Reset()
	clock = clock.Add(refusalLogWindow)
	serve(h, httptest.NewRequest("GET", PathHealth, nil))
	if !strings.Contains(logs.String(), "suppressed=990") {
		t.Errorf("next window's line does not report the suppressed ones: %s", logs.String())
	}
}

// TestReplayCacheSharedAcrossHandlers is the reload case: a request served
// by one handler is refused by the next one built over the same cache.
func TestReplayCacheSharedAcrossHandlers(t *testing.T) {
	cache := NewReplayCache(0)
	node := &fakeNode{}
	first := testHandler(node, func(o *HandlerOptions) { o.Replay = cache })
	second := testHandler(node, func(o *HandlerOptions) { o.Replay = cache })
	body := encodeState(t, []state.Register{validRegister()})
	req := signed("POST", PathChanges, body, now)
	again := req.Clone(req.Context())
	again.Body = httpBody(body)
	if rec := serve(first, req); rec.Code != 200 {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(second, again); rec.Code != 401 || !strings.Contains(rec.Body.String(), "replayed") {
		t.Errorf("replay after reload: %d %s", rec.Code, rec.Body)
	}
	if len(node.applied) != 1 {
		t.Errorf("applied %d times", len(node.applied))
	}
}

// onPath starts a proxy in front of the real handler of sop2 that lets
// rewrite change each answer, and returns a client of sop1 going through it.
func onPath(t *testing.T, node *fakeNode, rewrite func(r *http.Request, status int, h http.Header, body []byte) (int, []byte)) *Client {
	t.Helper()
	inner := testHandler(node)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		code, body := rewrite(r, rec.Code, rec.Header(), rec.Body.Bytes())
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return testClient(t, srv.URL, nil)
}

func TestClientRefusesForgedStateAnswer(t *testing.T) {
	live := validRegister()
	node := &fakeNode{regs: []state.Register{live}}
	// Turn the live member into a tombstone, newer, on the way.
	c := onPath(t, node, func(_ *http.Request, code int, _ http.Header, body []byte) (int, []byte) {
		return code, bytes.Replace(body, []byte(`present="true"`), []byte(`present="false"`), 1)
	})
	snap, err := c.State(ctx(t), nil, false)
	var ue *UntrustedError
	if !errors.Is(err, ErrUntrusted) || !errors.As(err, &ue) || len(snap.Registers) != 0 {
		t.Errorf("rewritten state answer: %+v, %v; want ErrUntrusted and nothing", snap, err)
	}
	if !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestClientRefusesForgedResults(t *testing.T) {
	node := &fakeNode{apply: func(regs []state.Register) ([]Result, error) {
		return []Result{{Status: Error, Reason: "AMI down"}}, nil
	}}
	// Claim "applied" for a change the peer could not apply.
	c := onPath(t, node, func(_ *http.Request, code int, _ http.Header, body []byte) (int, []byte) {
		return code, regexpReplace(body, `status="error" reason="AMI down"`, `status="applied"`)
	})
	set, err := c.Push(ctx(t), []state.Register{validRegister()})
	if !errors.Is(err, ErrUntrusted) || len(set.Results) != 0 {
		t.Errorf("forged results: %+v, %v; want ErrUntrusted and no result", set, err)
	}
}

func regexpReplace(b []byte, old, new string) []byte {
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func TestClientRefusesUnsignedAndStrippedAnswers(t *testing.T) {
	// An error answer with its signature stripped: the status still shows,
	// but the error says it is not trusted.
	c := onPath(t, &fakeNode{}, func(_ *http.Request, _ int, h http.Header, _ []byte) (int, []byte) {
		h.Del(HeaderAnswerSignature)
		return 401, []byte("queuesync: go away")
	})
	_, err := c.Health(ctx(t))
	if !errors.Is(err, ErrUntrusted) || !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("stripped 401: %v", err)
	}
	// A valid signature moved onto another status.
	c = onPath(t, &fakeNode{}, func(_ *http.Request, _ int, _ http.Header, body []byte) (int, []byte) {
		return 202, body
	})
	if _, err := c.Health(ctx(t)); !errors.Is(err, ErrUntrusted) {
		t.Errorf("status changed: %v", err)
	}
	// A signature replayed from an earlier answer does not cover a new nonce.
	var saved atomic.Value
	c = onPath(t, &fakeNode{}, func(_ *http.Request, code int, h http.Header, body []byte) (int, []byte) {
		if old, ok := saved.Load().(string); ok {
			h.Set(HeaderAnswerSignature, old)
		} else {
			saved.Store(h.Get(HeaderAnswerSignature))
		}
		return code, body
	})
	if _, err := c.Health(ctx(t)); err != nil {
		t.Fatalf("first health: %v", err)
	}
	if _, err := c.Health(ctx(t)); !errors.Is(err, ErrUntrusted) {
		t.Errorf("replayed answer signature: %v", err)
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, func(o *ClientOptions) { o.HTTP = &http.Client{} })
	_, err := c.Push(ctx(t), []state.Register{validRegister()})
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("redirect: %v", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the signed request was sent on to the redirect target %d times", n)
	}
}

func TestHandlerScope(t *testing.T) {
	sales := validRegister()
	sales.Queue = "Sales"
	support := validRegister()
	node := &fakeNode{regs: []state.Register{sales, support}}
	h := testHandler(node, func(o *HandlerOptions) {
		o.Grants = map[string]Grant{"sop1": {Names: []string{"sales"}}}
	})
	snap, err := DecodeState(serve(h, signed("GET", PathState, nil, now)).Body)
	if err != nil || len(snap.Registers) != 1 || snap.Registers[0].Queue != "Sales" {
		t.Errorf("GET /state: %+v, %v; want only sales", snap, err)
	}
	if len(node.states) != 1 || len(node.states[0]) != 1 || node.states[0][0] != "sales" {
		t.Errorf("node asked for %v, want [sales]", node.states)
	}
	snap, err = DecodeState(serve(h, signed("GET", PathState+"?queue=support", nil, now)).Body)
	if err != nil || len(snap.Registers) != 0 || len(node.states) != 1 {
		t.Errorf("GET /state?queue=support: %+v, %v (node called %d times); want nothing", snap, err, len(node.states))
	}
	rec := serve(h, signed("POST", PathChanges, encodeState(t, []state.Register{sales, support}), now))
	set, err := DecodeResults(rec.Body)
	if err != nil {
		t.Fatalf("POST: %d %v", rec.Code, err)
	}
	if set.Results[0].Status != Applied || set.Results[1].Status != Error || !strings.HasPrefix(set.Results[1].Reason, "not shared") {
		t.Errorf("results %+v, want sales applied, support error not shared", set.Results)
	}
	if got := node.allApplied(); len(got) != 1 || got[0].Queue != "Sales" {
		t.Errorf("node applied %+v, want only sales", got)
	}
	other := testHandler(node, func(o *HandlerOptions) { o.Grants = map[string]Grant{} })
	if snap, _ := DecodeState(serve(other, signed("GET", PathState, nil, now)).Body); len(snap.Registers) != 0 {
		t.Errorf("a peer without a grant read %d registers", len(snap.Registers))
	}
}

func TestClientScope(t *testing.T) {
	sales := validRegister()
	sales.Queue = "sales"
	support := validRegister()
	node := &fakeNode{regs: []state.Register{sales, support}}
	_, c := peerServer(t, node, nil, func(o *ClientOptions) { o.Grant = &Grant{Names: []string{"SALES"}} })
	set, err := c.Push(ctx(t), []state.Register{support, sales})
	if err != nil || set.Results[0].Status != Error || !strings.Contains(set.Results[0].Reason, "not shared") || set.Results[1].Status != Applied {
		t.Errorf("Push = %+v, %v", set, err)
	}
	if got := node.allApplied(); len(got) != 1 || got[0].Queue != "sales" {
		t.Errorf("sent %+v, want only sales", got)
	}
	snap, err := c.State(ctx(t), nil, false)
	if err != nil || len(snap.Registers) != 1 || snap.Registers[0].Queue != "sales" || len(snap.Skipped) != 1 ||
		!errors.Is(snap.Skipped[0].Err, ErrNotShared) {
		t.Errorf("State = %+v, %v; want sales kept and support skipped", snap, err)
	}
}

// TestLatin1RoundTrip carries a Latin-1 name and reason, and a control
// character, byte for byte; plain UTF-8 stays in its own attribute as is.
func TestLatin1RoundTrip(t *testing.T) {
	latin := validRegister()
	latin.MemberName, latin.PausedReason, latin.StateInterface = "Jos\xe9 Mu\xf1oz \\ x", "caf\xe9\x1b", "Custom:\xe9"
	plain := validRegister()
	plain.Interface, plain.MemberName = "PJSIP/1002", `José \xE9`
	var buf bytes.Buffer
	if err := EncodeState(&buf, "sop1", state.Stamp{Wall: 1}, []state.Register{latin, plain}); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for _, want := range []string{`name-escaped="Jos\xE9 Mu\xF1oz \\ x"`, `paused-reason-escaped="caf\xE9\x1B"`,
		`state-interface-escaped="Custom:\xE9"`, `name="José \xE9"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %s:\n%s", want, doc)
		}
	}
	snap, err := DecodeState(&buf)
	if err != nil || len(snap.Registers) != 2 || len(snap.Skipped) != 0 {
		t.Fatalf("DecodeState = %+v, %v", snap, err)
	}
	if got := snap.Registers[0]; got.MemberName != latin.MemberName || got.PausedReason != latin.PausedReason || got.StateInterface != latin.StateInterface {
		t.Errorf("Latin-1 register came back as %q %q %q", got.MemberName, got.PausedReason, got.StateInterface)
	}
	if got := snap.Registers[1].MemberName; got != plain.MemberName {
		t.Errorf("plain name came back as %q", got)
	}
	both := strings.Replace(doc, `name-escaped=`, `name="x" name-escaped=`, 1)
	if snap, _ := DecodeState(strings.NewReader(both)); len(snap.Skipped) != 1 {
		t.Errorf("a member with both name and name-escaped was not skipped: %+v", snap)
	}
}

// TestOneBadRegisterDoesNotFailTheBatch pushes, through the real client and
// handler, a batch in which one register cannot be carried.
func TestOneBadRegisterDoesNotFailTheBatch(t *testing.T) {
	good := validRegister()
	bad := validRegister()
	bad.Interface = "PJSIP/\xe9" // a key must be UTF-8
	node := &fakeNode{}
	_, c := peerServer(t, node, nil, nil)
	set, err := c.Push(ctx(t), []state.Register{bad, good})
	if err != nil || set.Results[0].Status != Error || set.Results[1].Status != Applied {
		t.Fatalf("Push = %+v, %v", set, err)
	}
	node.regs = []state.Register{bad, good}
	snap, err := c.State(ctx(t), nil, false)
	if err != nil || len(snap.Registers) != 1 {
		t.Errorf("State = %+v, %v; want the good register served", snap, err)
	}
}
