package ami

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestWriterRefusesUnsafeActions(t *testing.T) {
	long := strings.Repeat("x", maxWriteLine-len("Reason: ")+1)
	tests := []struct {
		name   string
		a      Action
		header string
		want   error
	}{
		{"CR in value", Action{Name: "QueuePause", Headers: []Header{{"Reason", "a\rb"}}}, "Reason", ErrUnsafeValue},
		{"LF in value", Action{Name: "QueuePause", Headers: []Header{{"Reason", "a\nAction: Logoff"}}}, "Reason", ErrUnsafeValue},
		{"NUL in value", Action{Name: "QueuePause", Headers: []Header{{"Reason", "a\x00"}}}, "Reason", ErrUnsafeValue},
		{"LF in name", Action{Name: "QueuePause", Headers: []Header{{"Re\nason", "x"}}}, "Re\nason", ErrUnsafeValue},
		{"colon in name", Action{Name: "QueuePause", Headers: []Header{{"A: B", "x"}}}, "A: B", ErrUnsafeValue},
		{"empty name", Action{Name: "QueuePause", Headers: []Header{{"", "x"}}}, "", ErrUnsafeValue},
		{"CR in action", Action{Name: "Ping\r\nAction: Logoff"}, "Action", ErrUnsafeValue},
		{"empty action", Action{}, "Action", ErrUnsafeValue},
		{"line too long", Action{Name: "QueuePause", Headers: []Header{{"Interface", "x"}, {"Reason", long}}}, "Reason", ErrLineTooLong},
		{"ActionID set", Action{Name: "Ping", Headers: []Header{{"ActionID", "mine"}}}, "ActionID", ErrReservedHeader},
		{"Action set", Action{Name: "Ping", Headers: []Header{{"action", "Logoff"}}}, "action", ErrReservedHeader},
	}
	c, _, counted := newPipe(t, Options{})
	for _, tt := range tests {
		_, err := c.Do(context.Background(), tt.a)
		var he *HeaderError
		if !errors.Is(err, tt.want) || !errors.As(err, &he) || he.Header != tt.header {
			t.Errorf("%s: err %v, want %v naming %q", tt.name, err, tt.want, tt.header)
		}
	}
	if n := counted.written.Load(); n != 0 {
		t.Errorf("%d bytes written for refused actions", n)
	}
	if err := pauseWithInjection(c); !errors.Is(err, ErrUnsafeValue) || !strings.Contains(err.Error(), `header "Reason"`) {
		t.Errorf("QueuePause helper: %v", err)
	}
	if n := counted.written.Load(); n != 0 {
		t.Errorf("%d bytes written", n)
	}
}

// pauseWithInjection tries to smuggle a second action through a pause reason.
func pauseWithInjection(c *Client) error {
	return c.QueuePause(context.Background(), "sales", "Local/1@x", true, "x\r\n\r\nAction: Logoff")
}

func TestWriterLineLimitIsInclusive(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	v := strings.Repeat("x", maxWriteLine-len("Reason: "))
	ch := goDo(testCtx(t), c, Action{Name: "Q", Headers: []Header{{"Reason", v}}})
	m := srv.next()
	if m.Get("Reason") != v {
		t.Fatal("1024-byte line not sent intact")
	}
	srv.send("Response: Success\nActionID: " + m.Get("ActionID"))
	if r := await(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestWireFormat(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	go c.QueuePause(testCtx(t), "sales", "Local/1@x", true, "coffee: back in 5, ok")
	want := "Action: QueuePause\r\nActionID: qs-1\r\nInterface: Local/1@x\r\nQueue: sales\r\n" +
		"Paused: true\r\nReason: coffee: back in 5, ok\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(srv.conn, got); err != nil || string(got) != want {
		t.Fatalf("wire %q, %v", got, err)
	}
}

func TestHelpersSendHeaders(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
		want []Header
	}{
		{"QueueAdd full", func(ctx context.Context, c *Client) error {
			return c.QueueAdd(ctx, QueueAddRequest{Queue: "q", Interface: "i", MemberName: "n",
				StateInterface: "s", Penalty: 2, Paused: true, Reason: "r"})
		}, h("Action", "QueueAdd", "Queue", "q", "Interface", "i", "MemberName", "n",
			"StateInterface", "s", "Penalty", "2", "Paused", "true", "Reason", "r")},
		{"QueueAdd minimal", func(ctx context.Context, c *Client) error {
			return c.QueueAdd(ctx, QueueAddRequest{Queue: "q", Interface: "i"})
		}, h("Action", "QueueAdd", "Queue", "q", "Interface", "i", "Penalty", "0", "Paused", "false")},
		{"QueueRemove", func(ctx context.Context, c *Client) error { return c.QueueRemove(ctx, "q", "i") },
			h("Action", "QueueRemove", "Queue", "q", "Interface", "i")},
		{"QueuePause all queues", func(ctx context.Context, c *Client) error { return c.QueuePause(ctx, "", "i", false, "") },
			h("Action", "QueuePause", "Interface", "i", "Paused", "false")},
		{"QueuePenalty", func(ctx context.Context, c *Client) error { return c.QueuePenalty(ctx, "q", "i", 7) },
			h("Action", "QueuePenalty", "Interface", "i", "Penalty", "7", "Queue", "q")},
		{"RingInUse", func(ctx context.Context, c *Client) error { return c.QueueMemberRingInUse(ctx, "", "i", false) },
			h("Action", "QueueMemberRingInUse", "Interface", "i", "RingInUse", "false")},
		{"Login", func(ctx context.Context, c *Client) error { return c.Login(ctx, "u", "s", "agent") },
			h("Action", "Login", "Username", "u", "Secret", "s", "Events", "agent")},
		{"Login default events", func(ctx context.Context, c *Client) error { return c.Login(ctx, "u", "s", "") },
			h("Action", "Login", "Username", "u", "Secret", "s")},
		{"QueueStatus filters", func(ctx context.Context, c *Client) error {
			_, err := c.QueueStatus(ctx, "q", "m")
			return err
		}, h("Action", "QueueStatus", "Queue", "q", "Member", "m")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, _ := newPipe(t, Options{})
			errc := make(chan error, 1)
			go func() { errc <- tt.call(testCtx(t), c) }()
			m := srv.next()
			id := m.Get("ActionID")
			got := append(m.Headers[:1:1], m.Headers[2:]...)
			if !reflect.DeepEqual(got, tt.want) || m.Headers[1].Key != "ActionID" {
				t.Errorf("sent %v, want %v with ActionID second", m.Headers, tt.want)
			}
			srv.send("Response: Success\nActionID: "+id+"\nMessage: ok",
				"Event: XComplete\nActionID: "+id+"\nEventList: Complete")
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}
