package state

import (
	"fmt"
	"strings"
	"testing"
)

var stamp = Stamp{Wall: 1764041230000}

// reg returns a present dynamic register of PJSIP/1001 in queue support,
// changed by the options.
func reg(opts ...func(*Register)) Register {
	r := Register{Queue: "support", Interface: "PJSIP/1001", Present: true, MemberName: "Alice",
		StateInterface: "PJSIP/1001", Membership: Dynamic, Stamp: stamp, Origin: "sop1"}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// live returns the live state matching reg(), changed by the options.
func live(opts ...func(*Live)) *Live {
	l := &Live{Queue: "support", Interface: "PJSIP/1001", MemberName: "Alice",
		StateInterface: "PJSIP/1001", Membership: Dynamic}
	for _, o := range opts {
		o(l)
	}
	return l
}

var planTests = []struct {
	name string
	want Register
	have *Live
}{
	{"in-sync", reg(), live()},
	{"in-sync-paused", reg(func(r *Register) { r.Paused, r.PausedReason = true, "lunch" }),
		live(func(l *Live) { l.Paused, l.PausedReason = true, "lunch" })},
	{"in-sync-leftover-reason", reg(), live(func(l *Live) { l.PausedReason = "back" })},
	{"in-sync-ringinuse-unknown", reg(func(r *Register) { r.Ringinuse = Bool(false) }), live()},
	{"in-sync-default-name", reg(func(r *Register) { r.MemberName, r.StateInterface = "", "" }),
		live(func(l *Live) { l.MemberName = "PJSIP/1001" })},
	{"tombstone-absent", reg(func(r *Register) { r.Present = false }), nil},
	{"remove-dynamic", reg(func(r *Register) { r.Present = false }), live()},
	{"remove-static", reg(func(r *Register) { r.Present = false }), live(func(l *Live) { l.Membership = Static })},
	{"remove-realtime", reg(func(r *Register) { r.Present = false }), live(func(l *Live) { l.Membership = Realtime })},
	{"add", reg(func(r *Register) { r.PausedReason = "stale" }), nil},
	{"add-paused", reg(func(r *Register) { r.Paused, r.PausedReason, r.Penalty = true, "lunch", 3 }), nil},
	{"add-ringinuse-no", reg(func(r *Register) { r.Ringinuse = Bool(false) }), nil},
	{"add-ringinuse-yes", reg(func(r *Register) { r.Ringinuse = Bool(true) }), nil},
	{"add-membership-unknown", reg(func(r *Register) { r.Membership = "" }), nil},
	{"add-static", reg(func(r *Register) { r.Membership = Static }), nil},
	{"add-realtime", reg(func(r *Register) { r.Membership = Realtime }), nil},
	{"pause", reg(func(r *Register) { r.Paused, r.PausedReason = true, "lunch" }), live()},
	{"pause-no-reason", reg(func(r *Register) { r.Paused = true }), live(func(l *Live) { l.PausedReason = "old" })},
	{"unpause", reg(func(r *Register) { r.PausedReason = "lunch" }),
		live(func(l *Live) { l.Paused, l.PausedReason = true, "lunch" })},
	{"reason-change", reg(func(r *Register) { r.Paused, r.PausedReason = true, "meeting" }),
		live(func(l *Live) { l.Paused, l.PausedReason = true, "lunch" })},
	{"penalty", reg(func(r *Register) { r.Penalty = 2 }), live()},
	{"ringinuse", reg(func(r *Register) { r.Ringinuse = Bool(false) }), live(func(l *Live) { l.Ringinuse = Bool(true) })},
	{"pause-and-penalty", reg(func(r *Register) { r.Paused, r.PausedReason, r.Penalty = true, "lunch", 5 }), live()},
	{"unpause-penalty-ringinuse", reg(func(r *Register) { r.Penalty, r.Ringinuse = 5, Bool(true) }),
		live(func(l *Live) { l.Paused, l.Ringinuse = true, Bool(false) })},
	{"rename", reg(func(r *Register) { r.MemberName, r.Paused, r.PausedReason, r.Penalty = "Alicia", true, "lunch", 1 }),
		live(func(l *Live) { l.Paused, l.PausedReason, l.Penalty = true, "lunch", 1 })},
	{"state-interface-change", reg(func(r *Register) { r.StateInterface = "Custom:1001" }), live()},
	{"rename-and-state-interface", reg(func(r *Register) { r.MemberName, r.StateInterface = "Alicia", "Custom:1001" }), live()},
	{"rename-keeps-ringinuse", reg(func(r *Register) { r.MemberName = "Alicia" }),
		live(func(l *Live) { l.Ringinuse = Bool(false) })},
	{"rename-static-and-pause", reg(func(r *Register) { r.MemberName, r.Paused = "Alicia", true }),
		live(func(l *Live) { l.Membership = Static })},
	{"rename-realtime", reg(func(r *Register) { r.MemberName = "Alicia" }), live(func(l *Live) { l.Membership = Realtime })},
	{"static-penalty", reg(func(r *Register) { r.Membership, r.Penalty = Static, 4 }),
		live(func(l *Live) { l.Membership = Static })},
	{"add-wrapuptime", reg(func(r *Register) { r.Wrapuptime = Seconds(45) }), nil},
	{"wrapuptime-change", reg(func(r *Register) { r.Wrapuptime, r.Paused, r.PausedReason = Seconds(45), true, "lunch" }),
		live(func(l *Live) { l.Wrapuptime, l.Ringinuse = Seconds(0), Bool(false) })},
	{"wrapuptime-change-in-call", reg(func(r *Register) { r.Wrapuptime, r.Penalty = Seconds(45), 2 }),
		live(func(l *Live) { l.Wrapuptime, l.InCall = Seconds(0), true })},
	{"wrapuptime-static", reg(func(r *Register) { r.Wrapuptime, r.Membership = Seconds(45), Static }),
		live(func(l *Live) { l.Wrapuptime, l.Membership = Seconds(0), Static })},
	{"wrapuptime-unknown", reg(func(r *Register) { r.Wrapuptime = Seconds(45) }), live()},
	{"ringinuse-assumed-default", reg(func(r *Register) { r.Ringinuse = Bool(false) }),
		live(func(l *Live) { l.Ringinuse, l.RinginuseAssumed = Bool(true), true })},
	{"spelling-from-register", reg(func(r *Register) { r.Queue, r.Interface, r.Penalty = "Support", "pjsip/1001", 1 }),
		live(func(l *Live) { l.StateInterface = "pjsip/1001" })},
}

func TestPlanGolden(t *testing.T) {
	for _, tt := range planTests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.want, tt.have)
			golden(t, "plan/"+tt.name+".golden", []byte(renderPlan(tt.want, tt.have, got)))
		})
	}
}

// TestPlanConverges applies each plan to a simulated Asterisk and checks
// that planning again finds nothing to do, and that Matches agrees.
func TestPlanConverges(t *testing.T) {
	for _, tt := range planTests {
		t.Run(tt.name, func(t *testing.T) {
			p := Plan(tt.want, tt.have)
			if got := tt.have.Matches(tt.want); got != (len(p.Actions) == 0) {
				t.Errorf("Matches = %t with %d actions", got, len(p.Actions))
			}
			after, err := simulate(tt.have, p.Actions, true)
			if err != nil {
				t.Fatalf("simulate: %v", err)
			}
			if again := Plan(tt.want, after); len(again.Actions) != 0 {
				t.Errorf("second plan not empty: %v", again.Actions)
			}
		})
	}
}

func TestPlanActionsCarryNames(t *testing.T) {
	for _, tt := range planTests {
		for _, a := range Plan(tt.want, tt.have).Actions {
			if a.Queue == "" || a.Interface == "" || a.Why == "" {
				t.Errorf("%s: action %v lacks queue, interface or why", tt.name, a)
			}
		}
	}
}

func TestPlanFallsBackToLiveNames(t *testing.T) {
	p := Plan(Register{Present: false}, live())
	if len(p.Actions) != 1 || p.Actions[0].Queue != "support" || p.Actions[0].Interface != "PJSIP/1001" {
		t.Errorf("Plan = %+v, want a QueueRemove named from live state", p.Actions)
	}
}

func renderPlan(want Register, have *Live, p PlanResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "want: %s\nhave: %s\nactions:\n", renderRegister(want), renderLive(have))
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "  %s\n    why: %s\n", a, a.Why)
	}
	b.WriteString("reports:\n")
	for _, r := range p.Reports {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	if len(p.Deferred) > 0 {
		b.WriteString("deferred:\n")
		for _, r := range p.Deferred {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	return b.String()
}

func renderRegister(r Register) string {
	if !r.Present {
		return fmt.Sprintf("tombstone queue=%q interface=%q", r.Queue, r.Interface)
	}
	return fmt.Sprintf("queue=%q interface=%q membership=%s name=%q state-interface=%q penalty=%d paused=%t reason=%q ringinuse=%s",
		r.Queue, r.Interface, r.Membership, r.MemberName, r.StateInterface, r.Penalty, r.Paused, r.PausedReason, renderBoolPtr(r.Ringinuse)) +
		renderSeconds(r.Wrapuptime)
}

// renderSeconds renders a known wrap-up time (unknown ones are left out,
// so that plans without wrap-up times read as before).
func renderSeconds(n *int) string {
	if n == nil {
		return ""
	}
	return fmt.Sprintf(" wrapuptime=%d", *n)
}

func renderLive(l *Live) string {
	if l == nil {
		return "absent"
	}
	s := fmt.Sprintf("queue=%q interface=%q membership=%s name=%q state-interface=%q penalty=%d paused=%t reason=%q ringinuse=%s",
		l.Queue, l.Interface, l.Membership, l.MemberName, l.StateInterface, l.Penalty, l.Paused, l.PausedReason, renderBoolPtr(l.Ringinuse)) +
		renderSeconds(l.Wrapuptime)
	if l.RinginuseAssumed {
		s += " (ringinuse assumed)"
	}
	if l.InCall {
		s += " in-call"
	}
	return s
}

func renderBoolPtr(b *bool) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprint(*b)
}
