package ami

import (
	"errors"
	"testing"
)

func TestUserEvent(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- c.UserEvent(ctx, "QueuesyncPeerDown", Header{Key: "Peer", Value: "sop2"}) }()
	m := srv.next()
	if m.Get("Action") != "UserEvent" || m.Get("UserEvent") != "QueuesyncPeerDown" || m.Get("Peer") != "sop2" {
		t.Fatalf("action sent = %+v", m.Headers)
	}
	srv.send("Response: Success\nActionID: " + m.Get("ActionID") + "\nMessage: Event Sent")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var he *HeaderError
	if err := c.UserEvent(ctx, "QueuesyncDrift", Header{Key: "Reason", Value: "a\r\nAction: Logoff"}); !errors.As(err, &he) {
		t.Fatalf("UserEvent with CRLF in a value = %v, want a *HeaderError", err)
	}
}
