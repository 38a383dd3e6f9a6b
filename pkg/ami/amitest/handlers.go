package amitest

import (
	"fmt"
	"strings"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// handler answers one action of a logged-in session, with srv.mu held.
type handler func(sess *session, m ami.Message, r reply)

// lookup returns the handler of an action and the write class it needs (0 =
// none), as "manager show command" reports them.
func (s *Server) lookup(name string) (handler, int, bool) {
	switch strings.ToLower(name) {
	case "ping":
		return s.ping, 0, true
	case "events":
		return s.events, 0, true
	case "queuestatus":
		return s.queueStatus, 0, true
	case "queuesummary":
		return s.queueSummary, 0, true
	case "queuereload":
		return s.queueReload, 0, true
	case "queueadd":
		return s.queueAdd, classAgent, true
	case "queueremove":
		return s.queueRemove, classAgent, true
	case "queuepause":
		return s.queuePause, classAgent, true
	case "queuepenalty":
		return s.queuePenalty, classAgent, true
	case "queuememberringinuse":
		return s.queueRingInUse, classAgent, !s.opts.Asterisk11
	case "queuelog":
		return s.queueLog, classAgent, true
	case "corestatus":
		return s.coreStatus, classSystem | classReporting, true
	case "command":
		return s.command, classCommand, true
	case "setvar":
		return s.setvar, classCall, true
	}
	return nil, 0, false
}

// actionNames are the canonical spellings of the actions lookup knows.
var actionNames = []string{"Ping", "Events", "QueueStatus", "QueueSummary", "QueueReload",
	"QueueAdd", "QueueRemove", "QueuePause", "QueuePenalty", "QueueMemberRingInUse",
	"QueueLog", "CoreStatus", "Command", "Setvar"}

// canonicalAction returns the canonical spelling of a known action name.
func canonicalAction(name string) string {
	for _, n := range actionNames {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return name
}

// login authenticates a session. A failure is answered after AuthFailDelay
// and then the connection is closed, as Asterisk does.
func (s *Server) login(sess *session, m ami.Message, r reply) {
	user := s.findUser(m.Get("Username"), m.Get("Secret"))
	if user == nil {
		time.Sleep(s.opts.AuthFailDelay)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.broadcast(classSecurity, s.securityEvent("InvalidPassword", "Error", "2", sess,
			"AccountID", m.Get("Username"), "SessionID", "", "LocalAddress", "", "RemoteAddress", "",
			"SessionTV", "1970-01-01T00:00:00.000+0000"))
		sess.send(response(r, "Error", "Message", "Authentication failed"))
		sess.closeAfterFlush()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.user != nil {
		sess.send(response(r, "Success", "Message", "Already authenticated"))
		return
	}
	sess.user = user
	sess.read = atoiClasses(user.Read)
	sess.mask = classAll
	if ev, ok := m.Lookup("Events"); ok {
		if mask, valid := parseClasses(ev); valid {
			sess.mask = mask
		}
	}
	sess.send(response(r, "Success", "Message", "Authentication accepted"))
	if sess.wants(classSystem) {
		up := fmt.Sprint(int64(s.opts.Now().Sub(s.startup).Seconds()))
		var w builder
		sess.send(w.add("Event", "FullyBooted").add("Privilege", "system,all").
			add("Uptime", up).add("LastReload", up).add("Status", "Fully Booted").end())
	}
	s.broadcast(classSecurity, s.securityEvent("SuccessfulAuth", "Informational", "1", sess,
		"AccountID", user.Name, "SessionID", "", "LocalAddress", "", "RemoteAddress", "",
		"UsingPassword", "0", "SessionTV", ""))
}

// findUser returns the user with that name and secret, or nil.
func (s *Server) findUser(name, secret string) *User {
	for i := range s.opts.Users {
		u := &s.opts.Users[i]
		if strings.EqualFold(u.Name, name) && u.Secret == secret {
			return u
		}
	}
	return nil
}

// ping answers Ping.
func (s *Server) ping(sess *session, _ ami.Message, r reply) {
	now := s.opts.Now()
	ts := fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	sess.send(response(r, "Success", "Ping", "Pong", "Timestamp", ts))
}

// events answers Events (EventMask: on|off|class list).
func (s *Server) events(sess *session, m ami.Message, r reply) {
	mask, ok := parseClasses(m.Get("EventMask"))
	if !ok {
		sess.send(response(r, "Error", "Message", "Invalid event mask"))
		return
	}
	sess.mask = mask
	state := "On"
	if mask == 0 {
		state = "Off"
	}
	sess.send(response(r, "Success", "Events", state))
}

// queueStatus answers QueueStatus with its list, written as one unit so
// that no event lands inside it.
func (s *Server) queueStatus(sess *session, m ami.Message, r reply) {
	filter := m.Get("Member")
	out := s.listStart(r, "Queue status will follow")
	n := 0
	for _, q := range s.listed(m.Get("Queue")) {
		out = append(out, s.listParams(r, q)...)
		n++
		for _, mem := range q.members {
			if filter == "" || strings.EqualFold(filter, mem.iface) {
				out = append(out, s.listMember(r, q, mem)...)
				n++
			}
		}
	}
	sess.send(append(out, s.listEnd(r, "QueueStatusComplete", n)...))
}

// queueSummary answers QueueSummary. LoggedIn counts members whose device is
// neither invalid nor unavailable; Available those of them not paused and
// not in use, as app_queue.c does.
func (s *Server) queueSummary(sess *session, m ami.Message, r reply) {
	out := s.listStart(r, "Queue summary will follow")
	queues := s.listed(m.Get("Queue"))
	for _, q := range queues {
		in, avail := 0, 0
		for _, mem := range q.members {
			if mem.status == 4 || mem.status == 5 {
				continue
			}
			in++
			if (mem.status == 0 || mem.status == 1) && !mem.paused {
				avail++
			}
		}
		var w builder
		w.add("Event", "QueueSummary").add("Queue", q.cfg.Name).num("LoggedIn", int64(in)).
			num("Available", int64(avail)).add("Callers", "0").add("HoldTime", "0").
			add("TalkTime", "0").add("LongestHoldTime", "0").id(r)
		out = append(out, w.end()...)
	}
	sess.send(append(out, s.listEnd(r, "QueueSummaryComplete", len(queues))...))
}

// listed returns the queues a QueueStatus or QueueSummary reports: all, the
// named one, or none for an unknown name.
func (s *Server) listed(name string) []*queue {
	if name == "" {
		return s.queues
	}
	return s.matching(name)
}

// queueReload answers QueueReload; like the real one it emits no member
// events and keeps dynamic members.
func (s *Server) queueReload(sess *session, _ ami.Message, r reply) {
	sess.send(response(r, "Success", "Message", "Queue reloaded successfully"))
}

// queueLog answers QueueLog.
func (s *Server) queueLog(sess *session, _ ami.Message, r reply) {
	sess.send(response(r, "Success", "Message", "Event added successfully"))
}

// coreStatus answers CoreStatus in the server's local time.
func (s *Server) coreStatus(sess *session, _ ami.Message, r reply) {
	st, rl := s.startup.Local(), s.reload.Local()
	sess.send(response(r, "Success",
		"CoreStartupDate", st.Format("2006-01-02"), "CoreStartupTime", st.Format("15:04:05"),
		"CoreReloadDate", rl.Format("2006-01-02"), "CoreReloadTime", rl.Format("15:04:05"),
		"CoreCurrentCalls", "0", "CoreProcessedCalls", "0"))
}

// setvar answers Setvar; only DEVICE_STATE(device) has an effect.
func (s *Server) setvar(sess *session, m ami.Message, r reply) {
	sess.send(response(r, "Success", "Message", "Variable Set"))
	dev, ok := strings.CutPrefix(m.Get("Variable"), "DEVICE_STATE(")
	if st, known := deviceState(m.Get("Value")); ok && known && strings.HasSuffix(dev, ")") {
		s.setDeviceState(strings.TrimSuffix(dev, ")"), st)
	}
}
