package ami

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// h builds a header list from key/value pairs.
func h(kv ...string) []Header {
	var out []Header
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Header{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// readAll parses every message of in, returning them and the final error.
func readAll(r *Reader) ([]Message, error) {
	var msgs []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				msgs = append(msgs, m)
			}
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

func TestReaderEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Message
		wantErr error
	}{
		{"crlf", "Response: Success\r\nActionID: 1\r\n\r\n",
			[]Message{{Headers: h("Response", "Success", "ActionID", "1")}}, io.EOF},
		{"bare lf", "Event: A\nX: 1\n\nEvent: B\n\n",
			[]Message{{Headers: h("Event", "A", "X", "1")}, {Headers: h("Event", "B")}}, io.EOF},
		{"mixed endings", "Event: A\r\nX: 1\n\r\nEvent: B\n\n",
			[]Message{{Headers: h("Event", "A", "X", "1")}, {Headers: h("Event", "B")}}, io.EOF},
		{"repeated blank lines skipped", "\r\n\n\r\nEvent: A\r\n\r\n\r\n\n\r\nEvent: B\r\n\r\n",
			[]Message{{Headers: h("Event", "A")}, {Headers: h("Event", "B")}}, io.EOF},
		{"lone CR line ends a message", "Event: A\r\n\r\r\nEvent: B\r\n\r\n",
			[]Message{{Headers: h("Event", "A")}, {Headers: h("Event", "B")}}, io.EOF},
		{"raw line kept", "Response: Follows\r\nsome text without colon\r\n--END COMMAND--\r\n\r\n",
			[]Message{{Headers: h("Response", "Follows"), Raw: []string{"some text without colon", "--END COMMAND--"}}}, io.EOF},
		{"empty values", "PausedReason: \r\nOutput:\r\nKey:\r\n\r\n",
			[]Message{{Headers: h("PausedReason", "", "Output", "", "Key", "")}}, io.EOF},
		{"value with colon space and commas", "Reason: coffee: back in 5, ok\r\nName: Doe, Jane\r\n\r\n",
			[]Message{{Headers: h("Reason", "coffee: back in 5, ok", "Name", "Doe, Jane")}}, io.EOF},
		{"duplicates in order", "Output: a\r\nOutput: \r\nOutput: b\r\n\r\n",
			[]Message{{Headers: h("Output", "a", "Output", "", "Output", "b")}}, io.EOF},
		{"split on first colon-space", "a:b: c\r\nurl: http://x:80/y\r\nx:y\r\nk::\r\n\r\n",
			[]Message{{Headers: h("a:b", "c", "url", "http://x:80/y", "k:", ""), Raw: []string{"x:y"}}}, io.EOF},
		{"value keeps extra spaces", "K:  two\r\nK2: trailing \r\n\r\n",
			[]Message{{Headers: h("K", " two", "K2", "trailing ")}}, io.EOF},
		{"empty key", ": v\r\n\r\n", []Message{{Headers: h("", "v")}}, io.EOF},
		{"whitespace line is raw", "Event: A\r\n   \r\n\r\n",
			[]Message{{Headers: h("Event", "A"), Raw: []string{"   "}}}, io.EOF},
		{"embedded LF in value splits the line", "Message: Invalid value\n\r\n\r\nResponse: Success\r\n\r\n",
			[]Message{{Headers: h("Message", "Invalid value")}, {Headers: h("Response", "Success")}}, io.EOF},
		{"truncated message", "Event: A\r\nX: 1\r\n",
			[]Message{{Headers: h("Event", "A", "X", "1")}}, io.ErrUnexpectedEOF},
		{"truncated line", "Event: A\r\nX: 1", []Message{{Headers: h("Event", "A", "X", "1")}}, io.ErrUnexpectedEOF},
		{"only blank lines", "\r\n\r\n\n", nil, io.EOF},
		{"empty", "", nil, io.EOF},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 17, 64, defaultReadBuffer} {
			for _, oneByte := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tt.in)
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				got, err := readAll(newReaderSize(src, size))
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s (buf %d, one byte %v): err %v, want %v", tt.name, size, oneByte, err, tt.wantErr)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s (buf %d, one byte %v):\n got %#v\nwant %#v", tt.name, size, oneByte, got, tt.want)
				}
			}
		}
	}
}

func TestReaderReadLine(t *testing.T) {
	r := newReaderSize(iotest.OneByteReader(strings.NewReader(
		"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n")), 16)
	banner, err := r.ReadLine()
	if err != nil || banner != "Asterisk Call Manager/11.0.0" {
		t.Fatalf("ReadLine = %q, %v", banner, err)
	}
	m, err := r.ReadMessage()
	if err != nil || m.Get("Response") != "Success" || len(m.Raw) != 0 {
		t.Fatalf("ReadMessage after banner = %#v, %v", m, err)
	}
}

func TestReaderLimits(t *testing.T) {
	long := "K: " + strings.Repeat("x", maxReadLine+10) + "\r\n\r\n"
	if _, err := NewReader(strings.NewReader(long)).ReadMessage(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v, want ErrLineTooLong", err)
	}
	// A large message of short lines (like "queue show" output) is fine.
	var b strings.Builder
	b.WriteString("Response: Success\r\n")
	for range 40000 {
		b.WriteString("Output:       Agent (Local/1000@agents) (ringinuse enabled) (dynamic)\r\n")
	}
	b.WriteString("\r\n")
	m, err := NewReader(strings.NewReader(b.String())).ReadMessage()
	if err != nil || len(m.All("Output")) != 40000 {
		t.Errorf("large message: %d outputs, %v", len(m.All("Output")), err)
	}
}

func TestReaderErrorPassthrough(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("Event: A\r\n"), iotest.ErrReader(boom)))
	if _, err := r.ReadMessage(); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
}

func TestMessageAccessors(t *testing.T) {
	m := Message{Headers: h("Event", "QueueMemberPause", "Output", "a", "output", "b", "Empty", "")}
	if m.Event() != "QueueMemberPause" || m.Get("EVENT") != "QueueMemberPause" || m.Get("missing") != "" {
		t.Error("Get")
	}
	if v, ok := m.Lookup("empty"); !ok || v != "" {
		t.Error("Lookup of an empty value")
	}
	if _, ok := m.Lookup("missing"); ok {
		t.Error("Lookup of a missing key")
	}
	if got := m.All("OUTPUT"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("All = %q", got)
	}
	want := "Event: QueueMemberPause\r\nOutput: a\r\noutput: b\r\nEmpty: \r\n\r\n"
	if m.String() != want {
		t.Errorf("String = %q", m.String())
	}
	back, err := NewReader(strings.NewReader(m.String())).ReadMessage()
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("round trip %#v, %v", back, err)
	}
}

// FuzzReader checks that parsing never panics, does not depend on the
// buffer size or read sizes, and that messages survive re-encoding.
func FuzzReader(f *testing.F) {
	for _, name := range transcriptNames(f) {
		data := readTranscript(f, name)
		f.Add(data[:min(len(data), 64<<10)])
	}
	f.Add([]byte("a:b: c\r\nx:y\r\n\r\r\n\n:\r\nk::\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := readAll(NewReader(bytes.NewReader(data)))
		got, gotErr := readAll(newReaderSize(iotest.HalfReader(bytes.NewReader(data)), 16))
		if !reflect.DeepEqual(got, want) || !errors.Is(gotErr, wantErr) && !errors.Is(wantErr, gotErr) {
			t.Fatalf("buffer size changes the result:\n%#v %v\n%#v %v", want, wantErr, got, gotErr)
		}
		for _, m := range want {
			checkInvariants(t, m)
		}
	})
}

// checkInvariants verifies a parsed message and its round trip.
func checkInvariants(t *testing.T, m Message) {
	for _, hd := range m.Headers {
		if strings.ContainsRune(hd.Key, '\n') || strings.ContainsRune(hd.Value, '\n') {
			t.Fatalf("newline in header %q", hd)
		}
	}
	for _, raw := range m.Raw {
		if raw == "" || strings.Contains(raw, ": ") || strings.HasSuffix(raw, ":") {
			t.Fatalf("bad raw line %q", raw)
		}
	}
	if len(m.Headers)+len(m.Raw) == 0 {
		t.Fatal("empty message")
	}
	back, err := NewReader(strings.NewReader(m.String())).ReadMessage()
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip of %#v: %#v, %v", m, back, err)
	}
}
