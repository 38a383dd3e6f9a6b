package amitest

import (
	"strings"

	"github.com/queuesync/queuesync/pkg/ami"
)

// queueAdd answers QueueAdd with app_queue's texts and a QueueMemberAdded
// event. Penalty is atoi'd and a negative one becomes 0; Paused is ast_true;
// PausedReason becomes Reason whatever Paused is.
func (s *Server) queueAdd(sess *session, m ami.Message, r reply) {
	qname, iface := m.Get("Queue"), m.Get("Interface")
	switch {
	case qname == "":
		sess.send(response(r, "Error", "Message", "'Queue' not specified."))
		return
	case iface == "":
		sess.send(response(r, "Error", "Message", "'Interface' not specified."))
		return
	}
	q := s.findQueue(qname)
	if q == nil {
		sess.send(response(r, "Error", "Message", "Unable to add interface to queue: No such queue"))
		return
	}
	if q.find(iface) != nil {
		sess.send(response(r, "Error", "Message", "Unable to add interface: Already there"))
		return
	}
	mem := s.newMember(m, iface)
	q.members = append(q.members, mem)
	q.persist()
	sess.send(response(r, "Success", "Message", "Added interface to queue"))
	s.broadcast(classAgent, s.memberEvent("QueueMemberAdded", q, mem))
}

// newMember builds a dynamic member from a QueueAdd request.
func (s *Server) newMember(m ami.Message, iface string) *member {
	now := s.opts.Now().Unix()
	mem := &member{iface: iface, name: m.Get("MemberName"), stateIface: m.Get("StateInterface"),
		dynamic: true, penalty: max(atoi(m.Get("Penalty")), 0), paused: astTrue(m.Get("Paused")),
		reason: m.Get("Reason"), ringinuse: true, loginTime: now, wrapuptime: max(atoi(m.Get("Wrapuptime")), 0)}
	if mem.name == "" {
		mem.name = iface
	}
	if mem.stateIface == "" {
		mem.stateIface = iface
	}
	if mem.paused {
		mem.lastPause = now
	}
	mem.status = s.deviceStatus(mem.stateIface)
	return mem
}

// queueRemove answers QueueRemove.
func (s *Server) queueRemove(sess *session, m ami.Message, r reply) {
	if !need(sess, m, r, "Queue", "Interface") {
		return
	}
	qname, iface := m.Get("Queue"), m.Get("Interface")
	q := s.findQueue(qname)
	if q == nil {
		sess.send(response(r, "Error", "Message", "Unable to remove interface from queue: No such queue"))
		return
	}
	mem := q.find(iface)
	switch {
	case mem == nil:
		sess.send(response(r, "Error", "Message", "Unable to remove interface: Not there"))
		return
	case !mem.dynamic:
		sess.send(response(r, "Error", "Message", "Member not dynamic"))
		return
	}
	q.remove(mem)
	q.persist()
	sess.send(response(r, "Success", "Message", "Removed interface from queue"))
	s.broadcast(classAgent, s.memberEvent("QueueMemberRemoved", q, mem))
}

// queuePause answers QueuePause: every matching member is (un)paused and
// gets Reason (or an empty reason), with one event per queue even when
// nothing changed. An unknown queue gives "Interface not found".
func (s *Server) queuePause(sess *session, m ami.Message, r reply) {
	if !need(sess, m, r, "Interface", "Paused") {
		return
	}
	paused, now := astTrue(m.Get("Paused")), s.opts.Now().Unix()
	msg := "Interface unpaused successfully"
	if paused {
		msg = "Interface paused successfully"
	}
	s.setMembers(sess, m, r, "QueueMemberPause", msg, "Interface not found", func(q *queue, mem *member) bool {
		mem.paused, mem.reason = paused, m.Get("Reason")
		if paused {
			mem.lastPause = now
		}
		q.persist()
		return true
	})
}

// queuePenalty answers QueuePenalty. The change is not persisted, as in
// Asterisk 22.
func (s *Server) queuePenalty(sess *session, m ami.Message, r reply) {
	if !need(sess, m, r, "Interface", "Penalty") {
		return
	}
	penalty := atoi(m.Get("Penalty"))
	s.setMembers(sess, m, r, "QueueMemberPenalty", "Interface penalty set successfully",
		"Invalid interface, queuename or penalty", func(_ *queue, mem *member) bool {
			if penalty < 0 {
				return false
			}
			mem.penalty = penalty
			return true
		})
}

// queueRingInUse answers QueueMemberRingInUse. Its error text really ends
// in a bare LF, which the real server sends before the CRLF.
func (s *Server) queueRingInUse(sess *session, m ami.Message, r reply) {
	if !need(sess, m, r, "Interface", "RingInUse") {
		return
	}
	ringinuse, ok := truth(m.Get("RingInUse"))
	if !ok {
		sess.send(response(r, "Error", "Message",
			"'RingInUse' parameter must be a truth value (yes/no, on/off, 0/1, etc)"))
		return
	}
	s.setMembers(sess, m, r, "QueueMemberRinginuse", "Interface ringinuse set successfully",
		"Invalid interface, queuename, or ringinuse value\n", func(_ *queue, mem *member) bool {
			mem.ringinuse = ringinuse
			return true
		})
}

// need answers app_queue's error when parameter a or b is missing, and
// reports whether both are there.
func need(sess *session, m ami.Message, r reply, a, b string) bool {
	if m.Get(a) == "" || m.Get(b) == "" {
		sess.send(response(r, "Error", "Message", "Need '"+a+"' and '"+b+"' parameters."))
		return false
	}
	return true
}

// setMembers runs set on the action's Interface in every queue its Queue
// matches (all when empty); set reports whether it took the change. The
// answer is success with ok when any queue took it, then one event named
// event per such queue; otherwise the error notFound.
func (s *Server) setMembers(sess *session, m ami.Message, r reply, event, ok, notFound string,
	set func(*queue, *member) bool) {
	var events [][]byte
	for _, q := range s.matching(m.Get("Queue")) {
		if mem := q.find(m.Get("Interface")); mem != nil && set(q, mem) {
			events = append(events, s.memberEvent(event, q, mem))
		}
	}
	if events == nil {
		sess.send(response(r, "Error", "Message", notFound))
		return
	}
	sess.send(response(r, "Success", "Message", ok))
	for _, ev := range events {
		s.broadcast(classAgent, ev)
	}
}

// command answers the Command action for the few CLI commands the fake
// knows: "devstate change DEVICE STATE" and "core restart now"; any other
// command gets the real "No such command" error.
func (s *Server) command(sess *session, m ami.Message, r reply) {
	cmd := strings.Fields(m.Get("Command"))
	switch {
	case len(cmd) == 4 && strings.EqualFold(strings.Join(cmd[:2], " "), "devstate change"):
		st, ok := deviceState(cmd[3])
		if ok && hasPrefixFold(cmd[2], "Custom:") {
			sess.send(response(r, "Success", "Message", "Command output follows",
				"Output", "Changing "+cmd[2][len("Custom:"):]+" to "+cmd[3]))
			s.setDeviceState(cmd[2], st)
			return
		}
	case strings.EqualFold(strings.Join(cmd, " "), "core restart now"):
		sess.send(response(r, "Success", "Message", "Command output follows", "Output", ""))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.Restart(s.opts.PersistentMembers)
		}()
		return
	}
	help := cmd
	if len(help) > 1 {
		help = help[:len(help)-1]
	}
	raw := strings.Join(cmd, " ")
	sess.send(response(r, "Error", "Message", "Command output follows", "Output",
		"No such command '"+raw+"' (type 'core show help "+strings.Join(help, " ")+"' for other possible commands)"))
}
