package state

import (
	"reflect"
	"testing"
)

func TestDiffFields(t *testing.T) {
	base := reg()
	paused := reg(func(r *Register) { r.Paused, r.PausedReason, r.Penalty, r.Stamp = true, "lunch", 2, stamp.Next() })
	tomb := reg(func(r *Register) { r.Present = false })
	tests := []struct {
		name                string
		local, peer, winner *Register
		want                []FieldDiff
	}{
		{"same", &base, &base, &base, nil},
		{"version only", &base, ptr(reg(func(r *Register) { r.Stamp = stamp.Next() })), &base, nil},
		{"pause and penalty", &base, &paused, &paused, []FieldDiff{
			{"penalty", "0", "2", "2"},
			{"paused", "no", "yes", "yes"},
			{"reason", "-", "lunch", "lunch"},
		}},
		{"reason only", &paused, ptr(reg(func(r *Register) { r.Paused, r.Penalty = true, 2 })), &paused, []FieldDiff{
			{"reason", "lunch", `""`, "lunch"},
		}},
		{"unpaused reasons ignored", ptr(reg(func(r *Register) { r.PausedReason = "a" })),
			ptr(reg(func(r *Register) { r.PausedReason = "b" })), &base, nil},
		{"tombstone", &base, &tomb, &tomb, []FieldDiff{
			{"present", "yes", "no", "no"},
			{"name", "Alice", "-", "-"},
			{"state-interface", "PJSIP/1001", "-", "-"},
			{"membership", "dynamic", "-", "-"},
			{"penalty", "0", "-", "-"},
			{"paused", "no", "-", "-"},
		}},
		{"no local register", nil, &tomb, &tomb, []FieldDiff{{"present", "-", "no", "no"}}},
		{"two tombstones", &tomb, ptr(reg(func(r *Register) { r.Present, r.MemberName = false, "x" })), &tomb, nil},
		{"ringinuse known on one side", &base, ptr(reg(func(r *Register) { r.Ringinuse = Bool(false) })), &base, nil},
		{"ringinuse", ptr(reg(func(r *Register) { r.Ringinuse = Bool(true) })),
			ptr(reg(func(r *Register) { r.Ringinuse = Bool(false) })), nil, []FieldDiff{
				{"ringinuse", "yes", "no", "-"},
			}},
		{"name and membership", &base, ptr(reg(func(r *Register) { r.MemberName, r.Membership = "", Static })), &base,
			[]FieldDiff{{"name", "Alice", `""`, "Alice"}, {"membership", "dynamic", "static", "dynamic"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DiffFields(tt.local, tt.peer, tt.winner)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DiffFields =\n %v\nwant\n %v", got, tt.want)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Action{Kind: ActAdd, Queue: "q", Interface: "PJSIP/1", MemberName: "A", Penalty: 1, Paused: true, Reason: "r"},
			`QueueAdd queue="q" interface="PJSIP/1" name="A" state-interface="" penalty=1 paused=true reason="r"`},
		{Action{Kind: ActRemove, Queue: "q", Interface: "PJSIP/1"}, `QueueRemove queue="q" interface="PJSIP/1"`},
		{Action{Kind: ActPause, Queue: "q", Interface: "PJSIP/1"}, `QueuePause queue="q" interface="PJSIP/1" paused=false reason=""`},
		{Action{Kind: ActPenalty, Queue: "q", Interface: "PJSIP/1", Penalty: 3}, `QueuePenalty queue="q" interface="PJSIP/1" penalty=3`},
		{Action{Kind: ActRinginuse, Queue: "q", Interface: "PJSIP/1"}, `QueueMemberRingInUse queue="q" interface="PJSIP/1" ringinuse=false`},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("String =\n %s\nwant\n %s", got, tt.want)
		}
	}
}
