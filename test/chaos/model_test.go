//go:build chaos

package chaos

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// The member universe: dynamic members Local/4001..4006@agents in every test
// queue, and the static member of support (queues.conf), which can be
// paused and given a penalty but not added or removed.
const (
	nIfaces     = 6
	staticIface = "Local/2000@agents"
	staticName  = "Static Agent"
)

func ifaceName(i int) string { return fmt.Sprintf("Local/%d@agents", 4001+i) }

// key is a member's identity, lower-cased as queuesync keys it.
type key struct{ Queue, Iface string }

func newKey(queue, iface string) key {
	return key{Queue: strings.ToLower(queue), Iface: strings.ToLower(iface)}
}

func (k key) String() string { return k.Queue + "/" + k.Iface }

// spelled returns k's queue and interface as Asterisk spells them.
func (k key) spelled() (string, string) {
	if k.Iface == strings.ToLower(staticIface) {
		return k.Queue, staticIface
	}
	return k.Queue, "Local/" + strings.TrimPrefix(k.Iface, "local/")
}

func (k key) static() bool { return k.Iface == strings.ToLower(staticIface) && k.Queue == "support" }

var staticKey = newKey("support", staticIface)

// universe returns every key the harness touches or checks.
func universe() []key {
	var ks []key
	for _, q := range harness.TestQueues {
		for i := 0; i < nIfaces; i++ {
			ks = append(ks, newKey(q, ifaceName(i)))
		}
	}
	return append(ks, staticKey)
}

// member is the synced part of a member's state (architecture.md §1): presence, name,
// penalty, paused and the reason while paused. The zero value is absent.
type member struct {
	Present bool
	Name    string
	Penalty int
	Paused  bool
	Reason  string
}

func (m member) String() string {
	if !m.Present {
		return "absent"
	}
	s := fmt.Sprintf("%q pen=%d", m.Name, m.Penalty)
	if m.Paused {
		s += fmt.Sprintf(" paused(%s)", m.Reason)
	}
	return s
}

// staticDefault is the static member as queues.conf defines it.
var staticDefault = member{Present: true, Name: staticName}

// initial is a key's state at the start of a seed (after the reset).
func initial(k key) member {
	if k.static() {
		return staticDefault
	}
	return member{}
}

type opKind string

const (
	opAdd     opKind = "add"
	opRemove  opKind = "remove"
	opPause   opKind = "pause"
	opUnpause opKind = "unpause"
	opPenalty opKind = "penalty"
)

// op is one member change made on one node, through AMI or the CLI.
type op struct {
	Kind    opKind
	Node    int
	CLI     bool
	Key     key
	Name    string // add
	Penalty int    // add, penalty
	Paused  bool   // add
	Reason  string // add (when paused), pause
}

func (o op) String() string {
	via := "ami"
	if o.CLI {
		via = "cli"
	}
	s := fmt.Sprintf("sop%d %s %-7s %s", o.Node+1, via, o.Kind, o.Key)
	switch o.Kind {
	case opAdd:
		s += fmt.Sprintf(" name=%s pen=%d", o.Name, o.Penalty)
		if o.Paused {
			s += " paused=" + o.Reason
		}
	case opPause:
		s += " reason=" + o.Reason
	case opPenalty:
		s += fmt.Sprintf(" pen=%d", o.Penalty)
	}
	return s
}

// apply returns the state after o on a node whose member was before, and
// whether o is valid there and changes something. The harness never makes a
// change that Asterisk would refuse or that would change nothing: a no-op
// would write queue_log lines that look like queuesync's redundant actions.
func (o op) apply(before member) (member, bool) {
	after := before
	switch o.Kind {
	case opAdd:
		if before.Present {
			return before, false
		}
		after = member{Present: true, Name: o.Name, Penalty: o.Penalty, Paused: o.Paused}
		if o.Paused {
			after.Reason = o.Reason
		}
		return after, true
	case opRemove:
		if !before.Present || o.Key.static() {
			return before, false
		}
		return member{}, true
	}
	if !before.Present {
		return before, false
	}
	switch o.Kind {
	case opPause:
		after.Paused, after.Reason = true, o.Reason
	case opUnpause:
		after.Paused, after.Reason = false, ""
	case opPenalty:
		after.Penalty = o.Penalty
	}
	return after, after != before
}

// cliCommand is o as an Asterisk CLI command.
func (o op) cliCommand() string {
	q, i := o.Key.spelled()
	switch o.Kind {
	case opAdd:
		c := fmt.Sprintf("queue add member %s to %s penalty %d as %s state_interface %s", i, q, o.Penalty, o.Name, i)
		if o.Paused {
			c += " paused " + o.Reason
		}
		return c
	case opRemove:
		return fmt.Sprintf("queue remove member %s from %s", i, q)
	case opPause:
		return fmt.Sprintf("queue pause member %s queue %s reason %s", i, q, o.Reason)
	case opUnpause:
		return fmt.Sprintf("queue unpause member %s queue %s", i, q)
	case opPenalty:
		return fmt.Sprintf("queue set penalty %d on %s in %s", o.Penalty, i, q)
	}
	return ""
}

// cliFailed reports whether CLI output says the command failed (the CLI
// exits 0 either way).
var cliFailed = regexp.MustCompile(`(?i)unable|failed|no such|not found|usage:`)

// memberNames are the names the harness gives on add: two per interface, so
// that an add on each side of a partition may disagree on the name (queuesync
// then fixes the name by remove+add).
func memberNames(iface int) [2]string {
	return [2]string{fmt.Sprintf("Ag%d", 4001+iface), fmt.Sprintf("Ag%dx", 4001+iface)}
}

var reasons = []string{"lunch", "coffee", "meeting", "brb", "training"}

// keyOfAgent maps a queue_log agent field (an interface, or a member name
// for PAUSE/UNPAUSE) back to an interface of the universe.
var agentRe = regexp.MustCompile(`^(?:Ag(\d{4})x?|Local/(\d{4})@agents)$`)

func ifaceOfAgent(agent string) (string, bool) {
	if agent == staticName {
		return staticIface, true
	}
	m := agentRe.FindStringSubmatch(agent)
	if m == nil {
		return "", false
	}
	d := m[1] + m[2]
	return "Local/" + d + "@agents", true
}
