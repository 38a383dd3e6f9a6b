//go:build e2e || chaos || bench

package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// QueueLog returns the lines of n's Asterisk queue_log
// (time|callid|queue|agent|verb|data...). len(QueueLog()) is a mark for
// the lines written later.
func (n *Node) QueueLog() []string {
	b, _ := os.ReadFile(filepath.Join(n.AstDir, "log", "queue_log"))
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Mentioning returns the lines whose agent field is one of agents (an
// interface or a member name).
func Mentioning(lines []string, agents ...string) []string {
	var out []string
	for _, l := range lines {
		for _, a := range agents {
			if strings.Contains(l, "|"+a+"|") {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// CountVerb counts the lines with the given verb (ADDMEMBER, PAUSE...).
func CountVerb(lines []string, verb string) int {
	c := 0
	for _, l := range lines {
		if f := strings.Split(l, "|"); len(f) > 4 && f[4] == verb {
			c++
		}
	}
	return c
}

// AsteriskPid returns the pid of n's Asterisk (0 when it is not running).
func (n *Node) AsteriskPid() int {
	b, err := os.ReadFile(filepath.Join(n.AstDir, "run", "asterisk.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Testbed runs testbed.sh's verb for n's Asterisk instance: "rx" (with an
// Asterisk CLI command), "restart", "persist" (with yes or no), "stop",
// "start".
func (n *Node) Testbed(verb string, args ...string) (string, error) {
	return n.c.Env.Testbed(append([]string{verb, itoa(n.Index)}, args...)...)
}
