package peer

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
)

// seeds adds the golden documents and a few hostile ones to a fuzz corpus.
func seeds(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		stateXML("1", `<queue name="support">`+member+`</queue>`),
		stateXML("1", `<queue name="q"><member interface="PJSIP/1" name="a&#xD;&#xA;Action: x" present="true" membership="dynamic" stamp="1.0" origin="n"/></queue>`),
		stateXML("2", ""),
		`<!DOCTYPE q [<!ENTITY x "y">]><queuesync version="1" node="n" clock="1.0"/>`,
		`<queuesync version="1" node="n" clock="1.0"><queue name="q"><member interface="A/b" present="true" membership="static" penalty="+1" stamp="1.1" origin="n" ringinuse="false"/></queue></queuesync>`,
		"", "<", "\xff\xfe<",
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeState checks that the decoder never panics, that whatever it
// accepts is valid, and that it survives an encode/decode round trip.
func FuzzDecodeState(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := DecodeState(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range snap.Registers {
			if err := ValidateRegister(r); err != nil {
				t.Fatalf("decoded an invalid register: %v", err)
			}
		}
		var buf bytes.Buffer
		if err := EncodeState(&buf, snap.Node, snap.Clock, snap.Registers); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeState(&buf)
		if err != nil {
			t.Fatalf("decode re-encoded: %v\n%s", err, buf.Bytes())
		}
		if len(again.Registers) != len(snap.Registers) || !sameRegisterSet(again.Registers, snap.Registers) {
			t.Fatalf("round trip changed registers:\n%+v\n%+v", snap.Registers, again.Registers)
		}
	})
}

// sameRegisterSet compares two register lists after the encoder's sort.
func sameRegisterSet(a, b []state.Register) bool {
	sort := func(rs []state.Register) []state.Register {
		out := append([]state.Register(nil), rs...)
		for i, j := range documentOrder(rs) {
			out[i] = rs[j]
		}
		return out
	}
	return reflect.DeepEqual(sort(a), sort(b))
}

// FuzzHandler sends correctly signed POST /queue/v1/changes requests with
// fuzzed bodies: the handler must never panic, answer 200 with valid results
// or a 4xx, and never pass an invalid register to the Node.
func FuzzHandler(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var passed []state.Register
		node := &fakeNode{apply: func(regs []state.Register) ([]Result, error) {
			passed = append(passed, regs...)
			out := make([]Result, len(regs))
			for i := range regs {
				out[i] = Result{Status: Applied}
			}
			return out, nil
		}}
		rec := serve(testHandler(node, func(o *HandlerOptions) { o.MaxBody = 1 << 16 }), signed("POST", PathChanges, body, now))
		for _, r := range passed {
			if err := ValidateRegister(r); err != nil {
				t.Fatalf("invalid register reached the node: %v", err)
			}
		}
		switch {
		case rec.Code == http.StatusOK:
			if _, err := DecodeResults(rec.Body); err != nil {
				t.Fatalf("200 with an invalid results document: %v", err)
			}
		case rec.Code < 400 || rec.Code >= 500:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
