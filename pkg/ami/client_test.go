package ami

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestBannerErrors(t *testing.T) {
	cc, sc := net.Pipe()
	go sc.Write([]byte("HTTP/1.1 400 Bad Request\r\n"))
	if _, err := NewClient(cc, Options{}); !errors.Is(err, ErrProtocol) {
		t.Errorf("bad banner: %v", err)
	}
	sc.Close()

	cc, sc = net.Pipe()
	defer sc.Close()
	start := time.Now()
	if _, err := NewClient(cc, Options{HandshakeTimeout: 50 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("handshake timeout ignored")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, ln.Addr().String(), Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a silent listener: %v", err)
	}
}

func TestBannerAndCleanClose(t *testing.T) {
	c, _, _ := newPipe(t, Options{})
	if c.Banner() != "Asterisk Call Manager/11.0.0" || c.Err() != nil {
		t.Fatalf("banner %q err %v", c.Banner(), c.Err())
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed while open")
	default:
	}
	c.Close()
	c.Close() // idempotent
	<-c.Done()
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestKeepAliveDetectsDeadServer(t *testing.T) {
	c, srv, _ := newPipe(t, Options{KeepAlive: 50 * time.Millisecond})
	go func() { // read the pings and never answer
		for {
			if _, err := srv.r.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("keepalive did not close the connection")
	}
	if !errors.Is(c.Err(), ErrTimeout) || !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestKeepAliveKeepsLiveConnection(t *testing.T) {
	c, srv, _ := newPipe(t, Options{KeepAlive: 20 * time.Millisecond, ReadTimeout: 200 * time.Millisecond})
	go func() {
		for {
			m, err := srv.r.ReadMessage()
			if err != nil {
				return
			}
			srv.conn.Write([]byte("Response: Error\r\nActionID: " + m.Get("ActionID") + "\r\nMessage: Permission denied\r\n\r\n"))
		}
	}()
	time.Sleep(500 * time.Millisecond) // several keepalive periods; the point is that nothing happens
	if err := c.Err(); err != nil {
		t.Fatalf("closed: %v", err)
	}
}

func TestReadTimeout(t *testing.T) {
	c, _, _ := newPipe(t, Options{ReadTimeout: 50 * time.Millisecond})
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("read timeout did not close the connection")
	}
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestLogoffAndCommand(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	ch := make(chan []string, 1)
	go func() {
		out, _ := c.Command(ctx, "core show version")
		ch <- out
	}()
	id := srv.next().Get("ActionID")
	srv.send("Response: Follows\nActionID: " + id + "\nPrivilege: Command\nAsterisk 1.8 on x86_64\n--END COMMAND--")
	if got := <-ch; !reflect.DeepEqual(got, []string{"Asterisk 1.8 on x86_64"}) {
		t.Errorf("old-style output %q", got)
	}
	go func() {
		m := srv.next()
		srv.send("Response: Goodbye\nActionID: " + m.Get("ActionID") + "\nMessage: Thanks for all the fish.")
		srv.conn.Close()
	}()
	if err := c.Logoff(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}

func TestCoreStatusDecoding(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ch := make(chan CoreStatus, 1)
	go func() {
		st, _ := c.CoreStatus(testCtx(t))
		ch <- st
	}()
	id := srv.next().Get("ActionID")
	srv.send("Response: Success\nActionID: " + id + "\nCoreStartupDate: 2026-11-25\nCoreStartupTime: 04:24:52\n" +
		"CoreReloadDate: 2026-11-25\nCoreReloadTime: 04:30:00\nCoreCurrentCalls: 3\nCoreProcessedCalls: 9")
	st := <-ch
	if st.Startup != time.Date(2026, 11, 25, 4, 24, 52, 0, time.Local) ||
		st.Reload != time.Date(2026, 11, 25, 4, 30, 0, 0, time.Local) || st.CurrentCalls != 3 {
		t.Errorf("%+v", st)
	}
}
