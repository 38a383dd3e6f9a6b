package peer

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// manyRegisters returns n valid registers of queue q.
func manyRegisters(q string, n int) []state.Register {
	regs := make([]state.Register, n)
	for i := range regs {
		regs[i] = state.Register{Queue: q, Interface: fmt.Sprintf("PJSIP/%06d", i), Present: true,
			MemberName: fmt.Sprintf("Agent %d", i), Membership: state.Dynamic,
			Stamp: state.Stamp{Wall: 1764041230000 + int64(i)}, Origin: "sop2"}
	}
	return regs
}

// countRequests serves h and counts the requests by path and query kind.
func countRequests(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

// A state larger than a page comes in pages of one snapshot, each within
// the body limit; the client reads them all, and the node reconciles once.
func TestStateInPages(t *testing.T) {
	const total = 2*StatePage + 17
	node := &fakeNode{regs: manyRegisters("sales", total)}
	var requests atomic.Int64
	srv := httptest.NewServer(countRequests(testHandler(node, func(o *HandlerOptions) { o.MaxBody = 4 << 20 }), &requests))
	t.Cleanup(srv.Close)
	snap, err := testClient(t, srv.URL, func(o *ClientOptions) { o.MaxBody = 4 << 20 }).State(ctx(t), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Registers) != total || snap.Next != "" {
		t.Fatalf("%d registers, next %q; want %d and none", len(snap.Registers), snap.Next, total)
	}
	seen := map[string]bool{}
	for _, r := range snap.Registers {
		if seen[r.Interface] {
			t.Fatalf("%s twice", r.Interface)
		}
		seen[r.Interface] = true
	}
	if got := requests.Load(); got != 3 {
		t.Errorf("%d requests, want 3 pages", got)
	}
	if len(node.states) != 1 {
		t.Errorf("the node was read %d times, want once for all pages", len(node.states))
	}
}

// StatePages hands over each page as it comes, the next one read
// meanwhile; each's error stops the read; a peer that forgets its snapshot
// midway is read again from a fresh first page.
func TestStatePagesAheadAndAfresh(t *testing.T) {
	const total = 2*StatePage + 3
	node := &fakeNode{regs: manyRegisters("sales", total)}
	var requests atomic.Int64
	h := testHandler(node, func(o *HandlerOptions) { o.MaxBody = 4 << 20 })
	var forget atomic.Bool
	srv := httptest.NewServer(countRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "" && forget.CompareAndSwap(true, false) {
			http.Error(w, "unknown page", http.StatusGone)
			return
		}
		h.ServeHTTP(w, r)
	}), &requests))
	t.Cleanup(srv.Close)
	cl := testClient(t, srv.URL, func(o *ClientOptions) { o.MaxBody = 4 << 20 })

	// The second page is requested while each still holds the first.
	var sizes []int
	err := cl.StatePages(ctx(t), nil, false, func(page Snapshot, fresh bool) error {
		if fresh != (len(sizes) == 0) {
			t.Errorf("page %d: fresh %v", len(sizes), fresh)
		}
		if len(sizes) == 0 {
			deadline := time.Now().Add(5 * time.Second)
			for requests.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if requests.Load() < 2 {
				t.Error("the next page was not read while the first was handled")
			}
		}
		sizes = append(sizes, len(page.Registers))
		return nil
	})
	if err != nil || len(sizes) != 3 || sizes[0]+sizes[1]+sizes[2] != total {
		t.Fatalf("pages %v, %v; want 3 pages of %d registers in all", sizes, err, total)
	}

	stop := errors.New("enough")
	calls := 0
	err = cl.StatePages(ctx(t), nil, false, func(Snapshot, bool) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("each failing: %d calls, %v; want 1 and its error", calls, err)
	}

	forget.Store(true)
	var freshAt []int
	n := 0
	err = cl.StatePages(ctx(t), nil, false, func(page Snapshot, fresh bool) error {
		if fresh {
			freshAt = append(freshAt, n)
		}
		n++
		return nil
	})
	if err != nil || len(freshAt) != 2 || freshAt[1] != 1 || n != 4 {
		t.Errorf("forgotten snapshot: fresh at pages %v of %d, %v; want [0 1] of 4", freshAt, n, err)
	}
}

// A page token is the peer's own: another peer, an altered or an unknown
// token gets 410 Gone, and nothing of the snapshot.
func TestStatePageTokenIsThePeers(t *testing.T) {
	node := &fakeNode{regs: manyRegisters("sales", StatePage+1)}
	h := testHandler(node, func(o *HandlerOptions) {
		o.Secrets["sop3"] = []byte("another-secret-of-sixteen-bytes+")
	})
	rec := serve(h, signed(http.MethodGet, PathState, nil, fixedNow()))
	if rec.Code != http.StatusOK {
		t.Fatalf("first page: %d %s", rec.Code, rec.Body)
	}
	snap, err := DecodeState(rec.Body)
	if err != nil || snap.Next == "" {
		t.Fatalf("first page: next %q, %v", snap.Next, err)
	}
	other := httptest.NewRequest(http.MethodGet, PathState+"?page="+snap.Next, nil)
	Sign(other, "sop3", []byte("another-secret-of-sixteen-bytes+"), fixedNow(), nil)
	for name, req := range map[string]*http.Request{
		"another peer":  other,
		"altered token": signed(http.MethodGet, PathState+"?page="+flipFirst(snap.Next), nil, fixedNow()),
		"unknown token": signed(http.MethodGet, PathState+"?page=0123456789abcdef0123456789abcdef.5000", nil, fixedNow()),
	} {
		if rec := serve(h, req); rec.Code != http.StatusGone || strings.Contains(rec.Body.String(), "<member") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := serve(h, signed(http.MethodGet, PathState+"?page="+snap.Next, nil, fixedNow())); rec.Code != http.StatusOK {
		t.Errorf("the peer's own next page: %d %s", rec.Code, rec.Body)
	}
}

// A push larger than a batch goes in several requests, each within the
// body limit, with one result per register in order.
func TestPushInBatches(t *testing.T) {
	const total = 2*PushBatch + 3
	node := &fakeNode{}
	var requests atomic.Int64
	srv := httptest.NewServer(countRequests(testHandler(node), &requests))
	t.Cleanup(srv.Close)
	regs := manyRegisters("sales", total)
	set, err := testClient(t, srv.URL, nil).Push(ctx(t), regs)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Results) != total || requests.Load() != 3 || len(node.allApplied()) != total {
		t.Fatalf("%d results, %d requests, %d applied; want %d, 3, %d", len(set.Results), requests.Load(), len(node.allApplied()), total, total)
	}
	for i, r := range set.Results {
		if r.Interface != regs[i].Interface || r.Status != Applied {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
}

// flipFirst changes the first hex digit of a page token's snapshot id.
func flipFirst(token string) string {
	if token[0] == '0' {
		return "1" + token[1:]
	}
	return "0" + token[1:]
}
