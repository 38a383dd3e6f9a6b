package ami_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// memberEventKeys is the header set of every QueueMember* event of Asterisk
// 22, in order, without the optional SystemName.
var memberEventKeys = []string{"Event", "Privilege", "Queue", "MemberName", "Interface",
	"StateInterface", "Membership", "Penalty", "CallsTaken", "LastCall", "LastPause", "LoginTime",
	"InCall", "Status", "Paused", "PausedReason", "Ringinuse", "Wrapuptime"}

// checkEventKeys compares an event's header names with memberEventKeys.
// memberEvent waits on C2 for the member event name of iface in queue,
// checks its headers and decodes it.
func memberEvent(t *testing.T, h *harness, name, queue, iface string) ami.QueueMember {
	t.Helper()
	ev := expect(t, h.C2, name, queue, iface)
	checkEventKeys(t, ev)
	return ami.DecodeQueueMember(ev.Message)
}

func checkEventKeys(t *testing.T, ev ami.Event) {
	t.Helper()
	var keys []string
	for _, hd := range ev.Headers {
		if hd.Key != "SystemName" {
			keys = append(keys, hd.Key)
		}
	}
	if !slices.Equal(keys, memberEventKeys) || ev.Get("Privilege") != "agent,all" {
		t.Errorf("event headers %q, want %q with Privilege agent,all", keys, memberEventKeys)
	}
}

func scStatusMany(t *testing.T, h *harness) {
	var ifaces []string
	want := make(map[string]ami.QueueMember)
	for i := range 5 {
		iface := h.iface(t)
		ifaces = append(ifaces, iface)
		r := ami.QueueAddRequest{Queue: "billing", Interface: iface, MemberName: fmt.Sprintf("Agent %d, Jr.", i),
			Penalty: i, Paused: i%2 == 1, Reason: strings.Repeat("r", i)}
		h.add(t, r)
		want["billing "+iface] = ami.QueueMember{Queue: "billing", Interface: iface, Name: r.MemberName,
			StateInterface: iface, Membership: "dynamic", Penalty: i, Paused: r.Paused, PausedReason: r.Reason}
	}
	st, err := h.C.QueueStatus(ctxFor(t), "billing", "")
	if err != nil {
		t.Fatal(err)
	}
	got := members(st, ifaces...)
	if len(got) != len(want) {
		t.Fatalf("got %d of our members, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		checkMember(t, k, got[k], w)
	}
}

func scAddEvent(t *testing.T, h *harness) {
	iface := h.iface(t)
	state := "Custom:" + strings.TrimPrefix(strings.TrimSuffix(iface, "@agents"), "Local/")
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Alice",
		StateInterface: state, Penalty: 2, Paused: true, Reason: "lunch"})
	m := memberEvent(t, h, "QueueMemberAdded", "sales", iface)
	checkMember(t, "event", m, ami.QueueMember{Queue: "sales", Interface: iface, Name: "Alice",
		StateInterface: state, Membership: "dynamic", Penalty: 2, Paused: true, PausedReason: "lunch",
		Ringinuse: boolp(true)})
	if m.LastPause == 0 || m.LoginTime == 0 || m.Status != 0 {
		t.Errorf("LastPause %d LoginTime %d Status %d; want set, set, 0 (Custom: never set)", m.LastPause, m.LoginTime, m.Status)
	}
}

func scAddDefaults(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberAdded", "sales", iface).Message)
	checkMember(t, "event", m, ami.QueueMember{Queue: "sales", Interface: iface, Name: iface,
		StateInterface: iface, Membership: "dynamic", Ringinuse: boolp(true)})
	if m.Status != 1 || m.LastPause != 0 {
		t.Errorf("Status %d LastPause %d; want 1 (Local/ is not in use), 0", m.Status, m.LastPause)
	}
}

func scAddErrors(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	err := h.C.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	expectErr(t, "add twice", err, ami.ErrAlreadyThere)
	var re *ami.ResponseError
	if !errors.As(err, &re) || re.Message != "Unable to add interface: Already there" || re.Action != "QueueAdd" {
		t.Errorf("error %#v", err)
	}
	err = h.C.QueueAdd(ctx, ami.QueueAddRequest{Queue: "support", Interface: "Local/2000@agents"})
	expectErr(t, "add the static member", err, ami.ErrAlreadyThere)
	err = h.C.QueueAdd(ctx, ami.QueueAddRequest{Queue: "nosuchqueue", Interface: iface})
	expectErr(t, "add to unknown queue", err, ami.ErrNoSuchQueue)
}

func scRemove(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Bob", Paused: true, Reason: "x"})
	if err := h.C.QueueRemove(ctxFor(t), "sales", iface); err != nil {
		t.Fatal(err)
	}
	checkMember(t, "event", memberEvent(t, h, "QueueMemberRemoved", "sales", iface), ami.QueueMember{
		Queue: "sales", Interface: iface, Name: "Bob", StateInterface: iface, Membership: "dynamic", Paused: true,
		PausedReason: "x", Ringinuse: boolp(true)})
}

func scRemoveErrors(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	expectErr(t, "remove absent", h.C.QueueRemove(ctx, "sales", iface), ami.ErrNotThere)
	expectErr(t, "remove from unknown queue", h.C.QueueRemove(ctx, "nosuchqueue", iface), ami.ErrNoSuchQueue)
	expectErr(t, "remove static", h.C.QueueRemove(ctx, "support", "Local/2000@agents"), ami.ErrNotDynamic)
}

func scPause(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface, MemberName: "Carol", Penalty: 3})
	if err := h.C.QueuePause(ctxFor(t), "sales", iface, true, "break"); err != nil {
		t.Fatal(err)
	}
	m := memberEvent(t, h, "QueueMemberPause", "sales", iface)
	checkMember(t, "event", m, ami.QueueMember{Queue: "sales", Interface: iface, Name: "Carol",
		StateInterface: iface, Membership: "dynamic", Penalty: 3, Paused: true, PausedReason: "break",
		Ringinuse: boolp(true)})
	if m.LastPause == 0 {
		t.Error("LastPause not set by a pause")
	}
}

func scPauseErrors(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	expectErr(t, "pause absent interface", h.C.QueuePause(ctx, "sales", iface, true, ""), ami.ErrInterfaceNotFound)
	expectErr(t, "pause absent interface, all queues", h.C.QueuePause(ctx, "", iface, true, ""), ami.ErrInterfaceNotFound)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	expectErr(t, "pause in unknown queue", h.C.QueuePause(ctx, "nosuchqueue", iface, true, ""), ami.ErrInterfaceNotFound)
}

func scPauseNoop(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	for _, paused := range []bool{true, true, false, false} {
		if err := h.C.QueuePause(ctx, "sales", iface, paused, ""); err != nil {
			t.Fatal(err)
		}
		m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberPause", "sales", iface).Message)
		if m.Paused != paused {
			t.Fatalf("event Paused = %v, want %v", m.Paused, paused)
		}
	}
}

func scPauseAllQueues(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	h.add(t, ami.QueueAddRequest{Queue: "billing", Interface: iface})
	if err := h.C.QueuePause(ctxFor(t), "", iface, true, "away"); err != nil {
		t.Fatal(err)
	}
	expectEach(t, h.C2, "QueueMemberPause", iface, "sales", "billing")
	st, err := h.C.QueueStatus(ctxFor(t), "", iface)
	if err != nil {
		t.Fatal(err)
	}
	got := members(st, iface)
	for _, q := range []string{"sales", "billing"} {
		if m := got[q+" "+iface]; !m.Paused || m.PausedReason != "away" {
			t.Errorf("%s: %+v, want paused with reason away", q, m)
		}
	}
}

func scReasonRoundTrip(t *testing.T, h *harness) {
	iface := h.iface(t)
	reason := "coffee: back in 5, then lunch: 1h,ok"
	h.add(t, ami.QueueAddRequest{Queue: "support", Interface: iface, Paused: true, Reason: reason})
	if m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberAdded", "support", iface).Message); m.PausedReason != reason {
		t.Errorf("QueueAdd event reason %q", m.PausedReason)
	}
	reason2 := "a: b: c, d"
	if err := h.C.QueuePause(ctxFor(t), "support", iface, true, reason2); err != nil {
		t.Fatal(err)
	}
	if m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberPause", "support", iface).Message); m.PausedReason != reason2 {
		t.Errorf("QueuePause event reason %q", m.PausedReason)
	}
	st, err := h.C.QueueStatus(ctxFor(t), "support", iface)
	if err != nil {
		t.Fatal(err)
	}
	if m := members(st, iface)["support "+iface]; m.PausedReason != reason2 {
		t.Errorf("QueueStatus reason %q, want %q", m.PausedReason, reason2)
	}
}

func scReasonSemantics(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface, Reason: "ignored?"})
	steps := []struct {
		paused     bool
		reason     string
		wantReason string
	}{{true, "away", "away"}, {false, "back", "back"}, {false, "", ""}}
	if m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberAdded", "sales", iface).Message); m.Paused || m.PausedReason != "ignored?" {
		t.Errorf("add with reason, unpaused: %+v", m)
	}
	for _, s := range steps {
		if err := h.C.QueuePause(ctx, "sales", iface, s.paused, s.reason); err != nil {
			t.Fatal(err)
		}
		m := ami.DecodeQueueMember(expect(t, h.C2, "QueueMemberPause", "sales", iface).Message)
		if m.Paused != s.paused || m.PausedReason != s.wantReason {
			t.Errorf("pause %v %q: got paused %v reason %q", s.paused, s.reason, m.Paused, m.PausedReason)
		}
	}
}

func scPenalty(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	for _, p := range []int{7, 7, 0} {
		if err := h.C.QueuePenalty(ctx, "sales", iface, p); err != nil {
			t.Fatal(err)
		}
		if got := memberEvent(t, h, "QueueMemberPenalty", "sales", iface).Penalty; got != p {
			t.Errorf("penalty %d, want %d", got, p)
		}
	}
}

func scPenaltyErrors(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	expectErr(t, "unknown interface", h.C.QueuePenalty(ctx, "sales", iface, 1), ami.ErrInvalid)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	expectErr(t, "penalty -1", h.C.QueuePenalty(ctx, "sales", iface, -1), ami.ErrInvalid)
	expectErr(t, "unknown queue", h.C.QueuePenalty(ctx, "nosuchqueue", iface, 1), ami.ErrInvalid)
}

func scRingInUse(t *testing.T, h *harness) {
	ctx, iface := ctxFor(t), h.iface(t)
	err := h.C.QueueMemberRingInUse(ctx, "sales", iface, false)
	expectErr(t, "unknown interface", err, ami.ErrInvalid)
	var re *ami.ResponseError
	if !errors.As(err, &re) || re.Message != "Invalid interface, queuename, or ringinuse value" {
		t.Errorf("error %#v", err)
	}
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	if err := h.C.QueueMemberRingInUse(ctx, "sales", iface, false); err != nil {
		t.Fatal(err)
	}
	if m := memberEvent(t, h, "QueueMemberRinginuse", "sales", iface); m.Ringinuse == nil || *m.Ringinuse {
		t.Errorf("Ringinuse %s, want false", ptr(m.Ringinuse))
	}
}

// pipelinedPause sends n QueuePause actions at once over c and checks that
// every one is answered.
func pipelinedPause(ctx context.Context, c *ami.Client, iface string, n int) error {
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- c.QueuePause(ctx, "sales", iface, i%2 == 0, fmt.Sprint("p", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func scPipelined(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	if err := pipelinedPause(ctxFor(t), h.C, iface, 100); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		expect(t, h.C2, "QueueMemberPause", "sales", iface)
	}
}

func scListWithEvents(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	ctx, cancel := context.WithTimeout(ctxFor(t), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pipelinedPause(ctx, h.C, iface, 50) }()
	for range 20 {
		st, err := h.C2.QueueStatus(ctx, "sales", iface)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Params) != 1 || len(members(st, iface)) != 1 {
			t.Fatalf("QueueStatus during events: %+v", st)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 50 {
		expect(t, h.C2, "QueueMemberPause", "sales", iface)
	}
}

// scRestartReconnect checks what a client sees across "core restart now":
// a Shutdown event, then the close, then a new connection works and
// CoreStatus reports a later startup time. It is run by dedicated tests.
func scRestartReconnect(t *testing.T, h *harness) {
	before, err := h.C.CoreStatus(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	h.restart(t)
	ctx := ctxFor(t)
	sawShutdown := false
	for {
		ev, err := h.C.NextEvent(ctx)
		if errors.Is(err, ami.ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event() == "Shutdown" {
			sawShutdown = ev.Get("Restart") == "True" && ev.Get("Shutdown") == "Cleanly"
		}
	}
	if !sawShutdown {
		t.Error("no Event: Shutdown with Restart: True before the close")
	}
	expectErr(t, "Err()", h.C.Err(), ami.ErrClosed)
	c := redial(t, h)
	after, err := c.CoreStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Startup.After(before.Startup) {
		t.Errorf("startup %v not after %v", after.Startup, before.Startup)
	}
}

// redial dials and logs in again with a ctx-aware backoff until the server
// is back.
func redial(t *testing.T, h *harness) *ami.Client {
	ctx := ctxFor(t)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		c, err := ami.Dial(ctx, h.Addr, ami.Options{})
		if err == nil {
			if err = c.Login(ctx, h.User, h.Secret, "off"); err == nil {
				t.Cleanup(func() { c.Close() })
				return c
			}
			c.Close()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("server not back: %v", err)
		case <-time.After(delay):
		}
	}
}
