//go:build chaos

package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// verdict compares both nodes' live state and journals with the oracle.
type verdict struct {
	lost, resurrected, wrong map[key]bool // live state, over both nodes
	journal                  map[key]bool // journal rows wrong, pending, or versions differing
	details                  []string
}

func (v verdict) ok() bool {
	return len(v.lost)+len(v.resurrected)+len(v.wrong)+len(v.journal) == 0
}

func (r *runner) check(want map[key]member) (verdict, error) {
	v := verdict{lost: map[key]bool{}, resurrected: map[key]bool{}, wrong: map[key]bool{}, journal: map[key]bool{}}
	live := make([]map[key]member, len(r.c.nodes))
	jr := make([]map[key]jrow, len(r.c.nodes))
	for i, n := range r.c.nodes {
		var err error
		if live[i], err = n.members(); err != nil {
			return v, err
		}
		if jr[i], err = n.journal(); err != nil {
			return v, err
		}
	}
	for i, n := range r.c.nodes {
		for k := range live[i] {
			if _, ok := want[k]; !ok {
				v.resurrected[k] = true
				v.details = append(v.details, fmt.Sprintf("%s: %s holds a member outside the test universe: %s", n.Name, k, live[i][k]))
			}
		}
		for _, k := range universe() {
			w, got := want[k], live[i][k]
			switch {
			case w.Present && !got.Present:
				v.lost[k] = true
			case !w.Present && got.Present:
				v.resurrected[k] = true
			case w != got:
				v.wrong[k] = true
			}
			if w != got {
				v.details = append(v.details, fmt.Sprintf("%s live %s: %s, oracle %s", n.Name, k, got, w))
			}
			row, ok := jr[i][k]
			switch {
			case !ok && !w.Present:
				// Never journalled (say, added and removed while no daemon
				// watched): nothing to resurrect.
			case !ok:
				v.journal[k] = true
				v.details = append(v.details, fmt.Sprintf("%s journal %s: no register, oracle %s", n.Name, k, w))
			case row.member != w || row.Pending:
				v.journal[k] = true
				v.details = append(v.details, fmt.Sprintf("%s journal %s: %s pending=%v (%s), oracle %s", n.Name, k, row.member, row.Pending, row.version(), w))
			}
		}
	}
	for _, k := range universe() {
		a, okA := jr[0][k]
		for i := 1; i < len(jr); i++ {
			b, okB := jr[i][k]
			if okA && okB && a.version() != b.version() {
				v.journal[k] = true
				v.details = append(v.details, fmt.Sprintf("journals disagree on the version of %s: sop1 %s, sop%d %s", k, a.version(), i+1, b.version()))
			}
		}
	}
	sort.Strings(v.details)
	return v, nil
}

// tracked is what the queue_log tells of a member; a field is nil while
// unknown (after an Asterisk restart, or a paused add whose reason the log
// does not give).
type tracked struct {
	present *bool
	paused  *bool
	reason  *string
	penalty *int
}

func ptrTo[T any](v T) *T { return &v }

// redundant replays a node's queue_log lines (from mark) and returns those
// that changed nothing (architecture.md §2 rule 2: re-pausing a paused member and the
// like). The harness never makes such a change itself, so each is
// queuesync's. It also returns the number of lines about test members.
// reloads are the Unix seconds at which app_queue was reloaded on the node:
// a reload that rereads queues.conf makes the static member anew with its
// configured penalty and no pause reason, and writes no line, so from that
// second on the static member's penalty and reason are unknown.
func redundant(lines []string, reloads []int64) (red []string, total int) {
	reloadSecs := slices.Clone(reloads)
	st := map[key]*tracked{}
	for _, k := range universe() {
		st[k] = &tracked{present: ptrTo(false), paused: ptrTo(false), reason: ptrTo(""), penalty: ptrTo(0)}
		if k.static() {
			st[k].present = ptrTo(true)
		}
	}
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) < 5 {
			continue
		}
		if at, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			// Within the reload's second the log cannot tell a line before
			// it from one after: none of them is judged.
			if slices.Contains(reloadSecs, at) || (len(reloads) > 0 && at >= reloads[0]) {
				st[staticKey].penalty, st[staticKey].reason = nil, nil
			}
			for len(reloads) > 0 && at >= reloads[0] {
				reloads = reloads[1:]
			}
		}
		if f[4] == "QUEUESTART" {
			for _, k := range universe() {
				st[k] = &tracked{}
			}
			continue
		}
		if !harness.IsTestQueue(f[2]) {
			continue
		}
		iface, ok := ifaceOfAgent(f[3])
		if !ok {
			continue
		}
		t := st[newKey(f[2], iface)]
		if t == nil {
			continue
		}
		data := ""
		if len(f) > 5 {
			data = f[5]
		}
		total++
		noop := false
		switch f[4] {
		case "ADDMEMBER":
			noop = t.present != nil && *t.present
			*t = tracked{present: ptrTo(true), paused: ptrTo(data == "PAUSED")}
			if data != "PAUSED" {
				t.reason = ptrTo("")
			}
		case "REMOVEMEMBER":
			noop = t.present != nil && !*t.present
			*t = tracked{present: ptrTo(false)}
		case "PAUSE":
			noop = t.paused != nil && *t.paused && t.reason != nil && *t.reason == data
			t.paused, t.reason = ptrTo(true), ptrTo(data)
		case "UNPAUSE":
			noop = t.paused != nil && !*t.paused
			t.paused, t.reason = ptrTo(false), ptrTo("")
		case "PENALTY":
			p, _ := strconv.Atoi(data)
			noop = t.penalty != nil && *t.penalty == p
			t.penalty = ptrTo(p)
		default:
			total--
			continue
		}
		if noop {
			red = append(red, l)
		}
	}
	return red, total
}

// result is one seed's report.
type result struct {
	seed        uint64
	ops         int // changes made
	skipped     int // changes or restarts skipped to keep the oracle exact
	faults      int
	lost        int
	resurrected int
	wrong       int
	journal     int
	redundant   []int // per node
	lines       []int // queue_log lines about test members, per node
	converge    time.Duration
	converged   bool // before the resync
	finalOK     bool
	resyncExit  string
	duration    time.Duration
	notes       int
	cron        map[int]int    // cron resyncs by exit code
	kinds       map[string]int // faults injected, by kind
	err         error
}

func (s result) pass() bool {
	red := 0
	for _, n := range s.redundant {
		red += n
	}
	return s.err == nil && s.finalOK && s.converged && s.lost+s.resurrected+s.wrong+s.journal == 0 &&
		red == 0 && s.converge <= 2*time.Second
}

func (s result) line() string {
	conv := "never"
	if s.converged {
		conv = fmt.Sprintf("%.2fs", s.converge.Seconds())
	}
	status := "PASS"
	if !s.pass() {
		status = "FAIL"
	}
	l := fmt.Sprintf("seed=%-4d %s ops=%-3d skipped=%-2d faults=%-2d lost=%d resurrected=%d wrong=%d journal=%d redundant=%s converge=%-6s resync=%s notes=%d lines=%s time=%.0fs",
		s.seed, status, s.ops, s.skipped, s.faults, s.lost, s.resurrected, s.wrong, s.journal, plus(s.redundant),
		conv, s.resyncExit, s.notes, plus(s.lines), s.duration.Seconds())
	if len(s.kinds) > 0 {
		l += " kinds=" + kindCounts(s.kinds)
	}
	if len(s.cron) > 0 {
		var parts []string
		for _, c := range slices.Sorted(maps.Keys(s.cron)) {
			parts = append(parts, fmt.Sprintf("%dx%d", s.cron[c], c))
		}
		l += " cron=" + strings.Join(parts, ",")
	}
	if s.err != nil {
		l += " error=" + strings.ReplaceAll(s.err.Error(), "\n", " ")
	}
	return l
}

// plus spells per-node counts as 0+2+1.
func plus(ns []int) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, strconv.Itoa(n))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "+")
}

// kindCounts spells faults by kind, in allKinds order: "kill:2,pg-kill:1".
func kindCounts(m map[string]int) string {
	var parts []string
	for _, k := range allKinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
		}
	}
	return strings.Join(parts, ",")
}
