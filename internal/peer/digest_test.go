package peer

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// digestNode is a receiver that can sum up its journal.
type digestNode struct {
	fakeNode
	digests []QueueDigest
}

func (d *digestNode) Digests(context.Context, bool) ([]QueueDigest, error) { return d.digests, nil }

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
	forged := testClient(t, srv, func(o *ClientOptions) { o.Secret = []byte("another secret, long enough") })
	if _, err := forged.Digests(ctx(t)); err == nil {
		t.Fatal("a client with the wrong secret read the digest")
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
