package amitest

import (
	"strings"

	"github.com/queuesync/queuesync/pkg/ami"
)

// queue is the model of one queue.
type queue struct {
	cfg       Queue
	members   []*member
	persisted []member // dynamic members as astdb last stored them
}

// member is the model of one queue member.
type member struct {
	iface, name, stateIface string
	dynamic                 bool
	penalty                 int
	paused                  bool
	reason                  string
	ringinuse               bool
	callsTaken              int
	lastCall, lastPause     int64
	loginTime               int64
	wrapuptime              int
	status                  int
	inCall                  bool
}

// find returns the member with interface iface, or nil. Asterisk compares
// interfaces case-insensitively.
func (q *queue) find(iface string) *member {
	for _, m := range q.members {
		if strings.EqualFold(m.iface, iface) {
			return m
		}
	}
	return nil
}

// remove deletes m from the queue.
func (q *queue) remove(m *member) {
	for i, x := range q.members {
		if x == m {
			q.members = append(q.members[:i], q.members[i+1:]...)
			return
		}
	}
}

// persist records the dynamic members the way app_queue writes astdb after
// an add, remove or pause (penalty and ringinuse changes are not written).
func (q *queue) persist() {
	q.persisted = q.persisted[:0]
	for _, m := range q.members {
		if m.dynamic {
			q.persisted = append(q.persisted, *m)
		}
	}
}

// public converts a member for inspection.
func (m *member) public(queue string) ami.QueueMember {
	ring, wrap := m.ringinuse, m.wrapuptime
	membership := "static"
	if m.dynamic {
		membership = "dynamic"
	}
	return ami.QueueMember{
		Queue: queue, Interface: m.iface, Name: m.name, StateInterface: m.stateIface,
		Membership: membership, Penalty: m.penalty, Paused: m.paused, PausedReason: m.reason,
		Ringinuse: &ring, CallsTaken: m.callsTaken, LastCall: m.lastCall, LastPause: m.lastPause,
		LoginTime: m.loginTime, Status: m.status, Wrapuptime: &wrap, InCall: m.inCall,
	}
}

// buildQueues creates the model from the configuration, static members only.
func (s *Server) buildQueues() {
	now := s.startup.Unix()
	old := s.queues
	s.queues = make([]*queue, 0, len(s.opts.Queues))
	for i, cfg := range s.opts.Queues {
		if cfg.Strategy == "" {
			cfg.Strategy = "ringall"
		}
		q := &queue{cfg: cfg}
		if i < len(old) {
			q.persisted = old[i].persisted
		}
		for _, sm := range cfg.Members {
			m := &member{iface: sm.Interface, name: sm.Name, stateIface: sm.StateInterface,
				penalty: sm.Penalty, ringinuse: true, loginTime: now}
			if m.name == "" {
				m.name = m.iface
			}
			if m.stateIface == "" {
				m.stateIface = m.iface
			}
			m.status = s.deviceStatus(m.stateIface)
			q.members = append(q.members, m)
		}
		s.queues = append(s.queues, q)
	}
}

// restore re-adds the persisted dynamic members after a restart.
func (s *Server) restore() {
	now := s.startup.Unix()
	for _, q := range s.queues {
		for _, p := range q.persisted {
			if q.find(p.iface) != nil {
				continue
			}
			m := &member{iface: p.iface, name: p.name, stateIface: p.stateIface, dynamic: true,
				penalty: p.penalty, paused: p.paused, reason: p.reason, ringinuse: true,
				loginTime: now, wrapuptime: p.wrapuptime}
			if m.paused {
				m.lastPause = now
			}
			m.status = s.deviceStatus(m.stateIface)
			q.members = append(q.members, m)
		}
	}
}

// findQueue returns the queue named name (case-insensitive), or nil.
func (s *Server) findQueue(name string) *queue {
	for _, q := range s.queues {
		if strings.EqualFold(q.cfg.Name, name) {
			return q
		}
	}
	return nil
}

// matching returns the queues an action applies to: the named one, or all
// when name is empty.
func (s *Server) matching(name string) []*queue {
	if name == "" {
		return s.queues
	}
	if q := s.findQueue(name); q != nil {
		return []*queue{q}
	}
	return nil
}

// deviceStatus is the device state of a state interface: what was set for
// it, else 0 (unknown) for Custom:, 1 (not in use) for Local/ and 4
// (invalid) for anything else, since no channel driver is loaded.
func (s *Server) deviceStatus(dev string) int {
	if st, ok := s.devstate[strings.ToLower(dev)]; ok {
		return st
	}
	switch {
	case hasPrefixFold(dev, "Custom:"):
		return 0
	case hasPrefixFold(dev, "Local/"):
		return 1
	}
	return 4
}

// hasPrefixFold is a case-insensitive strings.HasPrefix.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// deviceStates maps the names "devstate change" and DEVICE_STATE() accept.
func deviceState(name string) (int, bool) {
	states := []string{"UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID",
		"UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"}
	for i, n := range states {
		if strings.EqualFold(n, name) {
			return i, true
		}
	}
	return 0, false
}

// atoi parses like C's atoi: leading sign and digits, else 0.
func atoi(s string) int {
	s = strings.TrimSpace(s)
	n, i, neg := 0, 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<30; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// truths maps Asterisk's spellings of a truth value to it: ast_true's to
// true, ast_false's to false.
var truths = map[string]bool{
	"yes": true, "true": true, "y": true, "t": true, "1": true, "on": true,
	"no": false, "false": false, "n": false, "f": false, "0": false, "off": false,
}

// truth reads s as Asterisk does (case-insensitive, trimmed): ok is false
// when s is neither ast_true nor ast_false.
func truth(s string) (v, ok bool) {
	v, ok = truths[strings.ToLower(strings.TrimSpace(s))]
	return v, ok
}

// astTrue is Asterisk's ast_true: anything but a true spelling is false.
func astTrue(s string) bool {
	v, _ := truth(s)
	return v
}
