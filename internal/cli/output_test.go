package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// TestTableForms: TSV when piped; aligned columns without box characters
// on a terminal that cannot draw them; within 80 columns on a terminal.
func TestTableForms(t *testing.T) {
	header := []string{"PEER", "REACHABLE", "LAST DELIVERY ERROR"}
	rows := [][]string{{"sop2", "no", strings.Repeat("connection refused ", 8)}}
	for _, tt := range []struct {
		name         string
		tty, borders bool
		want         string
	}{
		{"piped", false, false, "PEER\tREACHABLE\tLAST DELIVERY ERROR\n"},
		{"dumb", true, false, "PEER  REACHABLE  LAST DELIVERY ERROR"},
		{"utf8", true, true, "│ PEER │"},
	} {
		d, out, _ := testDeps(nil)
		d.IO.IsTTY, d.IO.Borders = tt.tty, tt.borders
		if err := printTable(d.IO, header, rows); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.name, tt.want, out)
		}
		if tt.name == "dumb" && strings.ContainsAny(out.String(), "│─┌") {
			t.Errorf("dumb terminal got box characters:\n%s", out)
		}
		if tt.tty {
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if n := len([]rune(l)); n > tableWidth {
					t.Errorf("%s: line of %d characters: %s", tt.name, n, l)
				}
			}
		}
	}
}

func TestDrawsBorders(t *testing.T) {
	for env, want := range map[string]bool{
		"TERM=xterm LANG=C.UTF-8":              true,
		"TERM=xterm LANG=en_US.utf8":           true,
		"TERM=dumb LANG=C.UTF-8":               false,
		"TERM=xterm LANG=C":                    false,
		"TERM=xterm LC_ALL=C LANG=en_US.UTF-8": false,
		"LANG=C.UTF-8":                         false,
	} {
		m := map[string]string{}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		if got := drawsBorders(func(k string) string { return m[k] }); got != want {
			t.Errorf("%s: %v, want %v", env, got, want)
		}
	}
}

// TestStatusJSONNeverNull: with nothing reachable, the lists are empty,
// not null.
func TestStatusJSONNeverNull(t *testing.T) {
	r := &statusReport{Node: "sop1", Queues: []queueReport{{Queue: "q"}}}
	for _, rep := range []*statusReport{{Node: "sop1"}, r} {
		b, err := json.Marshal(rep.forJSON())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "null") {
			t.Errorf("--json holds null: %s", b)
		}
	}
}

// A remove+add is said as such, with what it changes; other actions by name.
func TestActionText(t *testing.T) {
	readd := []state.Action{
		{Kind: state.ActRemove, Readd: "wrap-up time"}, {Kind: state.ActAdd, Readd: "wrap-up time"},
		{Kind: state.ActRinginuse},
	}
	if got, want := actionText(readd), "remove+add (wrap-up time)+QueueMemberRingInUse"; got != want {
		t.Errorf("actionText = %q, want %q", got, want)
	}
	plain := []state.Action{{Kind: state.ActPause}, {Kind: state.ActPenalty}}
	if got, want := actionText(plain), "QueuePause+QueuePenalty"; got != want {
		t.Errorf("actionText = %q, want %q", got, want)
	}
	if got := actionText(nil); got != "-" {
		t.Errorf("actionText(nil) = %q", got)
	}
}

// A register that lost because another process of this node journalled it
// first still carries what live state cannot take yet (a wrap-up time
// during a call): -v shows it; a plain stale register stays out of the table.
func TestTableShowsReportsOfStaleRegisters(t *testing.T) {
	reg := state.Register{Queue: "sales", Interface: "PJSIP/1001", Present: true}
	report := "wrap-up time of PJSIP/1001 in queue sales (0s → 45s): on a call, fixed by remove+add on a later pass"
	r := &syncReport{Node: "sop2", Outcomes: []engine.Outcome{
		{Queue: "sales", Interface: "PJSIP/1001", Peer: "sop1", Remote: &reg, Winner: &reg, Result: engine.Stale, Reports: []string{report}},
		{Queue: "sales", Interface: "PJSIP/1002", Peer: "sop1", Result: engine.Stale},
	}}
	d, out, _ := testDeps(nil)
	if err := printTables(d, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "on a call") || strings.Contains(out.String(), "PJSIP/1002") {
		t.Errorf("table:\n%s", out)
	}
	if j, err := json.Marshal(jsonReport(r)); err != nil || !strings.Contains(string(j), "on a call") {
		t.Errorf("JSON report lacks the report (%v): %s", err, j)
	}
}
