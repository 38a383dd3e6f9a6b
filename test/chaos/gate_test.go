//go:build chaos

package chaos

import (
	"io"
	"net"
	"sync"
)

// gate is a TCP forwarder: in front of a daemon's peer API (the other
// daemon's only path to it) or in front of an Asterisk manager (the daemon's
// only path to it). Closing it cuts the connections open through it and
// refuses new ones; opening it heals.
type gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	conns map[net.Conn]bool
}

func newGate(target string) (*gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gate{ln: ln, target: target, open: true, conns: map[net.Conn]bool{}}
	go g.serve()
	return g, nil
}

func (g *gate) addr() string { return g.ln.Addr().String() }

func (g *gate) close() { _ = g.ln.Close(); g.set(false) }

func (g *gate) isOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
	if !open {
		for c := range g.conns {
			_ = c.Close()
		}
		g.conns = map[net.Conn]bool{}
	}
}

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.forward(c)
	}
}

func (g *gate) track(cs ...net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return false
	}
	for _, c := range cs {
		g.conns[c] = true
	}
	return true
}

func (g *gate) forward(c net.Conn) {
	if !g.isOpen() {
		_ = c.Close()
		return
	}
	up, err := net.Dial("tcp", g.target)
	if err != nil || !g.track(c, up) {
		_ = c.Close()
		if up != nil {
			_ = up.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
}
