package ami_test

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// scenarios lists the behaviours that the fake and a real Asterisk 22 must
// share. e2e_test.go runs the same list against the testbed.
func scenarios() []scenario {
	return []scenario{
		{"banner and login", scBannerLogin},
		{"login bad secret", scLoginBadSecret},
		{"login unknown user", scLoginUnknownUser},
		{"action before login", scActionBeforeLogin},
		{"events on sends FullyBooted", scFullyBooted},
		{"events off", scEventsOff},
		{"events agent only", scEventsAgent},
		{"unknown action", scUnknownAction},
		{"command unknown", scCommandUnknown},
		{"minimal user", scMinimalUser},
		{"core status", scCoreStatus},
		{"logoff", scLogoff},
		{"queuestatus unknown queue", scStatusUnknownQueue},
		{"queuestatus static member", scStatusStatic},
		{"queuestatus member filter without match", scStatusFilterNone},
		{"queuestatus many members", scStatusMany},
		{"queueadd event", scAddEvent},
		{"queueadd defaults", scAddDefaults},
		{"queueadd errors", scAddErrors},
		{"queueremove", scRemove},
		{"queueremove errors", scRemoveErrors},
		{"queuepause", scPause},
		{"queuepause errors", scPauseErrors},
		{"no-op pause fires event", scPauseNoop},
		{"pause without queue", scPauseAllQueues},
		{"pause reason round-trips", scReasonRoundTrip},
		{"reason semantics", scReasonSemantics},
		{"queuepenalty", scPenalty},
		{"queuepenalty errors", scPenaltyErrors},
		{"ringinuse", scRingInUse},
		{"pipelined pauses", scPipelined},
		{"list with concurrent events", scListWithEvents},
	}
}

// fakeHarness starts a fresh fake server for one scenario.
func fakeHarness(t *testing.T, opts amitest.ServerOptions) *harness {
	srv := amitest.NewServer(opts)
	t.Cleanup(func() { srv.Close() })
	var n atomic.Int64
	n.Store(7099)
	h := &harness{
		Addr: srv.Addr(), User: "queuesync", Secret: "queuesync", MinUser: "queuesync-min",
		nextIface: func() int { return int(n.Add(1)) },
		restart:   func(*testing.T) { srv.Restart(true) },
	}
	return h.connect(t)
}

// TestScenariosFake runs the shared scenarios against amitest.Server.
func TestScenariosFake(t *testing.T) {
	runScenarios(t, func(t *testing.T) *harness {
		return fakeHarness(t, amitest.ServerOptions{SystemName: "fake0"})
	})
}

// TestReconnectFake runs the restart scenario against the fake.
func TestReconnectFake(t *testing.T) {
	scRestartReconnect(t, fakeHarness(t, amitest.ServerOptions{}))
}

func scBannerLogin(t *testing.T, h *harness) {
	c := h.dial(t)
	if got := c.Banner(); got != "Asterisk Call Manager/11.0.0" {
		t.Errorf("Banner() = %q", got)
	}
	if err := c.Login(ctxFor(t), h.User, h.Secret, "off"); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctxFor(t), h.User, h.Secret, "off"); err != nil {
		t.Fatalf("second login: %v", err) // "Already authenticated" is a success
	}
}

func scLoginBadSecret(t *testing.T, h *harness) {
	c := h.dial(t)
	err := c.Login(ctxFor(t), h.User, h.Secret+"-wrong", "")
	expectErr(t, "login", err, ami.ErrAuth)
	var re *ami.ResponseError
	if !errors.As(err, &re) || re.Message != "Authentication failed" || re.Action != "Login" {
		t.Fatalf("error %#v, want *ResponseError with Authentication failed", err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not close the connection after a failed login")
	}
	expectErr(t, "Err()", c.Err(), ami.ErrClosed)
	expectErr(t, "Ping after close", c.Ping(ctxFor(t)), ami.ErrClosed)
}

func scLoginUnknownUser(t *testing.T, h *harness) {
	c := h.dial(t)
	expectErr(t, "login", c.Login(ctxFor(t), "nosuchuser", "x", "off"), ami.ErrAuth)
}

func scActionBeforeLogin(t *testing.T, h *harness) {
	c := h.dial(t)
	_, err := c.QueueStatus(ctxFor(t), "sales", "")
	expectErr(t, "QueueStatus before login", err, ami.ErrPermission)
	if err := c.Login(ctxFor(t), h.User, h.Secret, "off"); err != nil {
		t.Fatalf("login on the same connection: %v", err)
	}
	if _, err := c.QueueStatus(ctxFor(t), "sales", ""); err != nil {
		t.Fatal(err)
	}
}

func scFullyBooted(t *testing.T, h *harness) {
	c := h.login(t, h.User, "on")
	ev, err := c.NextEvent(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event() != "FullyBooted" || ev.Get("Status") != "Fully Booted" || ev.Get("Privilege") != "system,all" {
		t.Fatalf("first event:\n%s", ev.Message)
	}
}

func scEventsOff(t *testing.T, h *harness) {
	off := h.login(t, h.User, "off")
	iface := h.iface(t)
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	expect(t, h.C2, "QueueMemberAdded", "sales", iface)
	if err := off.Ping(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextDone()
	defer cancel()
	if ev, err := off.NextEvent(ctx); err == nil {
		t.Fatalf("Events: off received:\n%s", ev.Message)
	}
}

func scEventsAgent(t *testing.T, h *harness) {
	iface := h.iface(t)
	h.login(t, h.User, "on").Close() // a SuccessfulAuth (security) event
	h.add(t, ami.QueueAddRequest{Queue: "sales", Interface: iface})
	ctx := ctxFor(t)
	for {
		ev, err := h.C2.NextEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ev.Get("Privilege"), "agent") {
			t.Fatalf("Events: agent received a non-agent event:\n%s", ev.Message)
		}
		if ev.Event() == "QueueMemberAdded" && ev.Get("Interface") == iface {
			return
		}
	}
}

func scUnknownAction(t *testing.T, h *harness) {
	resp, err := h.C.Do(ctxFor(t), ami.Action{Name: "NoSuchAction"})
	expectErr(t, "NoSuchAction", err, ami.ErrUnknownAction)
	if resp.Get("Response") != "Error" {
		t.Errorf("response:\n%s", resp)
	}
}

func scCommandUnknown(t *testing.T, h *harness) {
	out, err := h.C.Command(ctxFor(t), "no such command")
	var re *ami.ResponseError
	if !errors.As(err, &re) || errors.Unwrap(err) != nil {
		t.Fatalf("error %v, want a *ResponseError without sentinel", err)
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], "No such command 'no such command'") {
		t.Fatalf("output %q", out)
	}
}

func scMinimalUser(t *testing.T, h *harness) {
	c := h.login(t, h.MinUser, "")
	_, err := c.Command(ctxFor(t), "core show uptime")
	expectErr(t, "Command", err, ami.ErrPermission)
	_, err = c.CoreStatus(ctxFor(t))
	expectErr(t, "CoreStatus", err, ami.ErrPermission)
	iface := h.iface(t)
	if err := c.QueueAdd(ctxFor(t), ami.QueueAddRequest{Queue: "sales", Interface: iface}); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "QueueMemberAdded", "sales", iface) // read=agent gets member events
	if err := c.QueueRemove(ctxFor(t), "sales", iface); err != nil {
		t.Fatal(err)
	}
}

func scCoreStatus(t *testing.T, h *harness) {
	st, err := h.C.CoreStatus(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if st.Startup.IsZero() || st.Startup.After(now.Add(time.Minute)) || st.Startup.Before(now.AddDate(0, 0, -30)) {
		t.Errorf("Startup = %v, now %v", st.Startup, now)
	}
	if st.Reload.Before(st.Startup) {
		t.Errorf("Reload %v before Startup %v", st.Reload, st.Startup)
	}
}

func scLogoff(t *testing.T, h *harness) {
	c := h.login(t, h.User, "off")
	if err := c.Logoff(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	expectErr(t, "Ping after Logoff", c.Ping(ctxFor(t)), ami.ErrClosed)
}

func scStatusUnknownQueue(t *testing.T, h *harness) {
	st, err := h.C.QueueStatus(ctxFor(t), "nosuchqueue", "")
	if err != nil || len(st.Params) != 0 || len(st.Members) != 0 {
		t.Fatalf("QueueStatus(nosuchqueue) = %+v, %v; want empty, nil", st, err)
	}
	_, items, err := h.C.DoList(ctxFor(t), ami.Action{Name: "QueueSummary",
		Headers: []ami.Header{{Key: "Queue", Value: "nosuchqueue"}}})
	if err != nil || len(items) != 0 {
		t.Fatalf("QueueSummary(nosuchqueue) = %d items, %v", len(items), err)
	}
}

func scStatusStatic(t *testing.T, h *harness) {
	st, err := h.C.QueueStatus(ctxFor(t), "support", "Local/2000@agents")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Params) != 1 || st.Params[0].Queue != "support" || st.Params[0].Strategy != "ringall" {
		t.Errorf("params %+v", st.Params)
	}
	if len(st.Members) != 1 {
		t.Fatalf("members %+v", st.Members)
	}
	m := st.Members[0]
	if m.Queue != "support" || m.Interface != "Local/2000@agents" || m.Name != "Static Agent" ||
		m.StateInterface != "Custom:2000" || m.Membership != "static" || m.Ringinuse != nil || m.LoginTime == 0 {
		t.Errorf("static member %+v", m)
	}
}

func scStatusFilterNone(t *testing.T, h *harness) {
	st, err := h.C.QueueStatus(ctxFor(t), "", h.iface(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range st.Params {
		names = append(names, p.Queue)
	}
	for _, q := range []string{"billing", "sales", "support"} {
		if !slices.Contains(names, q) {
			t.Errorf("params of %s missing: a Member filter still reports every queue; got %q", q, names)
		}
	}
	if len(st.Members) != 0 {
		t.Errorf("members %+v, want none", st.Members)
	}
}
