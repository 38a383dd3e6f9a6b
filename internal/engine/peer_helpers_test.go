package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// peerNode serves the peer API from an engine and its journal, as the
// daemon does.
type peerNode struct {
	eng   *engine.Engine
	store *store.Store
}

// Digests sums up the journal, reconciled first when asked.
func (p peerNode) Digests(ctx context.Context, reconcile bool) ([]peer.QueueDigest, error) {
	if reconcile {
		sess, err := p.eng.Begin(ctx, nil)
		if err != nil {
			return nil, err
		}
		_, err = sess.Reconcile(ctx)
		sess.End()
		if err != nil {
			return nil, err
		}
	}
	ds, err := p.store.Digests(ctx, nil)
	out := make([]peer.QueueDigest, len(ds))
	for i, d := range ds {
		out[i] = peer.QueueDigest{Queue: d.Queue, Members: d.Members, Digest: d.Digest}
	}
	return out, err
}

func (p peerNode) State(ctx context.Context, queues []string, dryRun bool) ([]state.Register, error) {
	e := p.eng
	if dryRun {
		e = e.DryRun()
	}
	sess, err := e.Begin(ctx, queues)
	if err != nil {
		return nil, err
	}
	defer sess.End()
	if _, err := sess.Reconcile(ctx); err != nil {
		return nil, err
	}
	var regs []state.Register
	for _, en := range sess.Entries() {
		regs = append(regs, en.Register)
	}
	return regs, nil
}

func (p peerNode) Apply(ctx context.Context, from string, regs []state.Register) ([]peer.Result, error) {
	sess, err := p.eng.BeginMembers(ctx, engine.Members(regs))
	if err != nil {
		return nil, err
	}
	defer sess.End()
	outs, err := sess.Apply(ctx, from, regs)
	if err != nil {
		return nil, err
	}
	res := make([]peer.Result, len(outs))
	for i, o := range outs {
		res[i] = peer.Result{Queue: o.Queue, Interface: o.Interface}
		switch o.Result {
		case engine.Applied, engine.InSync:
			res[i].Status = peer.Applied
		case engine.Stale:
			res[i].Status, res[i].Register = peer.Stale, o.Winner
		default:
			res[i].Status, res[i].Reason = peer.Error, fmt.Sprint(o.Err)
		}
	}
	return res, nil
}

var secret = []byte("0123456789abcdef0123456789abcdef")

// link serves to's peer API over httptest on 127.0.0.1 and returns the peer
// as from sees it.
func link(t testing.TB, from, to *node) engine.Peer {
	t.Helper()
	return linkWrapped(t, from, to, func(h http.Handler) http.Handler { return h })
}

// linkWrapped is link with to's handler wrapped by wrap.
func linkWrapped(t testing.TB, from, to *node, wrap func(http.Handler) http.Handler) engine.Peer {
	t.Helper()
	var h http.Handler = peer.NewHandler(peer.HandlerOptions{Receiver: peerNode{to.eng, to.store}, Name: to.name, Clock: to.clock,
		Secrets: map[string][]byte{from.name: secret}, Now: to.clk.Now})
	srv := httptest.NewServer(wrap(h))
	t.Cleanup(srv.Close)
	cl, err := peer.NewClient(peer.ClientOptions{Name: to.name, URL: srv.URL, Node: from.name, Secret: secret, Now: from.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return engine.Peer{Name: to.name, Client: cl, Shares: func(string) bool { return true }}
}

// pair returns two nodes, a and b, over one clock, and the peer of each as
// the other sees it.
func pair(t testing.TB, opts ...nodeOption) (a, b *node, toA, toB engine.Peer) {
	t.Helper()
	clk := &manualClock{t: base}
	a, b = newNode(t, "sop1", clk, opts...), newNode(t, "sop2", clk, opts...)
	return a, b, link(t, b, a), link(t, a, b)
}

// pairSharing is pair where sop1's agent added m and sop2 pulled it a
// second later; the pull's actions are forgotten.
func pairSharing(t testing.TB, m member) (a, b *node, toA, toB engine.Peer) {
	t.Helper()
	a, b, toA, toB = pair(t)
	a.add(m)
	a.clk.Advance(time.Second)
	b.pull(toA)
	b.ami.Calls()
	return a, b, toA, toB
}
