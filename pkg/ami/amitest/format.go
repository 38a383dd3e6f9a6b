package amitest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Event classes, as manager.h numbers them.
const (
	classSystem    = 1 << 0
	classCall      = 1 << 1
	classCommand   = 1 << 4
	classAgent     = 1 << 5
	classReporting = 1 << 9
	classSecurity  = 1 << 17
	classAll       = 1<<20 - 1
)

// parseClasses parses a manager.conf class list or an Events/EventMask value.
// ok is false when nothing in it was recognised.
func parseClasses(s string) (mask int, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "on", "yes", "true", "all":
		return classAll, true
	case "off", "no", "false", "none", "":
		return 0, s != ""
	}
	names := map[string]int{"system": classSystem, "call": classCall, "log": 1 << 2,
		"verbose": 1 << 3, "command": classCommand, "agent": classAgent, "user": 1 << 6,
		"config": 1 << 7, "dtmf": 1 << 8, "reporting": classReporting, "cdr": 1 << 10,
		"dialplan": 1 << 11, "originate": 1 << 12, "agi": 1 << 13, "cc": 1 << 14,
		"aoc": 1 << 15, "test": 1 << 16, "security": classSecurity, "message": 1 << 18,
		"all": classAll}
	for _, part := range splitComma(s) {
		if bit, found := names[part]; found {
			mask, ok = mask|bit, true
		}
	}
	return mask, ok
}

// splitComma splits a comma list, trimming spaces and lower-casing.
func splitComma(s string) []string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return parts
}

// builder assembles one message in wire format.
type builder struct{ b []byte }

// add appends "key: value\r\n"; the value is written verbatim.
func (w *builder) add(key, value string) *builder {
	w.b = append(w.b, key...)
	w.b = append(w.b, ": "...)
	w.b = append(w.b, value...)
	w.b = append(w.b, "\r\n"...)
	return w
}

// num appends an integer header.
func (w *builder) num(key string, v int64) *builder {
	return w.add(key, strconv.FormatInt(v, 10))
}

// flag appends a 0/1 header.
func (w *builder) flag(key string, v bool) *builder {
	if v {
		return w.add(key, "1")
	}
	return w.add(key, "0")
}

// id appends the ActionID header when the request had one.
func (w *builder) id(r reply) *builder {
	if r.hasID {
		w.add("ActionID", r.id)
	}
	return w
}

// end terminates the message and returns its bytes.
func (w *builder) end() []byte { return append(w.b, "\r\n"...) }

// reply identifies the request being answered.
type reply struct {
	id    string
	hasID bool
}

// response builds "Response: status", the ActionID, then key/value pairs.
func response(r reply, status string, kv ...string) []byte {
	var w builder
	w.add("Response", status).id(r)
	for i := 0; i+1 < len(kv); i += 2 {
		w.add(kv[i], kv[i+1])
	}
	return w.end()
}

// event starts an unsolicited event: its name, privilege and, when the
// server has one, SystemName.
func (s *Server) event(name, privilege string) *builder {
	w := &builder{}
	w.add("Event", name).add("Privilege", privilege)
	if s.opts.SystemName != "" {
		w.add("SystemName", s.opts.SystemName)
	}
	return w
}

// memberEvent builds an unsolicited QueueMember* event, or nil where
// Asterisk 22 sends none: it builds these events as JSON, and drops every
// event of a member whose name, state interface or pause reason is not
// UTF-8.
func (s *Server) memberEvent(name string, q *queue, m *member) []byte {
	if !utf8.ValidString(m.name) || !utf8.ValidString(m.stateIface) || !utf8.ValidString(m.reason) {
		return nil
	}
	if s.opts.Asterisk11 {
		return s.memberEvent11(name, q, m)
	}
	w := s.event(name, "agent,all")
	w.add("Queue", q.cfg.Name).add("MemberName", m.name).add("Interface", m.iface)
	s.memberFields(w, m)
	w.add("PausedReason", m.reason).flag("Ringinuse", m.ringinuse).num("Wrapuptime", int64(m.wrapuptime))
	return w.end()
}

// memberFields appends the fields shared by events and list items, from
// StateInterface to Paused.
func (s *Server) memberFields(w *builder, m *member) {
	membership := "static"
	if m.dynamic {
		membership = "dynamic"
	}
	w.add("StateInterface", m.stateIface).add("Membership", membership).
		num("Penalty", int64(m.penalty)).num("CallsTaken", int64(m.callsTaken)).
		num("LastCall", m.lastCall)
	if !s.opts.Asterisk11 {
		w.num("LastPause", m.lastPause).num("LoginTime", m.loginTime).flag("InCall", m.inCall)
	}
	w.num("Status", int64(m.status)).flag("Paused", m.paused)
}

// memberEvent11 builds the approximate Asterisk 11 form of a member event.
func (s *Server) memberEvent11(name string, q *queue, m *member) []byte {
	if name == "QueueMemberPause" {
		name = "QueueMemberPaused"
	}
	w := s.event(name, "agent,all")
	w.add("Queue", q.cfg.Name).add("Location", m.iface).add("MemberName", m.name)
	switch name {
	case "QueueMemberPaused":
		w.flag("Paused", m.paused)
		if m.reason != "" {
			w.add("Reason", m.reason)
		}
	case "QueueMemberPenalty":
		w.num("Penalty", int64(m.penalty))
	case "QueueMemberAdded", "QueueMemberStatus":
		s.memberFields(w, m)
	}
	return w.end()
}

// listMember builds a QueueMember list item of QueueStatus.
func (s *Server) listMember(r reply, q *queue, m *member) []byte {
	var w builder
	w.add("Event", "QueueMember").add("Queue", q.cfg.Name).add("Name", m.name).add("Location", m.iface)
	s.memberFields(&w, m)
	if !s.opts.Asterisk11 {
		w.add("PausedReason", m.reason).num("Wrapuptime", int64(m.wrapuptime))
	}
	return w.id(r).end()
}

// listParams builds a QueueParams list item of QueueStatus.
func (s *Server) listParams(r reply, q *queue) []byte {
	var w builder
	w.add("Event", "QueueParams").add("Queue", q.cfg.Name).add("Max", "0").
		add("Strategy", q.cfg.Strategy).add("Calls", "0").add("Holdtime", "0").
		add("TalkTime", "0").add("Completed", "0").add("Abandoned", "0").
		add("ServiceLevel", "0").add("ServicelevelPerf", "0.0")
	if !s.opts.Asterisk11 {
		w.add("ServicelevelPerf2", "0.0")
	}
	return w.add("Weight", "0").id(r).end()
}

// listStart builds the response that opens a list.
func (s *Server) listStart(r reply, message string) []byte {
	if s.opts.Asterisk11 {
		return response(r, "Success", "Message", message)
	}
	return response(r, "Success", "EventList", "start", "Message", message)
}

// listEnd builds the event that closes a list of n items.
func (s *Server) listEnd(r reply, event string, n int) []byte {
	var w builder
	w.add("Event", event).id(r)
	if !s.opts.Asterisk11 {
		w.add("EventList", "Complete").num("ListItems", int64(n))
	}
	return w.end()
}

// securityEvent builds a security-class event such as SuccessfulAuth.
// fields are key/value pairs in the real event's order; the values of
// SessionID, LocalAddress, RemoteAddress and SessionTV are filled in when
// left empty.
func (s *Server) securityEvent(name, severity, version string, sess *session, fields ...string) []byte {
	tv := s.opts.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	w := s.event(name, "security,all")
	w.add("EventTV", tv).add("Severity", severity).add("Service", "AMI").add("EventVersion", version)
	auto := map[string]string{"SessionID": fmt.Sprintf("0x%x", sess.num), "SessionTV": tv,
		"LocalAddress": amiAddress(sess.local), "RemoteAddress": amiAddress(sess.remote)}
	for i := 0; i+1 < len(fields); i += 2 {
		v := fields[i+1]
		if v == "" {
			v = auto[fields[i]]
		}
		w.add(fields[i], v)
	}
	return w.end()
}

// amiAddress renders "127.0.0.1:5038" the way Asterisk's security events
// do: "IPV4/TCP/127.0.0.1/5038".
func amiAddress(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		hostport = hostport[:i] + "/" + hostport[i+1:]
	}
	return "IPV4/TCP/" + hostport
}
