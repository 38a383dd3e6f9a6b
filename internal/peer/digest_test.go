package peer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// digestNode is a receiver that can sum up its journal.
type digestNode struct {
	fakeNode
	digests    []QueueDigest
	reconciled []bool // the reconcile argument of every call
}

func (d *digestNode) Digests(_ context.Context, reconcile bool) ([]QueueDigest, error) {
	d.reconciled = append(d.reconciled, reconcile)
	return d.digests, nil
}

var sum = strings.Repeat("ab", 32)

// The digest answer is signed and scoped: a peer reads only the digests of
// the queues it shares, and a forged answer is refused.
func TestDigestRoundTrip(t *testing.T) {
	node := &digestNode{digests: []QueueDigest{{Queue: "sales", Members: 3, Digest: sum}, {Queue: "secret", Members: 1, Digest: sum}}}
	srv := httptestServer(t, node, map[string]Grant{"sop1": {Names: []string{"sales"}}})
	c := testClient(t, srv, nil)
	d, err := c.Digests(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.Node != "sop2" || len(d.Queues) != 1 || d.Queues[0] != node.digests[0] {
		t.Fatalf("Digests = %+v, want sales only", d)
	}
	if _, err := c.ReconciledDigests(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if len(node.reconciled) != 2 || node.reconciled[0] || !node.reconciled[1] {
		t.Errorf("reconcile asked %v, want [false true]", node.reconciled)
	}
	forged := testClient(t, srv, func(o *ClientOptions) { o.Secret = []byte("another secret, long enough") })
	if _, err := forged.Digests(ctx(t)); err == nil {
		t.Fatal("a client with the wrong secret read the digest")
	}
}

// reconcile is true, false or absent; anything else is refused, and the
// node is not asked.
func TestDigestReconcileParameter(t *testing.T) {
	node := &digestNode{}
	h := testHandler(&fakeNode{}, func(o *HandlerOptions) { o.Receiver = node })
	rec := serve(h, signed(http.MethodGet, PathDigest+"?reconcile=yes", nil, fixedNow()))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "reconcile") || len(node.reconciled) != 0 {
		t.Fatalf("reconcile=yes: %d %s, node asked %v", rec.Code, rec.Body, node.reconciled)
	}
}

func TestDigestNotServed(t *testing.T) {
	srv := httptestServer(t, &fakeNode{}, nil)
	_, err := testClient(t, srv, nil).Digests(ctx(t))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("Digests from a node without them = %v, want a 404", err)
	}
}

func TestDecodeDigestsValidates(t *testing.T) {
	doc := `<queuesync-digest version="1" node="sop2" clock="1.0"><queue name="sales" members="1" digest="zz"/></queuesync-digest>`
	if _, err := DecodeDigests(strings.NewReader(doc)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("DecodeDigests(bad digest) = %v, want ErrMalformed", err)
	}
}

// httptestServer serves node as sop2 with grants (nil: every queue).
func httptestServer(t *testing.T, node Receiver, grants map[string]Grant) string {
	t.Helper()
	srv := httptest.NewServer(testHandler(&fakeNode{}, func(o *HandlerOptions) {
		o.Receiver, o.Grants = node, grants
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
