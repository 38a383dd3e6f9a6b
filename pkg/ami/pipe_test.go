package ami

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pipeServer is a scripted AMI server on the far end of a net.Pipe.
type pipeServer struct {
	t    testing.TB
	conn net.Conn
	r    *Reader
}

// countingConn counts the bytes a client writes.
type countingConn struct {
	net.Conn
	written atomic.Int64
}

// Write counts and forwards.
func (c *countingConn) Write(p []byte) (int, error) {
	c.written.Add(int64(len(p)))
	return c.Conn.Write(p)
}

// newPipe returns a client connected to a scripted server that has sent
// the banner. Everything is torn down when the test ends.
func newPipe(t testing.TB, opts Options) (*Client, *pipeServer, *countingConn) {
	t.Helper()
	cc, sc := net.Pipe()
	counted := &countingConn{Conn: cc}
	sc.SetDeadline(time.Now().Add(20 * time.Second))
	go sc.Write([]byte("Asterisk Call Manager/11.0.0\r\n"))
	c, err := NewClient(counted, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		sc.Close()
	})
	return c, &pipeServer{t: t, conn: sc, r: NewReader(sc)}, counted
}

// next reads the next action the client sent.
func (p *pipeServer) next() Message {
	p.t.Helper()
	m, err := p.r.ReadMessage()
	if err != nil {
		p.t.Fatalf("server read: %v", err)
	}
	return m
}

// nextN reads n actions and indexes their ActionIDs by action name.
func (p *pipeServer) nextN(n int) map[string]string {
	p.t.Helper()
	ids := make(map[string]string)
	for range n {
		m := p.next()
		ids[m.Get("Action")] = m.Get("ActionID")
	}
	return ids
}

// send writes messages given with "\n" line ends as CRLF wire bytes, each
// message separated by a blank line.
func (p *pipeServer) send(msgs ...string) {
	p.t.Helper()
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(strings.ReplaceAll(strings.TrimRight(m, "\n"), "\n", "\r\n"))
		b.WriteString("\r\n\r\n")
	}
	if _, err := p.conn.Write([]byte(b.String())); err != nil {
		p.t.Fatalf("server write: %v", err)
	}
}

// result is the outcome of an asynchronous call.
type result struct {
	msg   Message
	items []Message
	err   error
}

// goDo runs Do in the background.
func goDo(ctx context.Context, c *Client, a Action) <-chan result {
	ch := make(chan result, 1)
	go func() {
		m, err := c.Do(ctx, a)
		ch <- result{msg: m, err: err}
	}()
	return ch
}

// goDoList runs DoList in the background.
func goDoList(ctx context.Context, c *Client, a Action) <-chan result {
	ch := make(chan result, 1)
	go func() {
		m, items, err := c.DoList(ctx, a)
		ch <- result{msg: m, items: items, err: err}
	}()
	return ch
}

// await receives a result or fails after 10 s.
func await(t testing.TB, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return")
		return result{}
	}
}

// testCtx returns a context bounded by 10 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pollEvents returns the events queued now, without waiting.
func pollEvents(c *Client) []Event {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []Event
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			return out
		}
		out = append(out, ev)
	}
}
