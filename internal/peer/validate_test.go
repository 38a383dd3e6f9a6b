package peer

import (
	"errors"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
)

func validRegister() state.Register {
	return state.Register{Queue: "support", Interface: "PJSIP/1001", Present: true, MemberName: "Alice",
		StateInterface: "PJSIP/1001", Membership: state.Dynamic, Paused: true, PausedReason: "lunch",
		Stamp: state.Stamp{Wall: 1764041230000}, Origin: "sop1"}
}

func TestValidateRegisterAccepts(t *testing.T) {
	mods := map[string]func(*state.Register){
		"as is":                     func(*state.Register) {},
		"local channel":             func(r *state.Register) { r.Interface = "Local/1001@agents/n" },
		"iax with credentials":      func(r *state.Register) { r.Interface = "IAX2/user:pass@host/1001" },
		"custom state interface":    func(r *state.Register) { r.StateInterface = "Custom:1001" },
		"hint state interface":      func(r *state.Register) { r.StateInterface = "hint:1001@agents" },
		"no state interface":        func(r *state.Register) { r.StateInterface = "" },
		"name with comma and quote": func(r *state.Register) { r.MemberName = `Doe, "Jane"` },
		"unicode name":              func(r *state.Register) { r.MemberName = "Zoë Ångström 王" },
		"tab in reason":             func(r *state.Register) { r.PausedReason = "a\tb" },
		"reason with colon":         func(r *state.Register) { r.PausedReason = "coffee: back in 5" },
		"max lengths": func(r *state.Register) {
			r.MemberName, r.PausedReason = strings.Repeat("n", MaxNameLen), strings.Repeat("r", MaxReasonLen)
			r.Queue, r.Interface = strings.Repeat("q", MaxQueueLen), "PJSIP/"+strings.Repeat("1", MaxInterfaceLen-6)
			r.Origin = strings.Repeat("o", MaxNodeLen)
		},
		"max penalty":            func(r *state.Register) { r.Penalty = MaxPenalty },
		"queue with dot at plus": func(r *state.Register) { r.Queue = "sales.eu@corp+1_x-y" },
		"tombstone, no membership": func(r *state.Register) {
			*r = state.Register{Queue: "q", Interface: "SIP/1", Stamp: r.Stamp, Origin: "n"}
		},
		"logical-only stamp":        func(r *state.Register) { r.Stamp = state.Stamp{Logical: 1} },
		"static realtime ringinuse": func(r *state.Register) { r.Membership, r.Ringinuse = state.Realtime, state.Bool(false) },
	}
	for name, mod := range mods {
		r := validRegister()
		mod(&r)
		if err := ValidateRegister(r); err != nil {
			t.Errorf("%s: ValidateRegister = %v", name, err)
		}
	}
}

func TestValidateRegisterRefuses(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name  string
		mod   func(*state.Register)
		field string
		text  string
	}{
		{"CR LF in name", func(r *state.Register) { r.MemberName = "Alice\r\nAction: Originate" }, "name", `"Alice\r\nAction: Originate": contains CR at byte 5`},
		{"LF in reason", func(r *state.Register) { r.PausedReason = "x\nAction: Logoff" }, "paused-reason", "contains LF"},
		{"NUL in interface", func(r *state.Register) { r.Interface = "PJSIP/10\x0001" }, "interface", "contains NUL"},
		{"CR in queue", func(r *state.Register) { r.Queue = "support\r" }, "queue", "contains CR"},
		{"CR in state interface", func(r *state.Register) { r.StateInterface = "PJSIP/1\r" }, "state-interface", "contains CR"},
		{"CR in origin", func(r *state.Register) { r.Origin = "sop1\r" }, "origin", "contains CR"},
		{"NUL in name", func(r *state.Register) { r.MemberName = "a\x00b" }, "name", "contains NUL"},
		{"escape char in interface", func(r *state.Register) { r.Interface = "PJSIP/a\x1b[31m" }, "interface", "control character U+001B"},
		{"DEL in queue", func(r *state.Register) { r.Queue = "a\x7f" }, "queue", "U+007F"},
		{"C1 control in interface", func(r *state.Register) { r.Interface = "PJSIP/a\u0085" }, "interface", "U+0085"},
		{"invalid UTF-8 in interface", func(r *state.Register) { r.Interface = "PJSIP/a\xffb" }, "interface", "not valid UTF-8"},
		{"long Latin-1 name", func(r *state.Register) { r.MemberName = strings.Repeat("\xe9", 80) }, "name", "80 bytes long, limit 79"},
		{"long name", func(r *state.Register) { r.MemberName = long }, "name", "200 bytes long, limit 79"},
		{"long reason", func(r *state.Register) { r.PausedReason = long }, "paused-reason", "limit 79"},
		{"long queue", func(r *state.Register) { r.Queue = long }, "queue", "limit 128"},
		{"long interface", func(r *state.Register) { r.Interface = "PJSIP/" + long }, "interface", "limit 79"},
		{"empty queue", func(r *state.Register) { r.Queue = "" }, "queue", "is empty"},
		{"space in queue", func(r *state.Register) { r.Queue = "sup port" }, "queue", "white space"},
		{"comma in queue", func(r *state.Register) { r.Queue = "a,b" }, "queue", `','`},
		{"pipe in queue", func(r *state.Register) { r.Queue = "a|b" }, "queue", `'|'`},
		{"semicolon in queue", func(r *state.Register) { r.Queue = "a;b" }, "queue", `';'`},
		{"no slash", func(r *state.Register) { r.Interface = "PJSIP1001" }, "interface", "Tech/resource"},
		{"empty resource", func(r *state.Register) { r.Interface = "PJSIP/" }, "interface", "Tech/resource"},
		{"empty tech", func(r *state.Register) { r.Interface = "/1001" }, "interface", "Tech/resource"},
		{"bad tech", func(r *state.Register) { r.Interface = "PJ SIP/1001" }, "interface", "technology"},
		{"colon interface", func(r *state.Register) { r.Interface = "Custom:1001" }, "interface", "Tech/resource"},
		{"space in resource", func(r *state.Register) { r.Interface = "PJSIP/10 01" }, "interface", "white space"},
		{"comma in interface", func(r *state.Register) { r.Interface = "PJSIP/1001,x" }, "interface", `','`},
		{"pipe in state interface", func(r *state.Register) { r.StateInterface = "Custom:1|2" }, "state-interface", `'|'`},
		{"membership", func(r *state.Register) { r.Membership = "agent" }, "membership", "dynamic, static or realtime"},
		{"present without membership", func(r *state.Register) { r.Membership = "" }, "membership", ""},
		{"negative penalty", func(r *state.Register) { r.Penalty = -1 }, "penalty", "out of range"},
		{"huge penalty", func(r *state.Register) { r.Penalty = MaxPenalty + 1 }, "penalty", "out of range"},
		{"zero stamp", func(r *state.Register) { r.Stamp = state.Stamp{} }, "stamp", "positive"},
		{"negative stamp", func(r *state.Register) { r.Stamp = state.Stamp{Wall: -5} }, "stamp", "positive"},
		{"empty origin", func(r *state.Register) { r.Origin = "" }, "origin", "is empty"},
		{"slash in origin", func(r *state.Register) { r.Origin = "sop/1" }, "origin", `'/'`},
		{"unicode origin", func(r *state.Register) { r.Origin = "söp" }, "origin", `'ö'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRegister()
			tt.mod(&r)
			err := ValidateRegister(r)
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
				t.Fatalf("ValidateRegister = %v, want a *FieldError wrapping ErrInvalid", err)
			}
			if fe.Field != tt.field || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q (field %s), want field %s and %q", err, fe.Field, tt.field, tt.text)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes: the value is not truncated", len(err.Error()))
			}
		})
	}
}

func TestQuoteValueTruncates(t *testing.T) {
	v := strings.Repeat("é", 30) // 60 bytes
	got := quoteValue(v)
	if !strings.HasSuffix(got, "…") || strings.Contains(got, "\\x") {
		t.Errorf("quoteValue = %s: want a quoted prefix on a rune boundary and an ellipsis", got)
	}
	if got := quoteValue("a\r\nb"); got != `"a\r\nb"` {
		t.Errorf("quoteValue escapes = %s", got)
	}
}

func TestCleanText(t *testing.T) {
	if got := cleanText(" a\r\nb\x00c\xff\td ", 100); got != "a  b c  d" {
		t.Errorf("cleanText = %q", got)
	}
	if got := cleanText(strings.Repeat("a", 20), 10); got != "aaaaaaaaaa…" {
		t.Errorf("cleanText truncation = %q", got)
	}
}

// TestValidateRegisterAcceptsAsteriskBytes: a name, state interface or
// reason holds whatever bytes Asterisk does, CR, LF and NUL aside.
func TestValidateRegisterAcceptsAsteriskBytes(t *testing.T) {
	for _, mod := range []func(*state.Register){
		func(r *state.Register) { r.MemberName = "Jos\xe9 Mu\xf1oz" }, // Latin-1
		func(r *state.Register) { r.MemberName = "a\x1b[31m\x7f\u0085" },
		func(r *state.Register) { r.PausedReason = "caf\xe9" },
		func(r *state.Register) { r.StateInterface = "Custom:agent-\xe9" },
		func(r *state.Register) { r.MemberName = strings.Repeat("\xe9", 79) },
	} {
		r := validRegister()
		mod(&r)
		if err := ValidateRegister(r); err != nil {
			t.Errorf("ValidateRegister(%+v) = %v, want nil", r, err)
		}
	}
}
