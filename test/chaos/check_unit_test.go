//go:build chaos

package chaos

import (
	"strings"
	"testing"
)

// The queue_log replay flags exactly the lines that changed nothing.
func TestRedundantReplay(t *testing.T) {
	log := strings.Join([]string{
		"1|MANAGER|sales|Local/4001@agents|ADDMEMBER|",
		"2|NONE|sales|Ag4001|PAUSE|lunch",
		"3|NONE|sales|Ag4001|PAUSE|lunch", // redundant
		"4|NONE|sales|Ag4001|PAUSE|coffee",
		"5|NONE|sales|Ag4001|UNPAUSE|",
		"6|NONE|sales|Ag4001|UNPAUSE|",             // redundant
		"7|NONE|sales|Local/4001@agents|PENALTY|3", // penalty unknown after an add: not judged
		"8|NONE|sales|Local/4001@agents|PENALTY|3", // redundant
		"9|MANAGER|billing|Local/4002@agents|ADDMEMBER|PAUSED",
		"10|NONE|billing|Ag4002x|PAUSE|brb",     // reason of a paused add unknown: not judged
		"11|NONE|support|Static Agent|UNPAUSE|", // the static member starts unpaused: redundant
		"12|NONE|NONE|NONE|QUEUESTART|",
		"13|NONE|sales|Ag4001|UNPAUSE|", // unknown after a restart: not judged
		"14|NONE|sales|Ag4001|UNPAUSE|", // redundant
		"15|NONE|other|Local/9999@x|PAUSE|x",
	}, "\n")
	red, total := redundant(strings.Split(log, "\n"), nil)
	var at []string
	for _, l := range red {
		at = append(at, strings.SplitN(l, "|", 2)[0])
	}
	if got := strings.Join(at, " "); got != "3 6 8 11 14" {
		t.Errorf("redundant lines %q, want \"3 6 8 11 14\"", got)
	}
	if total != 13 {
		t.Errorf("%d lines about test members, want 13", total)
	}
}

// After a reload, the static member's penalty and reason are unknown until
// a line tells them again.
func TestRedundantReplayReload(t *testing.T) {
	log := []string{
		"100|NONE|support|Static Agent|PAUSE|lunch",
		"100|NONE|support|Local/2000@agents|PENALTY|2",
		"101|NONE|support|Static Agent|PAUSE|lunch",      // reloaded at 101: before or after it?
		"101|NONE|support|Static Agent|PAUSE|lunch",      // the reason put back
		"101|NONE|support|Local/2000@agents|PENALTY|2",   // and the penalty
		"102|NONE|support|Local/2000@agents|PENALTY|2",   // redundant
		"103|MANAGER|sales|Local/4001@agents|ADDMEMBER|", // dynamic members are kept
		"104|NONE|sales|Local/4001@agents|REMOVEMEMBER|",
		"105|NONE|sales|Local/4001@agents|REMOVEMEMBER|", // redundant
	}
	red, _ := redundant(log, []int64{101})
	var at []string
	for _, l := range red {
		at = append(at, strings.SplitN(l, "|", 2)[0])
	}
	if got := strings.Join(at, " "); got != "102 105" {
		t.Errorf("redundant lines %q, want \"102 105\"", got)
	}
}
