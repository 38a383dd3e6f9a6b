package peer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/testkit"
)

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, name, got)
}

// now is the fixed time of the tests.
var now = time.UnixMilli(1764041234567)

func fixedNow() time.Time { return now }

var secret = []byte("0123456789abcdef0123456789abcdef")

// sampleRegisters covers a paused member, a tombstone, both ringinuse
// values and unknown, a static member, two queues and mixed case, in no
// particular order.
func sampleRegisters() []state.Register {
	st := state.Stamp{Wall: 1764041230000}
	return []state.Register{
		{Queue: "support", Interface: "PJSIP/1002", Present: true, MemberName: "Bob", Membership: state.Dynamic,
			Penalty: 2, Ringinuse: state.Bool(false), Wrapuptime: state.Seconds(45), Stamp: st.Next(), Origin: "sop2"},
		{Queue: "sales", Interface: "Local/2000@agents", Present: true, MemberName: "Static Agent",
			StateInterface: "Custom:2000", Membership: state.Static, Stamp: st, Origin: "sop1"},
		{Queue: "support", Interface: "PJSIP/1001", Present: true, MemberName: "Alice", StateInterface: "PJSIP/1001",
			Membership: state.Dynamic, Paused: true, PausedReason: "lunch & <coffee>", Ringinuse: state.Bool(true), Stamp: st, Origin: "sop1"},
		{Queue: "support", Interface: "pjsip/1000", Membership: state.Dynamic, Stamp: st, Origin: "sop1"},
		{Queue: "Sales", Interface: "PJSIP/3000", Present: true, MemberName: "Frank \"Tab\"\tSmith, Jr.",
			Membership: state.Realtime, Penalty: 2147483647, Stamp: st, Origin: "sop-3.example"},
	}
}

// fakeNode records what the handler passes it and answers from canned
// values.
type fakeNode struct {
	mu       sync.Mutex
	states   [][]string
	dryRuns  []bool
	applied  [][]state.Register
	froms    []string
	regs     []state.Register                         // State's answer
	stateErr error                                    // State's error
	apply    func([]state.Register) ([]Result, error) // default: all applied
}

func (f *fakeNode) State(_ context.Context, queues []string, dryRun bool) ([]state.Register, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, queues)
	f.dryRuns = append(f.dryRuns, dryRun)
	return f.regs, f.stateErr
}

func (f *fakeNode) Apply(_ context.Context, from string, regs []state.Register) ([]Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.froms = append(f.froms, from)
	f.applied = append(f.applied, regs)
	if f.apply != nil {
		return f.apply(regs)
	}
	out := make([]Result, len(regs))
	for i, r := range regs {
		out[i] = Result{Queue: r.Queue, Interface: r.Interface, Status: Applied}
	}
	return out, nil
}

func (f *fakeNode) allApplied() []state.Register {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []state.Register
	for _, b := range f.applied {
		all = append(all, b...)
	}
	return all
}

// testHandler returns the handler of node "sop2", peer of "sop1".
func testHandler(node *fakeNode, mod ...func(*HandlerOptions)) http.Handler {
	opts := HandlerOptions{
		Receiver: node, Name: "sop2", Software: "queuesync 1.2.3", Now: fixedNow,
		Clock:   state.NewClock(fixedNow, time.Minute),
		Secrets: map[string][]byte{"sop1": secret},
	}
	for _, m := range mod {
		m(&opts)
	}
	return NewHandler(opts)
}

// signed returns a request signed by sop1 at time at.
func signed(method, target string, body []byte, at time.Time) *http.Request {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/xml")
	}
	Sign(req, "sop1", secret, at, body)
	return req
}

// serve runs req through h and returns the recorded answer.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// encodeState encodes a batch from sop1 or fails the test.
func encodeState(t testing.TB, regs []state.Register) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodeState(&buf, "sop1", state.Stamp{Wall: now.UnixMilli() - 1000}, regs); err != nil {
		t.Fatalf("EncodeState: %v", err)
	}
	return buf.Bytes()
}
