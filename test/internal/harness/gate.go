//go:build e2e || chaos || bench

package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Gate is a TCP forwarder on 127.0.0.1 in front of a target: a daemon's
// peer API (the other daemons' only path to it) or an Asterisk manager (its
// daemon's only path to it). Cut refuses new connections and cuts those
// open through it; Heal opens it again; Slow delays what it forwards;
// Link makes it a slow, lossy link. The methods of a nil *Gate do nothing.
type Gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	delay time.Duration // Slow
	link  Link
	conns map[net.Conn]bool
}

// Link is what a Gate does to the bytes it forwards, each way, on top of
// Slow: every chunk arrives Delay (plus up to Jitter) after it was read, in
// order; a chunk is lost with probability Loss, and then arrives only after
// a retransmission timeout (200 ms, doubling while losses follow each other,
// at most 3.2 s), holding back the chunks behind it as TCP does; with
// probability Drop a chunk ends its connection instead (both sides see it
// cut). The zero Link forwards at once.
type Link struct {
	Delay, Jitter time.Duration
	Loss, Drop    float64
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

// NewGateIn starts an open gate in front of target that listens on addr
// inside network namespace ns (a name of `ip netns`): whoever connects to it
// crosses that namespace's link. The gate dials target from the harness's
// own namespace.
func NewGateIn(ns, addr, target string) (*Gate, error) {
	ln, err := listenIn(ns, addr)
	if err != nil {
		return nil, err
	}
	g := &Gate{ln: ln, target: target, open: true, conns: map[net.Conn]bool{}}
	go g.serve()
	return g, nil
}

// listenIn opens a TCP listener inside network namespace ns: a socket
// belongs to the namespace of the thread that creates it. The thread goes
// back to its namespace afterwards; if it cannot, it ends with its
// goroutine, locked, and Go does not reuse it.
func listenIn(ns, addr string) (net.Listener, error) {
	type res struct {
		ln  net.Listener
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		defer orig.Close()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: fmt.Errorf("enter network namespace %s: %w", ns, err)}
			return
		}
		ln, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{ln, lerr}
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		ch <- res{ln, lerr}
	}()
	r := <-ch
	return r.ln, r.err
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
func (g *Gate) Slow(d time.Duration) { g.locked(func() { g.delay = d }) }

// SetLink makes the gate behave as l, on open connections and new ones
// (Link{}: a plain gate again).
func (g *Gate) SetLink(l Link) { g.locked(func() { g.link = l }) }

// Close stops the gate for good.
func (g *Gate) Close() {
	if g == nil {
		return
	}
	_ = g.ln.Close()
	g.set(false)
}

func (g *Gate) set(open bool) {
	g.locked(func() {
		g.open = open
		if !open {
			for c := range g.conns {
				_ = c.Close()
			}
			g.conns = map[net.Conn]bool{}
		}
	})
}

// locked runs f under the gate's lock; on a nil gate (none asked for) it
// does nothing.
func (g *Gate) locked(f func()) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
}

func (g *Gate) settings() (time.Duration, Link) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.delay, g.link
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

// chunk is a piece of the stream and when it may be written.
type chunk struct {
	b       []byte
	release time.Time
	drop    bool
}

// pipe copies src to dst. Chunks are read as they come and written at
// their release time (Slow and Link), in order, so that a delay is a
// latency, not a cap on throughput.
func (g *Gate) pipe(dst, src net.Conn) {
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		var last time.Time
		rto := 200 * time.Millisecond
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				delay, l := g.settings()
				c := chunk{b: buf[:n], release: time.Now().Add(delay + l.Delay)}
				if l.Jitter > 0 {
					c.release = c.release.Add(rand.N(l.Jitter))
				}
				switch r := rand.Float64(); {
				case r < l.Drop:
					c.drop = true
				case r < l.Drop+l.Loss:
					c.release = c.release.Add(rto)
					rto = min(2*rto, 3200*time.Millisecond)
				default:
					rto = 200 * time.Millisecond
				}
				if c.release.Before(last) {
					c.release = last
				}
				last = c.release
				q <- c
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.release))
		if c.drop {
			break
		}
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	// Either way ends the connection (forward closes both sides when one
	// direction ends); closing src also ends the reader.
	_ = dst.Close()
	_ = src.Close()
	for range q {
	}
}
