package ami_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// A change whose answer is lost with the connection is carried out once:
// the Link reads the member back on a fresh connection and sends the
// change again only when it is not there. A Client reports such a loss as
// ErrUnanswered.
func TestLinkChangeAnswerLost(t *testing.T) {
	srv, l, ctx := linkOnFake(t)
	if err := l.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/1001", MemberName: "Alice"}); err != nil {
		t.Fatal(err)
	}

	// Carried out, answer lost: not sent again.
	srv.LoseAnswer("QueuePause")
	if err := l.QueuePause(ctx, "sales", "PJSIP/1001", true, "lunch"); err != nil {
		t.Fatalf("pause with its answer lost: %v", err)
	}
	if n := srv.Actions("queuesync-min")["QueuePause"]; n != 1 {
		t.Errorf("QueuePause sent %d times, want once", n)
	}
	srv.LoseAnswer("QueuePenalty")
	if err := l.QueuePenalty(ctx, "sales", "PJSIP/1001", 4); err != nil {
		t.Fatal(err)
	}
	if n := srv.Actions("queuesync-min")["QueuePenalty"]; n != 1 {
		t.Errorf("QueuePenalty sent %d times, want once", n)
	}
	for _, m := range srv.Members("sales") {
		if m.Interface == "PJSIP/1001" && (!m.Paused || m.PausedReason != "lunch" || m.Penalty != 4) {
			t.Errorf("member %+v", m)
		}
	}

	// A bare Client says the action may have been carried out.
	cl, err := srv.Dial(ctx, "queuesync-min", "off")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srv.LoseAnswer("QueueRemove")
	err = cl.QueueRemove(ctx, "sales", "PJSIP/1001")
	if !errors.Is(err, ami.ErrUnanswered) || !errors.Is(err, ami.ErrClosed) {
		t.Fatalf("lost answer: %v, want ErrUnanswered and ErrClosed", err)
	}
	if _, err := cl.QueueStatus(ctx, "sales", ""); errors.Is(err, ami.ErrUnanswered) || !errors.Is(err, ami.ErrClosed) {
		t.Fatalf("action on the closed client: %v, want ErrClosed only (never sent)", err)
	}
}

// A change sent on a connection that died before Asterisk handled it is
// sent again on a fresh one (the read-back shows it missing); when even the
// read-back fails, the change is reported failed, not sent blind.
func TestLinkChangeSentAgainWhenNotCarriedOut(t *testing.T) {
	srv, l, ctx := linkOnFake(t)
	if _, err := l.QueueStatus(ctx, "sales", ""); err != nil {
		t.Fatal(err)
	}
	srv.SetStall(true)
	done := make(chan error, 1)
	go func() { done <- l.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/1002"}) }()
	for srv.Held() == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.DropConnections() // the add was read, never handled
	srv.SetStall(false)
	if err := <-done; err != nil {
		t.Fatalf("add on a connection that died first: %v", err)
	}
	if n := len(srv.Members("sales")); n != 1 {
		t.Fatalf("sales holds %d members, want the one added", n)
	}

	srv.LoseAnswer("QueueRemove")
	srv.LoseAnswer("QueueStatus") // the read-back is lost too
	err := l.QueueRemove(ctx, "sales", "PJSIP/1002")
	if !errors.Is(err, ami.ErrUnanswered) {
		t.Fatalf("remove with its answer and the read-back lost: %v, want ErrUnanswered", err)
	}
	if n := srv.Actions("queuesync-min")["QueueRemove"]; n != 1 {
		t.Errorf("QueueRemove sent %d times, want once", n)
	}
}

// linkOnFake returns a fake Asterisk and a Link to it, closed with the test.
func linkOnFake(t *testing.T) (*amitest.Server, *ami.Link, context.Context) {
	srv := amitest.NewServer(amitest.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	l := srv.Link("queuesync-min", "off")
	t.Cleanup(func() { l.Close(); cancel(); srv.Close() })
	return srv, l, ctx
}
