//go:build e2e || chaos || bench

package harness

import (
	"net"
	"sync"
	"time"
)

// Gate is a TCP forwarder on 127.0.0.1 in front of a target: a daemon's
// peer API (the other daemons' only path to it) or an Asterisk manager (its
// daemon's only path to it). Cut refuses new connections and cuts those
// open through it; Heal opens it again; Slow delays what it forwards.
// The methods of a nil *Gate do nothing.
type Gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	delay time.Duration
	conns map[net.Conn]bool
}

// NewGate starts an open gate in front of target.
func NewGate(target string) (*Gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &Gate{ln: ln, target: target, open: true, conns: map[net.Conn]bool{}}
	go g.serve()
	return g, nil
}

// Addr returns the address to connect to instead of the target.
func (g *Gate) Addr() string { return g.ln.Addr().String() }

// Cut refuses new connections and closes those open through the gate.
func (g *Gate) Cut() { g.set(false) }

// Heal lets connections through again.
func (g *Gate) Heal() { g.set(true) }

// IsOpen reports whether the gate lets connections through.
func (g *Gate) IsOpen() bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Slow delays every chunk of bytes forwarded, either way, by d (0: no
// delay), on open connections and new ones.
func (g *Gate) Slow(d time.Duration) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.delay = d
}

// Close stops the gate for good.
func (g *Gate) Close() {
	if g == nil {
		return
	}
	_ = g.ln.Close()
	g.set(false)
}

func (g *Gate) set(open bool) {
	if g == nil {
		return
	}
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

func (g *Gate) lag() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.delay
}

func (g *Gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.forward(c)
	}
}

// track records open connections so that Cut can close them; it refuses
// them while the gate is cut.
func (g *Gate) track(cs ...net.Conn) bool {
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

func (g *Gate) forward(c net.Conn) {
	if !g.IsOpen() {
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
	go func() { g.pipe(up, c); done <- struct{}{} }()
	go func() { g.pipe(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	g.mu.Lock()
	delete(g.conns, c)
	delete(g.conns, up)
	g.mu.Unlock()
}

// pipe copies src to dst, each chunk after the gate's delay.
func (g *Gate) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := g.lag(); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
