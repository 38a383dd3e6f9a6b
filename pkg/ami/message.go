package ami

import (
	"strconv"
	"strings"
)

// Header is one "Key: Value" line of an AMI message.
type Header struct {
	Key, Value string
}

// Message is one AMI message: a response, an event or an action. Headers are
// kept in the order received; duplicate keys are legal (for example several
// Output: headers). Raw holds lines that had no colon, verbatim.
type Message struct {
	Headers []Header
	Raw     []string
}

// Get returns the value of the first header named key (case-insensitive), or
// "" if there is none.
func (m Message) Get(key string) string {
	v, _ := m.Lookup(key)
	return v
}

// Lookup returns the value of the first header named key (case-insensitive)
// and whether it was present.
func (m Message) Lookup(key string) (string, bool) {
	for _, h := range m.Headers {
		if len(h.Key) == len(key) && strings.EqualFold(h.Key, key) {
			return h.Value, true
		}
	}
	return "", false
}

// All returns every value of the headers named key (case-insensitive), in
// order. It returns nil when there is none.
func (m Message) All(key string) []string {
	var out []string
	for _, h := range m.Headers {
		if len(h.Key) == len(key) && strings.EqualFold(h.Key, key) {
			out = append(out, h.Value)
		}
	}
	return out
}

// Event returns the value of the Event header, or "" for a non-event.
func (m Message) Event() string {
	return m.Get("Event")
}

// String renders the message in wire format (CRLF line endings, raw lines
// after the headers, terminated by an empty line). It is meant for logs and
// test failure output.
func (m Message) String() string {
	var b strings.Builder
	for _, h := range m.Headers {
		b.WriteString(h.Key)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	for _, r := range m.Raw {
		b.WriteString(r)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// atoi parses a decimal integer leniently: surrounding spaces are ignored and
// anything unparsable yields 0, like Asterisk's own atoi.
func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// atoi64 is atoi for 64-bit values such as Unix timestamps.
func atoi64(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// isTrue reports whether s is one of Asterisk's true spellings (ast_true):
// "1", "yes", "true", "y", "t", "on" (case-insensitive).
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "true", "y", "t", "on":
		return true
	}
	return false
}
