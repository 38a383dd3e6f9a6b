package peer

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

func TestHandlerHealth(t *testing.T) {
	rec := serve(testHandler(&fakeNode{}), signed("GET", PathHealth, nil, now))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("status %d, type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	golden(t, "handler-health.xml", rec.Body.Bytes())
}

func TestHandlerState(t *testing.T) {
	node := &fakeNode{regs: sampleRegisters()}
	rec := serve(testHandler(node), signed("GET", PathState+"?queue=support&queue=sales", nil, now))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	golden(t, "handler-state.xml", rec.Body.Bytes())
	if want := [][]string{{"support", "sales"}}; !reflect.DeepEqual(node.states, want) || node.dryRuns[0] {
		t.Errorf("Node.State called with %v (dry run %v), want %v", node.states, node.dryRuns, want)
	}
	serve(testHandler(node), signed("GET", PathState+"?dry-run=true", nil, now))
	if len(node.dryRuns) != 2 || !node.dryRuns[1] || node.states[1] != nil {
		t.Errorf("dry run not passed to the node: %v %v", node.states, node.dryRuns)
	}
}

func TestHandlerStateDropsInvalidRegisters(t *testing.T) {
	bad := validRegister()
	bad.MemberName = "x\r\nAction: Originate"
	node := &fakeNode{regs: []state.Register{bad, validRegister()}}
	rec := serve(testHandler(node), signed("GET", PathState, nil, now))
	snap, err := DecodeState(rec.Body)
	if err != nil || len(snap.Registers) != 1 || snap.Registers[0].MemberName != "Alice" {
		t.Errorf("state = %+v, %v; want only the valid register", snap, err)
	}
}

func TestHandlerStateErrors(t *testing.T) {
	rec := serve(testHandler(&fakeNode{}), signed("GET", PathState+"?queue=a%0D%0AAction:+x", nil, now))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "contains CR") {
		t.Errorf("bad queue parameter: %d %s", rec.Code, rec.Body)
	}
	rec = serve(testHandler(&fakeNode{}), signed("GET", PathState+"?dry-run=yes", nil, now))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "dry-run") {
		t.Errorf("bad dry-run parameter: %d %s", rec.Code, rec.Body)
	}
	rec = serve(testHandler(&fakeNode{stateErr: errors.New("journal down")}), signed("GET", PathState, nil, now))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "journal down") {
		t.Errorf("node error: %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerChanges(t *testing.T) {
	regs := sampleRegisters()
	stale := regs[2]
	stale.Stamp = stale.Stamp.Next()
	node := &fakeNode{apply: func(got []state.Register) ([]Result, error) {
		out := make([]Result, len(got))
		for i, r := range got {
			out[i] = Result{Status: Applied}
			if r.Key() == stale.Key() {
				out[i] = Result{Status: Stale, Register: &stale}
			}
		}
		return out, nil
	}}
	rec := serve(testHandler(node), signed("POST", PathChanges, encodeState(t, regs), now))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	golden(t, "handler-changes.xml", rec.Body.Bytes())
	if len(node.froms) != 1 || node.froms[0] != "sop1" || len(node.allApplied()) != len(regs) {
		t.Errorf("Apply calls: from %v, %d registers", node.froms, len(node.allApplied()))
	}
}

func TestHandlerAuthentication(t *testing.T) {
	body := encodeState(t, []state.Register{validRegister()})
	tests := []struct {
		name string
		req  func() *http.Request
		text string
	}{
		{"unsigned", func() *http.Request {
			r := httptest.NewRequest("GET", PathHealth, nil)
			return r
		}, "not signed"},
		{"unknown node", func() *http.Request {
			r := httptest.NewRequest("GET", PathHealth, nil)
			Sign(r, "sop9", secret, now, nil)
			return r
		}, `unknown node "sop9"`},
		{"wrong secret", func() *http.Request {
			r := httptest.NewRequest("GET", PathHealth, nil)
			Sign(r, "sop1", []byte("another secret"), now, nil)
			return r
		}, "signature mismatch: the shared secret for node sop1 differs on the two nodes"},
		{"tampered body", func() *http.Request {
			r := signed("POST", PathChanges, body, now)
			r.Body = httpBody(bytes.Replace(body, []byte("Alice"), []byte("Mallory"), 1))
			return r
		}, "signature mismatch"},
		{"tampered query", func() *http.Request {
			r := signed("GET", PathState+"?queue=a", nil, now)
			r.URL.RawQuery = "queue=b"
			return r
		}, "signature mismatch"},
		{"other method", func() *http.Request {
			r := signed("GET", PathHealth, nil, now)
			r.Header.Set(HeaderNode, "sop1")
			r.Method = "POST"
			return r
		}, "method"},
		{"malformed signature", func() *http.Request {
			r := signed("GET", PathHealth, nil, now)
			r.Header.Set(HeaderSignature, "v2=abc")
			return r
		}, "malformed " + HeaderSignature},
		{"malformed timestamp", func() *http.Request {
			r := signed("GET", PathHealth, nil, now)
			r.Header.Set(HeaderTimestamp, "yesterday")
			return r
		}, "malformed " + HeaderTimestamp},
		{"signed too long ago", func() *http.Request { return signed("GET", PathHealth, nil, now.Add(-301*time.Second)) }, "clock skew"},
		{"signed in the future", func() *http.Request { return signed("GET", PathHealth, nil, now.Add(301*time.Second)) }, "clock skew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &fakeNode{}
			rec := serve(testHandler(node), tt.req())
			want := http.StatusUnauthorized
			if tt.name == "other method" {
				want = http.StatusMethodNotAllowed
			}
			if rec.Code != want || !strings.Contains(rec.Body.String(), tt.text) {
				t.Errorf("got %d %q, want %d containing %q", rec.Code, rec.Body, want, tt.text)
			}
			if len(node.applied)+len(node.states) != 0 {
				t.Error("an unauthenticated request reached the node")
			}
		})
	}
}

func TestHandlerRefusesEmptySecret(t *testing.T) {
	h := testHandler(&fakeNode{}, func(o *HandlerOptions) { o.Secrets = map[string][]byte{"sop1": {}} })
	r := httptest.NewRequest("GET", PathHealth, nil)
	Sign(r, "sop1", nil, now, nil)
	if rec := serve(h, r); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "no secret for node sop1") {
		t.Errorf("empty secret: %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerSkewWithinLimit(t *testing.T) {
	for _, d := range []time.Duration{-299 * time.Second, 299 * time.Second} {
		if rec := serve(testHandler(&fakeNode{}), signed("GET", PathHealth, nil, now.Add(d))); rec.Code != http.StatusOK {
			t.Errorf("signed %s off: %d %s", d, rec.Code, rec.Body)
		}
	}
}

func TestHandlerRefusesReplay(t *testing.T) {
	node := &fakeNode{}
	h := testHandler(node)
	body := encodeState(t, []state.Register{validRegister()})
	first := signed("POST", PathChanges, body, now)
	again := first.Clone(first.Context())
	again.Body = httpBody(body)
	if rec := serve(h, first); rec.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", rec.Code, rec.Body)
	}
	rec := serve(h, again)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "replayed") {
		t.Errorf("replay: %d %s", rec.Code, rec.Body)
	}
	if len(node.applied) != 1 {
		t.Errorf("Apply called %d times, want 1", len(node.applied))
	}
}

func TestHandlerRequestErrors(t *testing.T) {
	body := encodeState(t, []state.Register{validRegister()})
	tests := []struct {
		name string
		req  func() *http.Request
		code int
		text string
	}{
		{"unknown path", func() *http.Request { return signed("GET", "/queue/v2/state", nil, now) }, 404, "no such endpoint"},
		{"GET changes", func() *http.Request { return signed("GET", PathChanges, nil, now) }, 405, "use POST"},
		{"POST state", func() *http.Request { return signed("POST", PathState, body, now) }, 405, "use GET"},
		{"wrong content type", func() *http.Request {
			r := signed("POST", PathChanges, body, now)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 415, "application/xml"},
		{"latin1 charset", func() *http.Request {
			r := signed("POST", PathChanges, body, now)
			r.Header.Set("Content-Type", "text/xml; charset=iso-8859-1")
			return r
		}, 415, "UTF-8"},
		{"malformed XML", func() *http.Request { return signed("POST", PathChanges, []byte("<queuesync version=\"1\""), now) }, 400, "malformed document"},
		{"version 2", func() *http.Request {
			return signed("POST", PathChanges, []byte(`<queuesync version="2" node="sop1" clock="1.0"/>`), now)
		}, 400, "unsupported document version \"2\""},
		{"document from another node", func() *http.Request {
			return signed("POST", PathChanges, []byte(`<queuesync version="1" node="sop3" clock="1.0"/>`), now)
		}, 400, "written by node sop3 but signed by node sop1"},
		{"document clock ahead", func() *http.Request {
			doc := `<queuesync version="1" node="sop1" clock="` + state.Stamp{Wall: now.Add(2 * time.Minute).UnixMilli()}.String() + `"/>`
			return signed("POST", PathChanges, []byte(doc), now)
		}, 409, "clock skew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &fakeNode{}
			rec := serve(testHandler(node), tt.req())
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.text) {
				t.Errorf("got %d %q, want %d containing %q", rec.Code, rec.Body, tt.code, tt.text)
			}
			if len(node.applied) != 0 {
				t.Error("the node was called")
			}
		})
	}
}

func TestHandlerBodyLimit(t *testing.T) {
	small := func(o *HandlerOptions) { o.MaxBody = 100 }
	big := encodeState(t, sampleRegisters())
	rec := serve(testHandler(&fakeNode{}, small), signed("POST", PathChanges, big, now))
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "over 100 bytes") {
		t.Errorf("with Content-Length: %d %s", rec.Code, rec.Body)
	}
	req := signed("POST", PathChanges, big, now)
	req.ContentLength = -1 // chunked: only the reader notices
	if rec := serve(testHandler(&fakeNode{}, small), req); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("without Content-Length: %d %s", rec.Code, rec.Body)
	}
}

// TestHandlerRefusesInjection sends, in one batch, registers with CR, LF or
// NUL in each field that reaches AMI, and checks that each gets status
// error naming the problem while the valid one is applied, and that the
// Node never sees an invalid register.
func TestHandlerRefusesInjection(t *testing.T) {
	inject := "\r\nAction: Originate\r\nChannel: PJSIP/666\r\n\r\n"
	member := `<member interface="%I" name="%N" membership="dynamic" present="true" paused="true" paused-reason="%R" stamp="1764041230000.0" origin="sop1"/>`
	fill := func(q, i, n, r string) string {
		m := strings.NewReplacer("%I", i, "%N", n, "%R", r).Replace(member)
		return `<queue name="` + q + `">` + m + `</queue>`
	}
	esc := func(s string) string { return strings.NewReplacer("\r", "&#xD;", "\n", "&#xA;").Replace(s) }
	body := `<queuesync version="1" node="sop1" clock="1764041234000.0">` +
		fill("q1", "PJSIP/1", "Alice"+esc(inject), "x") +
		fill("q2", "PJSIP/2", "Bob", "lunch"+esc(inject)) +
		fill("q3", "PJSIP/3"+esc(inject), "C", "x") +
		fill("q4"+esc(inject), "PJSIP/4", "D", "x") +
		fill("q5", "PJSIP/5", "E\tok", "fine") +
		fill("q6", "PJSIP/6", "F", "a\u0085b") +
		fill("q7", "PJSIP/7", strings.Repeat("G", 200), "x") +
		`</queuesync>`
	node := &fakeNode{}
	rec := serve(testHandler(node), signed("POST", PathChanges, []byte(body), now))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	golden(t, "handler-injection.xml", rec.Body.Bytes())
	set, err := DecodeResults(rec.Body)
	if err != nil {
		t.Fatalf("DecodeResults: %v", err)
	}
	want := []Status{Error, Error, Error, Error, Applied, Applied, Error} // Asterisk holds a C1 control in a reason
	for i, res := range set.Results {
		if res.Status != want[i] {
			t.Errorf("result %d: %s %q, want %s", i, res.Status, res.Reason, want[i])
		}
	}
	applied := node.allApplied()
	if len(applied) != 2 || applied[0].Queue != "q5" || applied[1].Queue != "q6" {
		t.Errorf("Node.Apply got %+v, want only q5 and q6", applied)
	}
	for _, r := range applied {
		if err := ValidateRegister(r); err != nil {
			t.Errorf("invalid register reached the node: %v", err)
		}
	}
}

func TestHandlerRefusesFutureStamps(t *testing.T) {
	ahead := validRegister()
	ahead.Stamp = state.Stamp{Wall: now.Add(2 * time.Minute).UnixMilli()}
	node := &fakeNode{}
	rec := serve(testHandler(node), signed("POST", PathChanges, encodeState(t, []state.Register{ahead, validRegister()}), now))
	set, err := DecodeResults(rec.Body)
	if err != nil {
		t.Fatalf("DecodeResults: %v (%d)", err, rec.Code)
	}
	if r := set.Results[0]; r.Status != Error || !strings.Contains(r.Reason, "too far in the future") {
		t.Errorf("future stamp: %+v", r)
	}
	if set.Results[1].Status != Applied || len(node.allApplied()) != 1 {
		t.Errorf("the valid register was not applied alone: %+v", set.Results[1])
	}
}

func TestHandlerNodeFailures(t *testing.T) {
	body := encodeState(t, []state.Register{validRegister()})
	failing := &fakeNode{apply: func([]state.Register) ([]Result, error) { return nil, errors.New("database gone") }}
	if rec := serve(testHandler(failing), signed("POST", PathChanges, body, now)); rec.Code != 500 || !strings.Contains(rec.Body.String(), "database gone") {
		t.Errorf("Apply error: %d %s", rec.Code, rec.Body)
	}
	short := &fakeNode{apply: func([]state.Register) ([]Result, error) { return nil, nil }}
	if rec := serve(testHandler(short), signed("POST", PathChanges, body, now)); rec.Code != 500 || !strings.Contains(rec.Body.String(), "0 results for 1") {
		t.Errorf("short results: %d %s", rec.Code, rec.Body)
	}
	bad := validRegister()
	bad.MemberName = "x\n"
	odd := &fakeNode{apply: func([]state.Register) ([]Result, error) {
		return []Result{{Status: "maybe", Reason: "a\r\nb", Register: &bad}}, nil
	}}
	rec := serve(testHandler(odd), signed("POST", PathChanges, body, now))
	set, err := DecodeResults(rec.Body)
	if err != nil || set.Results[0].Status != Error || set.Results[0].Register != nil {
		t.Errorf("odd node answer: %+v, %v", set, err)
	}
}

func httpBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
