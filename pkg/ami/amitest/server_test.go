package amitest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// ctxFor returns a context bounded by 10 s.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pipeClient returns a logged-in client over srv.Pipe().
func pipeClient(t *testing.T, srv *amitest.Server, events string) *ami.Client {
	t.Helper()
	c, err := ami.NewClient(srv.Pipe(), ami.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(ctxFor(t), "queuesync", "queuesync", events); err != nil {
		t.Fatal(err)
	}
	return c
}

// nextMemberEvent waits for the next event named name.
func nextMemberEvent(t *testing.T, c *ami.Client, name string) ami.Event {
	t.Helper()
	for {
		ev, err := c.NextEvent(ctxFor(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if ev.Event() == name {
			return ev
		}
	}
}

func newServer(t *testing.T, opts amitest.ServerOptions) *amitest.Server {
	srv := amitest.NewServer(opts)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestPipeAndMembers(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %q is not loopback", srv.Addr())
	}
	c := pipeClient(t, srv, "off")
	err := c.QueueAdd(ctxFor(t), ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/1", MemberName: "P", Penalty: 4})
	if err != nil {
		t.Fatal(err)
	}
	ms := srv.Members("sales")
	if len(ms) != 1 || ms[0].Name != "P" || ms[0].Penalty != 4 || ms[0].Status != 4 || ms[0].Membership != "dynamic" {
		t.Errorf("Members = %+v", ms)
	}
	if srv.Members("nosuch") != nil || len(srv.Members("support")) != 1 {
		t.Error("Members of unknown/support")
	}
}

func TestAsterisk11Spellings(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{Asterisk11: true})
	c := pipeClient(t, srv, "on")
	ctx := ctxFor(t)
	if err := c.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "SIP/1", MemberName: "Old"}); err != nil {
		t.Fatal(err)
	}
	if err := c.QueuePause(ctx, "sales", "SIP/1", true, "lunch"); err != nil {
		t.Fatal(err)
	}
	ev := nextMemberEvent(t, c, "QueueMemberPaused")
	m := ami.DecodeQueueMember(ev.Message)
	if !ami.IsMemberEvent(ev.Event()) || m.Interface != "SIP/1" || m.Name != "Old" || !m.Paused || m.PausedReason != "lunch" {
		t.Errorf("Asterisk 11 pause event %+v", m)
	}
	st, err := c.QueueStatus(ctx, "sales", "")
	if err != nil || len(st.Members) != 1 || st.Members[0].Interface != "SIP/1" || st.Members[0].LoginTime != 0 {
		t.Fatalf("QueueStatus over Asterisk 11 framing: %+v, %v", st, err)
	}
	err = c.QueueMemberRingInUse(ctx, "sales", "SIP/1", false)
	if !errors.Is(err, ami.ErrUnknownAction) {
		t.Errorf("RingInUse on Asterisk 11: %v", err)
	}
}

func TestRestartPersistence(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "off")
	ctx := ctxFor(t)
	must(t, c.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "Local/1@a", Penalty: 2, Paused: true, Reason: "r"}))
	must(t, c.QueuePenalty(ctx, "sales", "Local/1@a", 7)) // not persisted by Asterisk
	must(t, c.QueuePause(ctx, "support", "Local/2000@agents", true, "static"))
	before := srv.StartupTime()
	srv.Restart(true)
	<-c.Done()
	if !srv.StartupTime().After(before) {
		t.Error("startup time did not move")
	}
	ms := srv.Members("sales")
	if len(ms) != 1 || ms[0].Penalty != 2 || !ms[0].Paused || ms[0].PausedReason != "r" {
		t.Errorf("after restart with persistence: %+v", ms)
	}
	if st := srv.Members("support"); st[0].Paused {
		t.Error("a static member's pause survived a restart")
	}
	srv.Restart(false)
	if ms := srv.Members("sales"); len(ms) != 0 {
		t.Errorf("after restart without persistence: %+v", ms)
	}
}

func TestDeviceStateEvents(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "agent")
	srv.SetDeviceState("Custom:2000", 5)
	ev := nextMemberEvent(t, c, "QueueMemberStatus")
	if ami.IsMemberEvent(ev.Event()) || ami.DecodeQueueMember(ev.Message).Status != 5 {
		t.Errorf("status event:\n%s", ev.Message)
	}
	out, err := c.Command(ctxFor(t), "devstate change Custom:2000 INUSE")
	if err != nil || len(out) != 1 || out[0] != "Changing 2000 to INUSE" {
		t.Fatalf("%q %v", out, err)
	}
	if got := ami.DecodeQueueMember(nextMemberEvent(t, c, "QueueMemberStatus").Message).Status; got != 2 {
		t.Errorf("status %d", got)
	}
}

func TestDropConnectionsAndInject(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "on")
	srv.Inject(ami.Header{Key: "Event", Value: "Custom"}, ami.Header{Key: "X", Value: "a: b"})
	if ev := nextMemberEvent(t, c, "Custom"); ev.Get("X") != "a: b" {
		t.Errorf("injected %s", ev.Message)
	}
	srv.DropConnections()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client not disconnected")
	}
	if !errors.Is(c.Err(), ami.ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestStallLateResponseDiscarded(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "on")
	for ev, err := c.NextEvent(ctxFor(t)); ev.Event() != "SuccessfulAuth"; ev, err = c.NextEvent(ctxFor(t)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.SetStall(true)
	ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
	defer cancel()
	_, err := c.QueueStatus(ctx, "", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled QueueStatus: %v", err)
	}
	srv.SetStall(false)
	if err := c.Ping(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	poll, stop := context.WithCancel(context.Background())
	stop()
	if ev, err := c.NextEvent(poll); err == nil {
		t.Errorf("late list leaked an event:\n%s", ev.Message)
	}
}

func TestRingInUseErrorBytes(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "Action: Login\r\nUsername: queuesync\r\nSecret: queuesync\r\nEvents: off\r\n\r\n"+
		"Action: QueueMemberRingInUse\r\nActionID: r\r\nInterface: Local/9@a\r\nRingInUse: no\r\n\r\n")
	want := "Response: Error\r\nActionID: r\r\nMessage: Invalid interface, queuename, or ringinuse value\n\r\n\r\n"
	buf := make([]byte, 0, 512)
	for !strings.Contains(string(buf), want) {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatalf("read %q: %v", buf, err)
		}
		buf = buf[:len(buf)+n]
	}
}

// must fails the test on error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestActionsCountedPerUser(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "off")
	ctx := ctxFor(t)
	must(t, c.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/1"}))
	must(t, c.QueuePause(ctx, "sales", "PJSIP/1", true, ""))
	must(t, c.QueuePause(ctx, "sales", "PJSIP/1", true, "")) // a no-op still counts
	if err := c.QueueRemove(ctx, "sales", "PJSIP/9"); !errors.Is(err, ami.ErrNotThere) {
		t.Fatalf("remove: %v", err)
	}
	if _, err := c.Do(ctx, ami.Action{Name: "queuepenalty", Headers: []ami.Header{{Key: "Interface", Value: "PJSIP/1"}, {Key: "Penalty", Value: "2"}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"QueueAdd": 1, "QueuePause": 2, "QueueRemove": 1, "QueuePenalty": 1}
	got := srv.Actions("QueueSync")
	if len(got) != len(want) {
		t.Errorf("Actions = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Actions[%s] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if n := len(srv.Actions("queuesync-min")); n != 0 {
		t.Errorf("another user's actions: %d", n)
	}
}

func TestHeldWhileStalled(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "off")
	srv.SetStall(true)
	errc := make(chan error, 1)
	go func() { errc <- c.Ping(ctxFor(t)) }()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Held() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Held = %d, want 1", srv.Held())
		}
		time.Sleep(time.Millisecond)
	}
	srv.SetStall(false)
	must(t, <-errc)
	if n := srv.Held(); n != 0 {
		t.Errorf("Held after the stall = %d", n)
	}
}

// An action that reaches a connection the restart is closing belongs to the
// Asterisk that is gone: it must not change the restarted model.
func TestActionOnConnectionClosedByRestartIgnored(t *testing.T) {
	srv := newServer(t, amitest.ServerOptions{})
	c := pipeClient(t, srv, "off")
	srv.SetStall(true) // the add is read, then held until after the restart
	errc := make(chan error, 1)
	go func() {
		errc <- c.QueueAdd(ctxFor(t), ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/1"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Held() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the add never reached the server")
		}
		time.Sleep(time.Millisecond)
	}
	srv.Restart(false)
	srv.SetStall(false)
	if err := <-errc; !errors.Is(err, ami.ErrClosed) {
		t.Errorf("add on a restarting connection: %v, want ErrClosed", err)
	}
	if ms := srv.Members("sales"); len(ms) != 0 {
		t.Errorf("the restarted server holds %+v", ms)
	}
}
