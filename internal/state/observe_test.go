package state

import (
	"reflect"
	"testing"
)

func TestObserved(t *testing.T) {
	st := Stamp{Wall: 42, Logical: 1}
	tests := []struct {
		name string
		live *Live
		want Register
	}{
		{"absent is a dynamic tombstone", nil,
			Register{Queue: "Support", Interface: "PJSIP/1001", Membership: Dynamic, Stamp: st, Origin: "sop2"}},
		{"paused keeps its reason", live(func(l *Live) { l.Paused, l.PausedReason, l.Penalty = true, "lunch", 3 }),
			reg(func(r *Register) {
				r.Paused, r.PausedReason, r.Penalty, r.Stamp, r.Origin = true, "lunch", 3, st, "sop2"
			})},
		{"unpaused drops the leftover reason", live(func(l *Live) { l.PausedReason, l.Ringinuse = "back", Bool(false) }),
			reg(func(r *Register) { r.Ringinuse, r.Stamp, r.Origin = Bool(false), st, "sop2" })},
		{"static membership kept", live(func(l *Live) { l.Membership = Static }),
			reg(func(r *Register) { r.Membership, r.Stamp, r.Origin = Static, st, "sop2" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Observed("Support", "PJSIP/1001", tt.live, st, "sop2")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Observed =\n %+v\nwant\n %+v", got, tt.want)
			}
			if !tt.live.Matches(got) {
				t.Errorf("live state does not match its own register")
			}
		})
	}
}

func TestRegisterCopiesRinginuse(t *testing.T) {
	l := live(func(l *Live) { l.Ringinuse = Bool(true) })
	r := l.Register(stamp, "sop1")
	*l.Ringinuse = false
	if !*r.Ringinuse {
		t.Error("register shares its ringinuse with the live state")
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name string
		live *Live
		reg  Register
		want bool
	}{
		{"same", live(), reg(), true},
		{"absent and tombstone", nil, reg(func(r *Register) { r.Present = false }), true},
		{"absent and present", nil, reg(), false},
		{"present and tombstone", live(), reg(func(r *Register) { r.Present = false }), false},
		{"penalty", live(), reg(func(r *Register) { r.Penalty = 1 }), false},
		{"paused", live(), reg(func(r *Register) { r.Paused = true }), false},
		{"reason while paused", live(func(l *Live) { l.Paused = true }),
			reg(func(r *Register) { r.Paused, r.PausedReason = true, "x" }), false},
		{"reason while unpaused", live(func(l *Live) { l.PausedReason = "y" }),
			reg(func(r *Register) { r.PausedReason = "x" }), true},
		{"ringinuse known on both", live(func(l *Live) { l.Ringinuse = Bool(true) }),
			reg(func(r *Register) { r.Ringinuse = Bool(false) }), false},
		{"ringinuse unknown live", live(), reg(func(r *Register) { r.Ringinuse = Bool(false) }), true},
		{"name", live(), reg(func(r *Register) { r.MemberName = "Bob" }), false},
		{"empty name is the interface", live(func(l *Live) { l.MemberName = "PJSIP/1001" }),
			reg(func(r *Register) { r.MemberName = "" }), true},
		{"state interface case", live(func(l *Live) { l.StateInterface = "pjsip/1001" }), reg(), true},
		{"membership alone", live(func(l *Live) { l.Membership = Static }), reg(), true},
		{"static tombstone (only reported)", live(func(l *Live) { l.Membership = Static }),
			reg(func(r *Register) { r.Present = false }), true},
		{"static renamed (only reported)", live(func(l *Live) { l.Membership = Static }),
			reg(func(r *Register) { r.MemberName = "Bob" }), true},
	}
	for _, tt := range tests {
		if got := tt.live.Matches(tt.reg); got != tt.want {
			t.Errorf("%s: Matches = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestWinner(t *testing.T) {
	s := Stamp{Wall: 100}
	older := reg(func(r *Register) { r.Stamp, r.Origin = s, "sop2" })
	newer := reg(func(r *Register) { r.Stamp, r.Origin, r.Paused = s.Next(), "sop1", true })
	tieHigh := reg(func(r *Register) { r.Stamp, r.Origin, r.Penalty = s, "sop3", 9 })
	tests := []struct {
		name          string
		local, remote Register
		want          Register
		remoteWon     bool
	}{
		{"remote newer", older, newer, newer, true},
		{"local newer", newer, older, newer, false},
		{"tie, remote origin greater", older, tieHigh, tieHigh, true},
		{"tie, local origin greater", tieHigh, older, tieHigh, false},
		{"equal versions keep local", older, older, older, false},
		{"tombstone newer wins", older, reg(func(r *Register) { r.Present, r.Stamp = false, s.Next() }),
			reg(func(r *Register) { r.Present, r.Stamp = false, s.Next() }), true},
	}
	for _, tt := range tests {
		got, won := Winner(tt.local, tt.remote)
		if !reflect.DeepEqual(got, tt.want) || won != tt.remoteWon {
			t.Errorf("%s: Winner = %+v, %t; want %+v, %t", tt.name, got, won, tt.want, tt.remoteWon)
		}
	}
}
