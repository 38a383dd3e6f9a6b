package amitest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/pkg/ami/amitest"
)

// step is one recorded action and the messages that answered it.
type step struct {
	action   string // wire bytes
	expected []ami.Message
	closed   bool // the server closed the connection after this step
}

// loadTranscript parses a readable transcript (testdata/ami/NN-name.txt):
// ">> " lines were sent, "## " lines are notes, the rest was received.
func loadTranscript(t *testing.T, name string) []step {
	f, err := os.Open(filepath.Join("..", "..", "..", "testdata", "ami", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	var action, received strings.Builder
	flush := func() {
		if len(steps) > 0 {
			steps[len(steps)-1].expected = append(steps[len(steps)-1].expected, parseAll(t, received.String())...)
		}
		received.Reset()
	}
	sc := bufio.NewScanner(f)
	sc.Scan() // banner
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == ">> " || line == ">>":
			flush()
			steps = append(steps, step{action: action.String() + "\r\n"})
			action.Reset()
		case strings.HasPrefix(line, ">> "):
			action.WriteString(line[3:] + "\r\n")
		case strings.HasPrefix(line, "##"):
			if strings.Contains(line, "connection closed by server: True") && len(steps) > 0 {
				steps[len(steps)-1].closed = true
			}
		default:
			received.WriteString(line + "\n")
		}
	}
	flush()
	return steps
}

// parseAll parses every message of s.
func parseAll(t *testing.T, s string) []ami.Message {
	r := ami.NewReader(strings.NewReader(s))
	var out []ami.Message
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		out = append(out, m)
	}
}

// normalize renders a message with volatile values masked: times,
// addresses and session ids become "*", and Unix timestamps become "N"
// unless they are 0 (never).
func normalize(m ami.Message) string {
	var b strings.Builder
	for _, h := range m.Headers {
		v := h.Value
		switch h.Key {
		case "Uptime", "LastReload", "EventTV", "SessionID", "SessionTV", "LocalAddress", "RemoteAddress", "Timestamp":
			v = "*"
		case "LoginTime", "LastPause":
			if v != "0" {
				v = "N"
			}
		}
		b.WriteString(h.Key + ": " + v + "\n")
	}
	return b.String()
}

// replay sends a transcript's actions to srv and compares the answers: the
// first message of each step exactly, the rest (list items, events) in any
// order, since Asterisk walks queues and members in hash order.
func replay(t *testing.T, srv *amitest.Server, name string) {
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := ami.NewReader(conn)
	if banner, err := r.ReadLine(); err != nil || banner != amitest.Banner {
		t.Fatalf("banner %q, %v", banner, err)
	}
	steps := loadTranscript(t, name)
	if len(steps) == 0 {
		t.Fatalf("%s: no steps", name)
	}
	for i, st := range steps {
		if _, err := conn.Write([]byte(st.action)); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for range st.expected {
			m, err := r.ReadMessage()
			if err != nil {
				t.Fatalf("%s step %d (%q): %v", name, i, st.action, err)
			}
			got = append(got, normalize(m))
		}
		for _, m := range st.expected {
			want = append(want, normalize(m))
		}
		if len(want) > 0 && (got[0] != want[0] || !slices.Equal(sorted(got[1:]), sorted(want[1:]))) {
			t.Errorf("%s step %d:\n%s\ngot:\n%s\nwant:\n%s", name, i, st.action,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if st.closed {
			if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
				t.Errorf("%s step %d: connection not closed: %v", name, i, err)
			}
			return
		}
	}
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestReplayTranscripts replays the recorded sessions against the fake, in
// recording order on one server, and expects the recorded answers.
func TestReplayTranscripts(t *testing.T) {
	srv := amitest.NewServer(amitest.ServerOptions{SystemName: "ast0"})
	defer srv.Close()
	for _, name := range []string{"01-login", "01b-login-before-auth", "01c-login-events-off",
		"01d-login-failure-connection", "02-queuestatus-no-dynamic-members", "03-queueadd",
		"04-queuestatus-members", "05-queuepause", "06-queuepenalty", "07-memberstatus-devstate",
		"08-ringinuse-and-queuelog", "09-queueremove", "10-errors", "11-queuesummary",
		"13-events-action", "15-minimal-user-read-write-agent"} {
		replay(t, srv, name)
	}
	ast1 := amitest.NewServer(amitest.ServerOptions{SystemName: "ast1"})
	defer ast1.Close()
	replay(t, ast1, "14-second-instance")
}
