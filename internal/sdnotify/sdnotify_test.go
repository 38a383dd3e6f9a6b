package sdnotify

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen binds a datagram socket as systemd does and returns its name and
// a function reading one datagram.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	addr := name
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
}

func TestNotifyPathAndAbstract(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@queuesync-test-" + t.Name()} {
		read := listen(t, name)
		n := New(func(k string) string { return map[string]string{"NOTIFY_SOCKET": name}[k] })
		if err := n.Ready("serving 2 peers\n at :8038"); err != nil {
			t.Fatal(err)
		}
		if got, want := read(), "READY=1\nSTATUS=serving 2 peers at :8038\n"; got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
		if err := n.Reloading("reloading"); err != nil {
			t.Fatal(err)
		}
		got := read()
		if !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") || !strings.HasSuffix(got, "\nSTATUS=reloading\n") {
			t.Errorf("reloading: %q", got)
		}
	}
}

func TestNoSocketDoesNothing(t *testing.T) {
	n := New(func(string) string { return "" })
	if n.Enabled() {
		t.Error("enabled without NOTIFY_SOCKET")
	}
	if err := n.Ready("x"); err != nil {
		t.Error(err)
	}
	var zero *Notifier
	if err := zero.Notify("READY=1"); err != nil {
		t.Error(err)
	}
}

func TestBadStateLine(t *testing.T) {
	n := &Notifier{addr: "/nonexistent"}
	if err := n.Notify("READY"); !errors.Is(err, ErrBadState) {
		t.Errorf("got %v, want ErrBadState", err)
	}
}
