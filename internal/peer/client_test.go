package peer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// peerServer starts the real handler of sop2 on 127.0.0.1 (httptest's
// default) and returns it with a client of sop1.
func peerServer(t *testing.T, node *fakeNode, hmod func(*HandlerOptions), cmod func(*ClientOptions)) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewServer(testHandler(node, func(o *HandlerOptions) {
		if hmod != nil {
			hmod(o)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, testClient(t, srv.URL, cmod)
}

func testClient(t *testing.T, url string, mod func(*ClientOptions)) *Client {
	t.Helper()
	opts := ClientOptions{Name: "sop2", URL: url, Node: "sop1", Secret: secret, Now: fixedNow,
		Clock: state.NewClock(fixedNow, time.Minute)}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClientRoundTrip(t *testing.T) {
	regs := sampleRegisters()
	node := &fakeNode{regs: regs}
	_, c := peerServer(t, node, nil, nil)

	h, err := c.Health(ctx(t))
	if err != nil || h.Node != "sop2" || h.Software != "queuesync 1.2.3" {
		t.Errorf("Health = %+v, %v", h, err)
	}
	snap, err := c.State(ctx(t), []string{"support", "sales.eu+1"}, false)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	want := slices.Clone(regs)
	slices.SortStableFunc(want, compareRegisters)
	if snap.Node != "sop2" || !reflect.DeepEqual(snap.Registers, want) {
		t.Errorf("State = %+v", snap)
	}
	if got := node.states[0]; !reflect.DeepEqual(got, []string{"support", "sales.eu+1"}) || node.dryRuns[0] {
		t.Errorf("queues reaching the node = %q (dry run %t)", got, node.dryRuns[0])
	}
	if _, err := c.State(ctx(t), nil, true); err != nil || node.states[1] != nil || !node.dryRuns[1] {
		t.Errorf("dry-run State: %v; node got %q, dry run %t", err, node.states[1], node.dryRuns[1])
	}
	set, err := c.Push(ctx(t), regs)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if set.Node != "sop2" || len(set.Results) != len(regs) || !reflect.DeepEqual(node.allApplied(), want) {
		t.Errorf("Push = %+v; node got %+v", set, node.allApplied())
	}
	for i, res := range set.Results {
		if res.Queue != regs[i].Queue || res.Interface != regs[i].Interface || res.Status != Applied {
			t.Errorf("result %d = %+v, want applied for %s/%s (the caller's order)", i, res, regs[i].Queue, regs[i].Interface)
		}
	}
}

func TestClientPushRequestGolden(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	node := &fakeNode{}
	h := testHandler(node)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body = b
		mu.Unlock()
		r.Body = httpBody(b)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if _, err := testClient(t, srv.URL, nil).Push(ctx(t), sampleRegisters()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	golden(t, "push-request.xml", body)
}

func TestClientPushStale(t *testing.T) {
	ours := validRegister()
	ours.Stamp = ours.Stamp.Next()
	node := &fakeNode{apply: func(regs []state.Register) ([]Result, error) {
		return []Result{{Status: Stale, Register: &ours}}, nil
	}}
	_, c := peerServer(t, node, nil, nil)
	set, err := c.Push(ctx(t), []state.Register{validRegister()})
	if err != nil || set.Results[0].Status != Stale || !reflect.DeepEqual(set.Results[0].Register, &ours) {
		t.Errorf("Push = %+v, %v", set, err)
	}
	if set.Results[0].Queue != "support" || set.Results[0].Interface != "PJSIP/1001" {
		t.Errorf("result key = %s/%s", set.Results[0].Queue, set.Results[0].Interface)
	}
}

func TestClientStatusErrors(t *testing.T) {
	tests := []struct {
		name       string
		hmod       func(*HandlerOptions)
		cmod       func(*ClientOptions)
		sentinel   error
		code       int
		text       string
		pushLength int
	}{
		{"wrong secret", nil, func(o *ClientOptions) { o.Secret = []byte("not the secret") }, ErrUnauthorized, 401,
			"signature mismatch: the shared secret for node sop1 differs on the two nodes", 1},
		{"unknown to peer", func(o *HandlerOptions) { o.Secrets = map[string][]byte{"sop3": secret} }, nil, ErrUnauthorized, 401,
			`unknown node "sop1"`, 1},
		{"client clock behind", nil, func(o *ClientOptions) { o.Now = func() time.Time { return now.Add(-10 * time.Minute) } },
			ErrUnauthorized, 401, "clock skew", 1},
		{"client clock ahead", nil, func(o *ClientOptions) { o.Now = func() time.Time { return now.Add(10 * time.Minute) } },
			ErrUnauthorized, 401, "clock skew", 1},
		{"server clock ahead", func(o *HandlerOptions) { o.Now = func() time.Time { return now.Add(6 * time.Minute) } }, nil,
			ErrUnauthorized, 401, "clock skew", 1},
		{"oversized", func(o *HandlerOptions) { o.MaxBody = 512 }, nil, ErrTooLarge, 413, "over 512 bytes", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &fakeNode{}
			_, c := peerServer(t, node, tt.hmod, tt.cmod)
			regs := slices.Repeat([]state.Register{validRegister()}, tt.pushLength)
			_, err := c.Push(ctx(t), regs)
			var se *StatusError
			if !errors.Is(err, tt.sentinel) || !errors.As(err, &se) || se.Code != tt.code || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Push = %v; want %d, %v, %q", err, tt.code, tt.sentinel, tt.text)
			}
			if len(node.applied) != 0 {
				t.Error("the node was called")
			}
		})
	}
}

func TestClientRefusesBeforeSending(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	defer srv.Close()
	c := testClient(t, srv.URL, nil)
	bad := validRegister()
	bad.PausedReason = "x\r\nAction: Logoff"
	if set, err := c.Push(ctx(t), []state.Register{bad}); err != nil || set.Results[0].Status != Error ||
		!strings.Contains(set.Results[0].Reason, "not sent: paused-reason") {
		t.Errorf("Push(invalid) = %+v, %v; want an error result made without sending", set, err)
	}
	if _, err := c.State(ctx(t), []string{"a\nb"}, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("State(invalid queue) = %v, want ErrInvalid", err)
	}
	if calls != 0 {
		t.Errorf("%d requests sent", calls)
	}
}

// hostile serves fixed answers, as a compromised or confused peer would:
// they are signed with the shared secret, so they pass verification.
func hostile(t *testing.T, code int, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderAnswerSignature, SignAnswer(secret, r.Header.Get(HeaderNonce), code, "sop2", []byte(body)))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return testClient(t, srv.URL, nil)
}

func TestClientValidatesAnswers(t *testing.T) {
	crlf := `<queuesync version="1" node="sop2" clock="1764041234000.0"><queue name="support">` +
		`<member interface="PJSIP/1001" name="x&#xD;&#xA;Action: Originate" membership="dynamic" present="true" stamp="1.0" origin="sop2"/>` +
		`</queue></queuesync>`
	if snap, err := hostile(t, 200, crlf).State(ctx(t), nil, false); err != nil || len(snap.Registers) != 0 || len(snap.Skipped) != 1 ||
		!errors.Is(snap.Skipped[0].Err, ErrInvalid) || !strings.Contains(snap.Skipped[0].Err.Error(), "contains CR") {
		t.Errorf("CR/LF in state answer: %+v, %v; want the member skipped", snap, err)
	}
	other := `<queuesync version="1" node="sop3" clock="1764041234000.0"/>`
	if _, err := hostile(t, 200, other).State(ctx(t), nil, false); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "says it is sop3") {
		t.Errorf("wrong node: %v", err)
	}
	ahead := `<queuesync-health version="1" node="sop2" clock="` + state.Stamp{Wall: now.Add(time.Hour).UnixMilli()}.String() + `" software="x"/>`
	if _, err := hostile(t, 200, ahead).Health(ctx(t)); !errors.Is(err, state.ErrClockSkew) {
		t.Errorf("clock ahead: %v", err)
	}
	results := `<queuesync-result version="1" node="sop2" clock="1764041234000.0"></queuesync-result>`
	if _, err := hostile(t, 200, results).Push(ctx(t), []state.Register{validRegister()}); !errors.Is(err, ErrProtocol) {
		t.Errorf("missing results: %v", err)
	}
	wrongKey := `<queuesync-result version="1" node="sop2" clock="1764041234000.0"><result queue="support" interface="PJSIP/9" status="applied"/></queuesync-result>`
	if _, err := hostile(t, 200, wrongKey).Push(ctx(t), []state.Register{validRegister()}); !errors.Is(err, ErrProtocol) {
		t.Errorf("result of another key: %v", err)
	}
	if _, err := hostile(t, 200, "<html>").Health(ctx(t)); !errors.Is(err, ErrMalformed) {
		t.Errorf("not XML: %v", err)
	}
}

func TestClientAnswerLimit(t *testing.T) {
	big := `<queuesync version="1" node="sop2" clock="1.0">` + strings.Repeat("<!-- padding -->", 100) + `</queuesync>`
	c := hostile(t, 200, big)
	c.opts.MaxBody = 256
	if _, err := c.State(ctx(t), nil, false); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized answer: %v", err)
	}
}

func TestClientErrorBodyCleaned(t *testing.T) {
	_, err := hostile(t, 500, "boom\r\n\x1b[31mred"+strings.Repeat("x", 5000)).Health(ctx(t))
	var se *StatusError
	if !errors.As(err, &se) || !errors.Is(err, ErrServer) {
		t.Fatalf("err = %v", err)
	}
	if strings.ContainsAny(se.Body, "\r\n\x1b") || len(se.Body) > maxErrorBody+len("…") {
		t.Errorf("body not cleaned: %q", se.Body)
	}
	if _, err := hostile(t, 404, "").Health(ctx(t)); !errors.Is(err, ErrProtocol) {
		t.Errorf("404: %v", err)
	}
	_, err = hostile(t, 401, "").Health(ctx(t))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "secrets of the two nodes differ or their clocks") {
		t.Errorf("401 without body: %v", err)
	}
}

func TestClientContextCancel(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c := testClient(t, srv.URL, nil)
	cctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Health(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Health = %v, want DeadlineExceeded", err)
	}
}

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*ClientOptions)
		text string
	}{
		{"peer name", func(o *ClientOptions) { o.Name = "" }, "peer name"},
		{"node name", func(o *ClientOptions) { o.Node = "a b" }, "node name"},
		{"scheme", func(o *ClientOptions) { o.URL = "ftp://h:1" }, "http://"},
		{"no host", func(o *ClientOptions) { o.URL = "http://" }, "no host"},
		{"path", func(o *ClientOptions) { o.URL = "http://h:1/api" }, "scheme, host and port only"},
		{"credentials", func(o *ClientOptions) { o.URL = "http://u:p@h:1" }, "scheme, host and port only"},
		{"secret", func(o *ClientOptions) { o.Secret = nil }, "secret"},
	}
	for _, tt := range tests {
		opts := ClientOptions{Name: "sop2", URL: "http://127.0.0.1:8038/", Node: "sop1", Secret: secret}
		tt.mod(&opts)
		_, err := NewClient(opts)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: NewClient = %v, want ErrInvalid containing %q", tt.name, err, tt.text)
		}
	}
	_, err := NewClient(ClientOptions{Name: "sop2", URL: "http://u:hunter2@h:1", Node: "sop1", Secret: secret})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("NewClient echoes the password of a URL: %v", err)
	}
}
