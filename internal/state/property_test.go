package state

import (
	"reflect"
	"testing"
)

// TestPlanProperties checks, over every combination of a small domain of
// registers and live states, that a plan applied to a simulated Asterisk
// succeeds and leaves nothing to do, that every action changes something,
// that a member is never added then paused, never removed to fix a pause or
// a penalty, and that Matches agrees with Plan.
func TestPlanProperties(t *testing.T) {
	wants, haves := registerDomain(), liveDomain()
	for _, w := range wants {
		for _, h := range haves {
			checkPlan(t, w, h)
			if t.Failed() {
				t.Fatalf("want %s\nhave %s\nplan %v", renderRegister(w), renderLive(h), Plan(w, h))
			}
		}
	}
}

func checkPlan(t *testing.T, w Register, h *Live) {
	t.Helper()
	p := Plan(w, h)
	if h.Matches(w) != (len(p.Actions) == 0) {
		t.Errorf("Matches disagrees with Plan")
	}
	checkShape(t, w, h, p)
	cur := copyLive(h)
	for _, a := range p.Actions {
		next, err := simulateOne(copyLive(cur), a, true)
		if err != nil {
			t.Errorf("%s fails: %v", a, err)
			return
		}
		if reflect.DeepEqual(next, cur) {
			t.Errorf("%s changes nothing", a)
		}
		cur = next
	}
	if again := Plan(w, cur); len(again.Actions) != 0 {
		t.Errorf("not converged after one plan: %v", again.Actions)
	}
	// With a queue whose ringinuse is off, the member added with ringinuse
	// on is fixed by a second plan, from the event reporting it.
	after, err := simulate(h, p.Actions, false)
	if err == nil {
		after, err = simulate(after, Plan(w, after).Actions, false)
	}
	if err != nil || len(Plan(w, after).Actions) != 0 {
		t.Errorf("not converged after two plans with ringinuse off: %v", err)
	}
}

// checkShape checks the rules of architecture.md §2 rule 6: no add-then-pause, and remove
// only for a tombstone or a changed name or state interface.
func checkShape(t *testing.T, w Register, h *Live, p PlanResult) {
	t.Helper()
	var add, remove, pause bool
	for _, a := range p.Actions {
		add = add || a.Kind == ActAdd
		remove = remove || a.Kind == ActRemove
		pause = pause || a.Kind == ActPause
	}
	if add && pause {
		t.Errorf("add then pause")
	}
	if remove && w.Present {
		pl := planner{want: w, have: h}
		if what, _ := pl.identityChange(); what == "" {
			t.Errorf("remove+add without a name or state interface change")
		}
	}
	if (add || remove) && h != nil && h.Membership != Dynamic {
		t.Errorf("add or remove of a %s member", h.Membership)
	}
}

func copyLive(l *Live) *Live {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

func registerDomain() []Register {
	var out []Register
	out = append(out, reg(func(r *Register) { r.Present = false }))
	for _, m := range []Membership{Dynamic, Static, Realtime, ""} {
		for _, name := range []string{"", "Alice"} {
			for _, si := range []string{"", "Custom:1001"} {
				for _, pen := range []int{0, 1} {
					for _, ps := range pausedDomain() {
						for _, ri := range []*bool{nil, Bool(true), Bool(false)} {
							out = append(out, Register{Queue: "support", Interface: "PJSIP/1001", Present: true,
								Membership: m, MemberName: name, StateInterface: si, Penalty: pen,
								Paused: ps.paused, PausedReason: ps.reason, Ringinuse: ri, Stamp: stamp, Origin: "sop1"})
						}
					}
				}
			}
		}
	}
	return out
}

func liveDomain() []*Live {
	out := []*Live{nil}
	for _, m := range []Membership{Dynamic, Static, Realtime} {
		for _, name := range []string{"PJSIP/1001", "Alice"} {
			for _, si := range []string{"PJSIP/1001", "custom:1001"} {
				for _, pen := range []int{0, 1} {
					for _, ps := range pausedDomain() {
						for _, ri := range []*bool{nil, Bool(true), Bool(false)} {
							out = append(out, &Live{Queue: "support", Interface: "PJSIP/1001", Membership: m,
								MemberName: name, StateInterface: si, Penalty: pen,
								Paused: ps.paused, PausedReason: ps.reason, Ringinuse: ri})
						}
					}
				}
			}
		}
	}
	return out
}

type pausedState struct {
	paused bool
	reason string
}

func pausedDomain() []pausedState {
	return []pausedState{{false, ""}, {false, "back"}, {true, ""}, {true, "lunch"}, {true, "back"}}
}
