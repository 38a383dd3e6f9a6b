package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrBadState: a state line holds a newline inside a value, or no '='.
var ErrBadState = errors.New("not a KEY=VALUE state line")

// Notifier sends state lines to the service manager. The zero value (and a
// Notifier made where NOTIFY_SOCKET is unset) sends nothing.
type Notifier struct {
	addr string
}

// New returns a Notifier for the socket named by getenv("NOTIFY_SOCKET"):
// a path, or an abstract socket written with a leading '@'.
func New(getenv func(string) string) *Notifier {
	return &Notifier{addr: getenv("NOTIFY_SOCKET")}
}

// Enabled reports whether a service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// Notify sends the lines (each KEY=VALUE) in one datagram. It does nothing
// when no service manager listens.
func (n *Notifier) Notify(lines ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, l := range lines {
		if !strings.Contains(l, "=") || strings.Contains(l, "\n") {
			return fmt.Errorf("notify %q: %w", l, ErrBadState)
		}
	}
	addr := n.addr
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify service manager at %s: %w", n.addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("notify service manager at %s: %w", n.addr, err)
	}
	return nil
}

// Ready says the service is up, with a status line.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1", Status(status))
}

// Reloading says a reload began. MONOTONIC_USEC lets systemd (253 and
// later) tell this reload from an earlier one; Ready ends it.
func (n *Notifier) Reloading(status string) error {
	return n.Notify("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", monotonicUsec()), Status(status))
}

// Stopping says the service is shutting down.
func (n *Notifier) Stopping(status string) error {
	return n.Notify("STOPPING=1", Status(status))
}

// Status returns the STATUS= line for s, made one line.
func Status(s string) string {
	return "STATUS=" + strings.Join(strings.Fields(s), " ")
}

func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixMicro()
	}
	return ts.Nano() / 1e3
}
