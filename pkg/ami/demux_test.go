package ami

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDemuxInterleavedEvents(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	calls := map[string]<-chan result{}
	for _, name := range []string{"A1", "A2", "A3"} {
		calls[name] = goDo(ctx, c, Action{Name: name})
	}
	ids := srv.nextN(3)
	srv.send("Event: E1\nX: 1",
		"Response: Success\nActionID: "+ids["A3"]+"\nName: A3",
		"Event: E2\nActionID: "+ids["A1"], // event with a pending non-list ActionID: unsolicited
		"Response: Success\nActionID: "+ids["A2"]+"\nName: A2",
		"Event: E3\nActionID: unknown-7",
		"Response: Success\nActionID: unknown-8", // stray response: dropped
		"Response: Success\nActionID: "+ids["A1"]+"\nName: A1")
	for name, ch := range calls {
		r := await(t, ch)
		if r.err != nil || r.msg.Get("Name") != name || r.msg.Get("ActionID") != ids[name] {
			t.Errorf("%s got %v:\n%s", name, r.err, r.msg)
		}
	}
}

func TestDemuxEventsQueueInOrder(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	ch := goDo(ctx, c, Action{Name: "Ping"})
	id := srv.next().Get("ActionID")
	srv.send("Event: E1", "Event: E2\nActionID: "+id, "Event: E3\nActionID: unknown",
		"Response: Success\nActionID: "+id+"\nPing: Pong")
	if r := await(t, ch); r.err != nil || r.msg.Get("Ping") != "Pong" {
		t.Fatalf("%v %s", r.err, r.msg)
	}
	var names []string
	for _, ev := range pollEvents(c) {
		names = append(names, ev.Event())
	}
	if strings.Join(names, ",") != "E1,E2,E3" {
		t.Errorf("events %q", names)
	}
}

func TestListWithConcurrentEvents(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	l1 := goDoList(ctx, c, Action{Name: "QueueStatus"})
	l2 := goDoList(ctx, c, Action{Name: "QueueSummary"})
	ids := srv.nextN(2)
	a, b := ids["QueueStatus"], ids["QueueSummary"]
	srv.send("Response: Success\nActionID: "+a+"\nEventList: start\nMessage: Queue status will follow",
		"Event: QueueParams\nQueue: sales\nActionID: "+a,
		"Event: QueueMemberPause\nInterface: Local/1@x",
		"Response: Success\nActionID: "+b+"\nEventList: start\nMessage: Queue summary will follow",
		"Event: QueueSummary\nQueue: sales\nActionID: "+b,
		"Event: QueueMember\nQueue: sales\nLocation: Local/1@x\nActionID: "+a,
		"Event: QueueMemberPenalty\nInterface: Local/1@x",
		"Event: QueueSummaryComplete\nActionID: "+b+"\nEventList: Complete\nListItems: 1",
		"Event: QueueStatusComplete\nActionID: "+a+"\neventlist: COMPLETE\nListItems: 2",
		"Event: After")
	r1, r2 := await(t, l1), await(t, l2)
	if r1.err != nil || len(r1.items) != 2 || r1.items[1].Get("Location") != "Local/1@x" || r1.msg.Get("EventList") != "start" {
		t.Errorf("QueueStatus: %v %d items", r1.err, len(r1.items))
	}
	if r2.err != nil || len(r2.items) != 1 || r2.items[0].Event() != "QueueSummary" {
		t.Errorf("QueueSummary: %v %d items", r2.err, len(r2.items))
	}
	ev, err := c.NextEvent(ctx)
	if err != nil || ev.Event() != "QueueMemberPause" {
		t.Errorf("first unsolicited event %q, %v", ev.Event(), err)
	}
}

func TestListFraming(t *testing.T) {
	tests := []struct {
		name  string
		msgs  []string // %[1]s is the ActionID
		items int
		err   error
	}{
		{"asterisk 11 bare complete", []string{
			"Response: Success\nActionID: %[1]s\nMessage: Queue status will follow",
			"Event: QueueMember\nActionID: %[1]s",
			"Event: QueueStatusComplete\nActionID: %[1]s"}, 1, nil},
		{"no list follows", []string{"Response: Success\nActionID: %[1]s\nPing: Pong"}, 0, nil},
		{"error response", []string{"Response: Error\nActionID: %[1]s\nMessage: Permission denied"}, 0, ErrPermission},
		{"empty list", []string{
			"Response: Success\nActionID: %[1]s\nEventList: start\nMessage: Queue status will follow",
			"Event: QueueStatusComplete\nActionID: %[1]s\nEventList: Complete\nListItems: 0"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, _ := newPipe(t, Options{})
			ch := goDoList(testCtx(t), c, Action{Name: "QueueStatus"})
			id := srv.next().Get("ActionID")
			for _, m := range tt.msgs {
				srv.send(fmt.Sprintf(m, id))
			}
			r := await(t, ch)
			if !errors.Is(r.err, tt.err) || (tt.err == nil && r.err != nil) || len(r.items) != tt.items {
				t.Errorf("err %v (want %v), %d items (want %d)", r.err, tt.err, len(r.items), tt.items)
			}
		})
	}
}

func TestDoOnListActionDrainsItems(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ch := goDo(testCtx(t), c, Action{Name: "QueueStatus"})
	id := srv.next().Get("ActionID")
	srv.send("Response: Success\nActionID: "+id+"\nEventList: start\nMessage: Queue status will follow",
		"Event: QueueParams\nActionID: "+id,
		"Event: QueueStatusComplete\nActionID: "+id+"\nEventList: Complete",
		"Event: Unsolicited")
	if r := await(t, ch); r.err != nil || r.msg.Get("EventList") != "start" {
		t.Fatalf("%v", r.err)
	}
	ev, err := c.NextEvent(testCtx(t))
	if err != nil || ev.Event() != "Unsolicited" {
		t.Fatalf("first event %q, %v: list items leaked", ev.Event(), err)
	}
}

func TestDisconnectFailsAllPending(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx := testCtx(t)
	var calls []<-chan result
	for i := range 5 {
		calls = append(calls, goDo(ctx, c, Action{Name: fmt.Sprint("A", i)}))
	}
	calls = append(calls, goDoList(ctx, c, Action{Name: "QueueStatus"}))
	srv.nextN(6)
	srv.send("Event: E1", "Event: E2")
	srv.conn.Close()
	for i, ch := range calls {
		if r := await(t, ch); !errors.Is(r.err, ErrClosed) {
			t.Errorf("call %d: %v, want ErrClosed", i, r.err)
		}
	}
	<-c.Done()
	if err := c.Err(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("Err() = %v", err)
	}
	for _, want := range []string{"E1", "E2"} {
		if ev, err := c.NextEvent(ctx); err != nil || ev.Event() != want {
			t.Fatalf("after close got %q, %v; want queued %s", ev.Event(), err, want)
		}
	}
	if _, err := c.NextEvent(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("NextEvent after drain: %v", err)
	}
	if _, err := c.Do(ctx, Action{Name: "Ping"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after close: %v", err)
	}
}

func TestContextTimeoutDiscardsLateResponse(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	ch := goDo(ctx, c, Action{Name: "Slow"})
	id := srv.next().Get("ActionID")
	r := await(t, ch)
	if !errors.Is(r.err, context.DeadlineExceeded) || !strings.Contains(r.err.Error(), "ami Slow (id "+id+")") {
		t.Fatalf("err %v", r.err)
	}
	lch := goDoList(ctx, c, Action{Name: "SlowList"}) // ctx is already done: not sent
	if r := await(t, lch); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("list err %v", r.err)
	}
	srv.send("Response: Success\nActionID: " + id + "\nEventList: start\nMessage: will follow")
	srv.send("Event: Item\nActionID: "+id, "Event: ItemComplete\nActionID: "+id+"\nEventList: Complete")
	ping := goDo(testCtx(t), c, Action{Name: "Ping"})
	pid := srv.next().Get("ActionID")
	srv.send("Response: Success\nActionID: " + pid)
	if r := await(t, ping); r.err != nil {
		t.Fatal(r.err)
	}
	if evs := pollEvents(c); len(evs) != 0 {
		t.Errorf("late list leaked %d events: %v", len(evs), evs)
	}
}

func TestAbandonedListDiscardsItems(t *testing.T) {
	c, srv, _ := newPipe(t, Options{})
	ctx, cancel := context.WithCancel(testCtx(t))
	ch := goDoList(ctx, c, Action{Name: "QueueStatus"})
	id := srv.next().Get("ActionID")
	srv.send("Response: Success\nActionID: "+id+"\nEventList: start", "Event: QueueMember\nActionID: "+id)
	cancel()
	if r := await(t, ch); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err %v", r.err)
	}
	srv.send("Event: QueueMember\nActionID: "+id, "Event: QueueStatusComplete\nActionID: "+id+"\nEventList: Complete",
		"Event: QueueMember\nActionID: "+id) // after completion, the id is unknown: unsolicited
	ev, err := c.NextEvent(testCtx(t))
	if err != nil || ev.Event() != "QueueMember" {
		t.Fatalf("%v %v", ev, err)
	}
	if evs := pollEvents(c); len(evs) != 0 {
		t.Errorf("items of the abandoned list leaked: %d", len(evs))
	}
}

func TestEventOverflowGap(t *testing.T) {
	c, srv, _ := newPipe(t, Options{EventBuffer: 4})
	ch := goDo(testCtx(t), c, Action{Name: "Ping"})
	id := srv.next().Get("ActionID")
	var evs []string
	for i := 1; i <= 10; i++ {
		evs = append(evs, fmt.Sprintf("Event: E%d", i))
	}
	srv.send(evs...)
	srv.send("Response: Success\nActionID: " + id)
	if r := await(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
	var got []string
	for _, ev := range pollEvents(c) {
		if ev.Gap {
			if len(ev.Headers) != 0 {
				t.Error("gap event carries a message")
			}
			got = append(got, "GAP")
			continue
		}
		got = append(got, ev.Event())
	}
	if strings.Join(got, ",") != "GAP,E9,E10" {
		t.Errorf("events %q, want GAP,E9,E10", got)
	}
}

func TestSlowConsumerNeverBlocksReader(t *testing.T) {
	c, srv, _ := newPipe(t, Options{EventBuffer: 8})
	ch := goDo(testCtx(t), c, Action{Name: "Ping"})
	id := srv.next().Get("ActionID")
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "Event: QueueMemberPause\r\nN: %d\r\n\r\n", i)
	}
	if _, err := srv.conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	srv.send("Response: Success\nActionID: " + id)
	if r := await(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
	first, err := c.NextEvent(testCtx(t))
	if err != nil || !first.Gap {
		t.Fatalf("first event %+v, %v; want a gap", first, err)
	}
	if n := len(pollEvents(c)); n == 0 || n > 8 {
		t.Errorf("%d events after the gap, want 1..8", n)
	}
	srv.conn.Close()
	<-c.Done()
	if _, err := c.NextEvent(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestGapReportedAfterClose(t *testing.T) {
	c, srv, _ := newPipe(t, Options{EventBuffer: 1})
	srv.send("Event: E1", "Event: E2")
	srv.conn.Close()
	<-c.Done()
	var got []string
	for {
		ev, err := c.NextEvent(testCtx(t))
		if errors.Is(err, ErrClosed) {
			break
		}
		got = append(got, fmt.Sprintf("%v %s", ev.Gap, ev.Event()))
	}
	if strings.Join(got, ",") != "true ,false E2" {
		t.Errorf("got %q", got)
	}
}
