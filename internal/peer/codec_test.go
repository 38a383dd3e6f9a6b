package peer

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
)

var docClock = state.Stamp{Wall: 1764041234567, Logical: 3}

func TestEncodeStateGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeState(&buf, "sop2", docClock, sampleRegisters()); err != nil {
		t.Fatalf("EncodeState: %v", err)
	}
	golden(t, "state.xml", buf.Bytes())

	snap, err := DecodeState(&buf)
	if err != nil {
		t.Fatalf("DecodeState: %v", err)
	}
	want := slices.Clone(sampleRegisters())
	slices.SortStableFunc(want, compareRegisters)
	if snap.Node != "sop2" || snap.Clock != docClock || !reflect.DeepEqual(snap.Registers, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", snap, Snapshot{Node: "sop2", Clock: docClock, Registers: want})
	}
}

func TestEncodeStateEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeState(&buf, "sop2", docClock, nil); err != nil {
		t.Fatal(err)
	}
	snap, err := DecodeState(&buf)
	if err != nil || len(snap.Registers) != 0 {
		t.Errorf("DecodeState(empty) = %+v, %v", snap, err)
	}
}

func TestEncodeStateRefusesInvalid(t *testing.T) {
	regs := sampleRegisters()
	regs[2].MemberName = "Alice\r\nAction: Originate"
	var buf bytes.Buffer
	err := EncodeState(&buf, "sop2", docClock, regs)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "contains CR") {
		t.Errorf("EncodeState = %v, want ErrInvalid naming CR", err)
	}
	if buf.Len() != 0 {
		t.Errorf("EncodeState wrote %d bytes before failing", buf.Len())
	}
	if err := EncodeState(&buf, "bad node", docClock, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("EncodeState(bad node) = %v, want ErrInvalid", err)
	}
}

func TestEncodeResultsGolden(t *testing.T) {
	ours := sampleRegisters()[2]
	ours.Stamp = ours.Stamp.Next()
	results := []Result{
		{Queue: "support", Interface: "PJSIP/1002", Status: Applied},
		{Queue: "support", Interface: "PJSIP/1001", Status: Stale, Reason: "ours is newer", Register: &ours},
		{Queue: "sales", Interface: "PJSIP/3000", Status: Error, Reason: `name "x\r\n…": contains CR`},
		{Status: Error, Reason: "queue \"a b\": contains white space"},
	}
	var buf bytes.Buffer
	if err := EncodeResults(&buf, "sop2", docClock, results); err != nil {
		t.Fatalf("EncodeResults: %v", err)
	}
	golden(t, "results.xml", buf.Bytes())
	set, err := DecodeResults(&buf)
	if err != nil {
		t.Fatalf("DecodeResults: %v", err)
	}
	if want := (ResultSet{"sop2", docClock, results}); !reflect.DeepEqual(set, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", set, want)
	}
}

func TestEncodeHealthGolden(t *testing.T) {
	h := Health{Node: "sop2", Clock: docClock, Software: "queuesync 1.2.3 (abc123)"}
	var buf bytes.Buffer
	if err := EncodeHealth(&buf, h); err != nil {
		t.Fatalf("EncodeHealth: %v", err)
	}
	golden(t, "health.xml", buf.Bytes())
	got, err := DecodeHealth(&buf)
	if err != nil || got != h {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, h)
	}
}

const member = `<member interface="PJSIP/1001" name="Alice" membership="dynamic" present="true" penalty="0" paused="false" stamp="1764041230000.0" origin="sop1"/>`

func stateXML(version, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<queuesync version="` + version + `" node="sop1" clock="1764041234567.3">` + body + `</queuesync>`
}

func TestDecodeStateErrors(t *testing.T) {
	q := func(m string) string { return stateXML("1", `<queue name="support">`+m+`</queue>`) }
	tests := []struct {
		name, doc string
		want      error
		text      string
	}{
		{"empty", "", ErrMalformed, "empty document"},
		{"not xml", "hello", ErrMalformed, "text outside"},
		{"truncated", stateXML("1", `<queue name="support">`), ErrMalformed, ""},
		{"version 2", stateXML("2", ""), ErrVersion, `"2"`},
		{"no version", `<queuesync node="sop1" clock="1.0"/>`, ErrVersion, "speaks version 1"},
		{"wrong root", `<queuesync-health version="1" node="sop1" clock="1.0"/>`, ErrMalformed, "want <queuesync>"},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]>` + stateXML("1", ""), ErrMalformed, "DTD"},
		{"entity", stateXML("1", `<queue name="&a;"/>`), ErrMalformed, ""},
		{"two roots", stateXML("1", "") + stateXML("1", ""), ErrMalformed, "second root"},
		{"trailing text", stateXML("1", "") + "x", ErrMalformed, "text outside"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><queuesync version="1" node="sop1" clock="1.0"/>`, ErrMalformed, ""},
		{"bad node", `<queuesync version="1" node="sop 1" clock="1.0"/>`, ErrInvalid, "node"},
		{"bad clock", `<queuesync version="1" node="sop1" clock="now"/>`, ErrInvalid, "clock"},
		{"CR in name", q(strings.Replace(member, `"Alice"`, `"Alice&#xD;&#xA;Action: Originate"`, 1)), ErrInvalid, "name \"Alice\\r\\nAction: Originate\": contains CR"},
		{"NUL in reason", q(strings.Replace(member, `paused="false"`, `paused="true" paused-reason="a&#x0;b"`, 1)), ErrMalformed, ""},
		{"LF in interface", q(strings.Replace(member, `"PJSIP/1001"`, `"PJSIP/1001&#xA;"`, 1)), ErrInvalid, "contains LF"},
		{"bad present", q(strings.Replace(member, `present="true"`, `present="yes"`, 1)), ErrInvalid, "present"},
		{"no present", q(strings.Replace(member, `present="true"`, ``, 1)), ErrInvalid, "present"},
		{"bad paused", q(strings.Replace(member, `paused="false"`, `paused="1"`, 1)), ErrInvalid, "paused"},
		{"bad penalty", q(strings.Replace(member, `penalty="0"`, `penalty="abc"`, 1)), ErrInvalid, "penalty"},
		{"negative penalty", q(strings.Replace(member, `penalty="0"`, `penalty="-1"`, 1)), ErrInvalid, "out of range"},
		{"huge penalty", q(strings.Replace(member, `penalty="0"`, `penalty="2147483648"`, 1)), ErrInvalid, "out of range"},
		{"bad ringinuse", q(strings.Replace(member, `penalty="0"`, `penalty="0" ringinuse="maybe"`, 1)), ErrInvalid, "ringinuse"},
		{"bad stamp", q(strings.Replace(member, `1764041230000.0`, `1764041230000`, 1)), ErrInvalid, "stamp"},
		{"zero stamp", q(strings.Replace(member, `1764041230000.0`, `0.0`, 1)), ErrInvalid, "stamp"},
		{"bad origin", q(strings.Replace(member, `origin="sop1"`, `origin="sop/1"`, 1)), ErrInvalid, "origin"},
		{"bad membership", q(strings.Replace(member, `dynamic`, `agent`, 1)), ErrInvalid, "membership"},
		{"bad queue", stateXML("1", `<queue name="sup port">`+member+`</queue>`), ErrInvalid, "queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := DecodeState(strings.NewReader(tt.doc))
			if err == nil && len(snap.Skipped) == 1 && len(snap.Registers) == 0 {
				err = snap.Skipped[0].Err // a bad member is skipped, never the document
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("DecodeState = %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestDecodeStateTolerates(t *testing.T) {
	doc := `<?xml version="1.0"?><!-- from sop1 -->` + "\n" +
		`<queuesync version="1" node="sop1" clock="1.0" future="x"><queue name="support">` +
		`<member interface="PJSIP/1001" present="false" stamp="5.0" origin="sop1" colour="blue"><extra/></member>` +
		`</queue><other/></queuesync>` + "\n<!-- end -->\n"
	snap, err := DecodeState(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("DecodeState: %v", err)
	}
	want := []state.Register{{Queue: "support", Interface: "PJSIP/1001", Stamp: state.Stamp{Wall: 5}, Origin: "sop1"}}
	if !reflect.DeepEqual(snap.Registers, want) {
		t.Errorf("registers = %+v, want %+v", snap.Registers, want)
	}
}

func TestDecodeResultsErrors(t *testing.T) {
	res := func(body string) string {
		return `<queuesync-result version="1" node="sop2" clock="1.0">` + body + `</queuesync-result>`
	}
	tests := []struct{ name, doc, text string }{
		{"bad status", res(`<result queue="q" interface="PJSIP/1" status="done"/>`), "status"},
		{"CR in reason", res(`<result queue="q" interface="PJSIP/1" status="error" reason="a&#xD;b"/>`), "contains CR"},
		{"bad queue", res(`<result queue="a;b" interface="PJSIP/1" status="applied"/>`), "queue"},
		{"bad interface", res(`<result queue="q" interface="PJSIP" status="applied"/>`), "interface"},
		{"member of another key", res(`<result queue="q" interface="PJSIP/1" status="stale">` +
			`<member interface="PJSIP/2" present="false" stamp="1.0" origin="sop2"/></result>`), "not the member"},
		{"invalid member", res(`<result queue="q" interface="PJSIP/1" status="stale">` +
			`<member interface="PJSIP/1" name="a&#xA;b" present="true" membership="dynamic" stamp="1.0" origin="sop2"/></result>`), "contains LF"},
	}
	for _, tt := range tests {
		_, err := DecodeResults(strings.NewReader(tt.doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: DecodeResults = %v, want ErrInvalid containing %q", tt.name, err, tt.text)
		}
	}
	if _, err := DecodeResults(strings.NewReader(stateXML("1", ""))); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeResults(state document) = %v, want ErrMalformed", err)
	}
}

func TestDecodeHealthErrors(t *testing.T) {
	for _, doc := range []string{
		`<queuesync-health version="1" node="sop2" clock="1.0" software="a&#x1;b"/>`,
		`<queuesync-health version="1" node="" clock="1.0"/>`,
		`<queuesync-health version="9" node="sop2" clock="1.0"/>`,
	} {
		if h, err := DecodeHealth(strings.NewReader(doc)); err == nil {
			t.Errorf("DecodeHealth(%s) = %+v, want an error", doc, h)
		}
	}
}

// A member's own wrap-up time travels as wrapuptime="45" (absent: unknown);
// a bad one leaves out that member only, with the reason.
func TestDecodeStateWrapuptime(t *testing.T) {
	doc := `<queuesync version="1" node="sop2" clock="1764041234567.3"><queue name="sales">
<member interface="PJSIP/1" present="true" membership="dynamic" wrapuptime="45" stamp="1764041230000.0" origin="sop2"/>
<member interface="PJSIP/2" present="true" membership="dynamic" stamp="1764041230000.0" origin="sop2"/>
<member interface="PJSIP/3" present="true" membership="dynamic" wrapuptime="-1" stamp="1764041230000.0" origin="sop2"/>
</queue></queuesync>`
	snap, err := DecodeState(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Registers) != 2 || snap.Registers[0].Wrapuptime == nil || *snap.Registers[0].Wrapuptime != 45 || snap.Registers[1].Wrapuptime != nil {
		t.Errorf("registers %+v", snap.Registers)
	}
	if len(snap.Skipped) != 1 || snap.Skipped[0].Err == nil || !strings.Contains(snap.Skipped[0].Err.Error(), "wrapuptime") {
		t.Errorf("skipped %+v", snap.Skipped)
	}
}
