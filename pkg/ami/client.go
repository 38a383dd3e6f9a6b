package ami

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options fields left zero.
const (
	// DefaultEventBuffer is the default capacity of the event queue.
	DefaultEventBuffer = 4096
	// DefaultHandshakeTimeout is the default bound on reading the banner.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultActionIDPrefix is the default ActionID prefix.
	DefaultActionIDPrefix = "qs-"
)

// Options configures a Client. The zero value is usable.
type Options struct {
	// EventBuffer is the capacity of the unsolicited event queue (default
	// DefaultEventBuffer). See NextEvent for what happens when it overflows.
	EventBuffer int
	// HandshakeTimeout bounds reading the banner (default
	// DefaultHandshakeTimeout). Dial also honours its context.
	HandshakeTimeout time.Duration
	// ReadTimeout, when positive, closes the connection with an error
	// wrapping ErrTimeout when no complete message has arrived for that long.
	// Zero (the default) waits forever. On a quiet connection combine it
	// with a shorter KeepAlive, whose answers count as traffic.
	ReadTimeout time.Duration
	// KeepAlive, when positive, sends a Ping every KeepAlive; a Ping not
	// answered within KeepAlive closes the connection with an error wrapping
	// ErrTimeout. Zero disables it; Ping can then be called by hand.
	KeepAlive time.Duration
	// ActionIDPrefix prefixes the per-client ActionID counter (default
	// DefaultActionIDPrefix, giving "qs-1", "qs-2", ...).
	ActionIDPrefix string
	// Logger receives, at debug level, each action sent with its ActionID,
	// how long its answer took and its error. Default: discard. The client
	// never logs above debug, nor any header value (a Login's Secret).
	Logger *slog.Logger
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ActionIDPrefix == "" {
		o.ActionIDPrefix = DefaultActionIDPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Client is one AMI connection. All methods are safe for concurrent use; many
// actions may be in flight at once. A Client does not reconnect: once Done
// is closed, dial a new one.
type Client struct {
	conn   net.Conn
	opts   Options
	banner string
	rd     *Reader
	seq    atomic.Uint64

	wq   chan []byte   // encoded actions, in call order
	done chan struct{} // closed by shutdown
	wg   sync.WaitGroup

	mu      sync.Mutex
	pending map[string]*request
	dropped []string // ActionIDs given up by their callers, oldest first
	err     error    // why the client closed; nil while open

	events eventQueue
}

// Dial connects to the AMI server at addr ("host:port") over TCP and reads
// its banner. ctx bounds the dial and the banner read only.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ami dial %s: %w", addr, err)
	}
	return newClient(ctx, conn, opts)
}

// NewClient runs the protocol over an established connection, such as one
// end of a net.Pipe, and reads the banner. The Client owns conn from now on;
// on error conn is closed.
func NewClient(conn net.Conn, opts Options) (*Client, error) {
	return newClient(context.Background(), conn, opts)
}

// newClient reads the banner within ctx and HandshakeTimeout, then starts
// the reader and writer goroutines.
func newClient(ctx context.Context, conn net.Conn, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	c := &Client{
		conn:    conn,
		opts:    opts,
		rd:      NewReader(conn),
		wq:      make(chan []byte, 256),
		done:    make(chan struct{}),
		pending: make(map[string]*request),
	}
	c.events.init(opts.EventBuffer)
	banner, err := c.readBanner(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.banner = banner
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if opts.KeepAlive > 0 {
		c.wg.Add(1)
		go c.keepAlive(opts.KeepAlive)
	}
	return c, nil
}

// readBanner reads the single banner line, interrupting the read when ctx
// ends or HandshakeTimeout passes.
func (c *Client) readBanner(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.HandshakeTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Now()) })
	banner, err := c.rd.ReadLine()
	if !stop() {
		return "", fmt.Errorf("ami banner: %w", context.Cause(ctx))
	}
	if err != nil {
		return "", fmt.Errorf("ami banner: %w", err)
	}
	if !strings.HasPrefix(banner, "Asterisk Call Manager") {
		return "", fmt.Errorf("ami banner %q: %w", banner, ErrProtocol)
	}
	return banner, nil
}

// Banner returns the greeting line, e.g. "Asterisk Call Manager/11.0.0".
// The version in it is the AMI protocol's, not Asterisk's.
func (c *Client) Banner() string { return c.banner }

// Close closes the connection without sending Logoff, fails every pending
// action with an error wrapping ErrClosed and waits for the client's
// goroutines to exit. Queued events stay readable through NextEvent.
func (c *Client) Close() error {
	c.shutdown(nil)
	c.wg.Wait()
	return nil
}

// Done returns a channel closed when the connection is gone.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is up, then why it closed; the error
// always wraps ErrClosed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// shutdown closes the client once: it records why, closes Done, fails all
// pending requests, closes the event queue and the connection.
func (c *Client) shutdown(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = ErrClosed
	if cause != nil {
		c.err = fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	// Done is closed before any request learns of the loss, so that whoever
	// sees ErrClosed and asks for a client again (Link) never gets this one.
	close(c.done)
	for _, req := range c.pending {
		if !req.finished() {
			req.finish(fmt.Errorf("ami %s (id %s): %w", req.action, req.id, c.err))
		}
	}
	c.pending = nil
	c.events.close(c.err)
	c.mu.Unlock()
	c.conn.Close()
}

// readLoop is the single reader: it parses messages and routes them until
// the connection fails.
func (c *Client) readLoop() {
	defer c.wg.Done()
	for {
		if c.opts.ReadTimeout > 0 {
			c.conn.SetReadDeadline(time.Now().Add(c.opts.ReadTimeout))
		}
		m, err := c.rd.ReadMessage()
		if err != nil {
			c.shutdown(readError(err))
			return
		}
		c.route(m)
	}
}

// readError describes why reading stopped.
func readError(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("read: %w: %w", ErrTimeout, err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("read: closed by server: %w", err)
	}
	return fmt.Errorf("read: %w", err)
}

// writeLoop is the single writer. It batches whatever actions are queued
// into one write, preserving their order.
func (c *Client) writeLoop() {
	defer c.wg.Done()
	var batch []byte
	for {
		select {
		case <-c.done:
			return
		case b := <-c.wq:
			batch = append(batch[:0], b...)
		}
	more:
		for len(batch) < 64<<10 {
			select {
			case b := <-c.wq:
				batch = append(batch, b...)
			default:
				break more
			}
		}
		if _, err := c.conn.Write(batch); err != nil {
			c.shutdown(fmt.Errorf("write: %w", err))
			return
		}
	}
}

// keepAlive pings every d and closes the connection when a ping goes
// unanswered for d.
func (c *Client) keepAlive(d time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		err := c.Ping(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			c.shutdown(fmt.Errorf("keepalive: %w: %w", ErrTimeout, err))
			return
		}
	}
}

// nextID returns a fresh ActionID.
func (c *Client) nextID() string {
	return c.opts.ActionIDPrefix + strconv.FormatUint(c.seq.Add(1), 10)
}
