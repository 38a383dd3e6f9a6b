package peer

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// FuzzVerifyAnswer checks answer verification: a genuine signature
// verifies, and any change to the nonce, status, node, body or signature
// makes it fail with ErrUntrusted; no input panics.
func FuzzVerifyAnswer(f *testing.F) {
	f.Add("00112233445566778899aabbccddeeff", 200, []byte("<queuesync-health/>"), "v1=00", byte(0), uint16(0))
	f.Add("", 401, []byte{}, "", byte(1), uint16(3))
	f.Add("ff", 307, []byte("\xff\x00"), "v1="+strings.Repeat("z", 64), byte(2), uint16(1))
	f.Fuzz(func(t *testing.T, nonce string, status int, body []byte, sig string, field byte, at uint16) {
		if err := VerifyAnswer(secret, nonce, status, "sop2", sig, body); err != nil && !errors.Is(err, ErrUntrusted) {
			t.Fatalf("VerifyAnswer error %v does not wrap ErrUntrusted", err)
		}
		good := SignAnswer(secret, nonce, status, "sop2", body)
		if err := VerifyAnswer(secret, nonce, status, "sop2", good, body); err != nil {
			t.Fatalf("genuine signature refused: %v", err)
		}
		n, st, node, b, s := nonce, status, "sop2", bytes.Clone(body), good
		switch field % 5 {
		case 0:
			n += "0"
		case 1:
			st++
		case 2:
			node = "sop3"
		case 3:
			if len(b) == 0 {
				b = []byte{0}
			} else {
				b[int(at)%len(b)] ^= 0x01
			}
		case 4:
			i := len(signatureVersion) + int(at)%(len(s)-len(signatureVersion))
			c := byte('0')
			if s[i] == '0' {
				c = '1'
			}
			s = s[:i] + string(c) + s[i+1:]
		}
		if err := VerifyAnswer(secret, n, st, node, s, b); !errors.Is(err, ErrUntrusted) {
			t.Fatalf("altered answer (field %d) verified: %v", field%5, err)
		}
	})
}
