package ami

import (
	"reflect"
	"testing"
	"time"
)

func TestDecodeQueueMemberSpellings(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		m    Message
		want QueueMember
	}{
		{"list item", Message{Headers: h("Event", "QueueMember", "Queue", "sales", "Name", "Doe, Jane",
			"Location", "Local/1@a", "StateInterface", "Custom:1", "Membership", "dynamic", "Penalty", "3",
			"CallsTaken", "4", "LastCall", "5", "LastPause", "6", "LoginTime", "7", "InCall", "1", "Status", "2",
			"Paused", "1", "PausedReason", "coffee: back", "Wrapuptime", "8", "ActionID", "x")},
			QueueMember{Queue: "sales", Interface: "Local/1@a", Name: "Doe, Jane", StateInterface: "Custom:1",
				Membership: "dynamic", Penalty: 3, Paused: true, PausedReason: "coffee: back", CallsTaken: 4,
				LastCall: 5, LastPause: 6, LoginTime: 7, InCall: true, Status: 2, Wrapuptime: intp(8)}},
		{"asterisk 22 event", Message{Headers: h("Event", "QueueMemberPause", "Privilege", "agent,all",
			"Queue", "q", "MemberName", "Al", "Interface", "Local/1@a", "Paused", "0", "PausedReason", "",
			"Ringinuse", "0")},
			QueueMember{Queue: "q", Interface: "Local/1@a", Name: "Al", Ringinuse: &no}},
		{"asterisk 11 paused event", Message{Headers: h("Event", "QueueMemberPaused", "Queue", "q",
			"Location", "SIP/1", "MemberName", "Al", "Paused", "1", "Reason", "lunch")},
			QueueMember{Queue: "q", Interface: "SIP/1", Name: "Al", Paused: true, PausedReason: "lunch"}},
		{"case-insensitive keys, lenient values", Message{Headers: h("QUEUE", "q", "interface", "i",
			"penalty", "abc", "paused", "yes", "RingInUse", "true", "LoginTime", " 9 ")},
			QueueMember{Queue: "q", Interface: "i", Paused: true, Ringinuse: &yes, LoginTime: 9}},
		{"empty", Message{}, QueueMember{}},
	}
	for _, tt := range tests {
		if got := DecodeQueueMember(tt.m); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestDecodeQueueParams(t *testing.T) {
	m := Message{Headers: h("Event", "QueueParams", "Queue", "sales", "Max", "1", "Strategy", "rrmemory",
		"Calls", "2", "Holdtime", "3", "TalkTime", "4", "Completed", "5", "Abandoned", "6", "ServiceLevel", "7",
		"ServicelevelPerf", "0.0", "Weight", "8")}
	want := QueueParams{Queue: "sales", Strategy: "rrmemory", Max: 1, Calls: 2, Holdtime: 3, TalkTime: 4,
		Completed: 5, Abandoned: 6, ServiceLevel: 7, Weight: 8}
	if got := DecodeQueueParams(m); got != want {
		t.Errorf("got %+v", got)
	}
}

func TestIsMemberEvent(t *testing.T) {
	for name, want := range map[string]bool{
		"QueueMemberAdded": true, "QueueMemberRemoved": true, "QueueMemberPause": true,
		"QueueMemberPaused": true, "QueueMemberPenalty": true, "QueueMemberRinginuse": true,
		"queuememberringinuse": true, "QueueMemberStatus": false, "QueueMember": false, "": false,
	} {
		if IsMemberEvent(name) != want {
			t.Errorf("IsMemberEvent(%q) != %v", name, want)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	got := parseDateTime("2026-11-25", "04:24:52")
	if want := time.Date(2026, 11, 25, 4, 24, 52, 0, time.Local); !got.Equal(want) {
		t.Errorf("got %v", got)
	}
	if !parseDateTime("", "").IsZero() {
		t.Error("empty date not zero")
	}
}

func BenchmarkDecodeQueueMember(b *testing.B) {
	m := Message{Headers: h("Event", "QueueMember", "Queue", "sales", "Name", "Doe, Jane",
		"Location", "Local/1@a", "StateInterface", "Custom:1", "Membership", "dynamic", "Penalty", "3",
		"CallsTaken", "4", "LastCall", "5", "LastPause", "6", "LoginTime", "7", "InCall", "1", "Status", "2",
		"Paused", "1", "PausedReason", "coffee: back", "Wrapuptime", "8", "ActionID", "x")}
	b.ReportAllocs()
	for b.Loop() {
		DecodeQueueMember(m)
	}
}

func intp(n int) *int { return &n }
