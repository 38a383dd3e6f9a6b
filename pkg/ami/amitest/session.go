package amitest

import (
	"net"
	"strings"
	"sync"

	"github.com/queuesync/queuesync/pkg/ami"
)

// session is one client connection.
type session struct {
	srv           *Server
	conn          net.Conn
	num           int
	local, remote string

	// Guarded by srv.mu.
	user *User
	read int // the user's read classes
	mask int // the event classes the session asked for

	outMu   sync.Mutex
	outCond *sync.Cond
	out     [][]byte
	closing bool // close the connection once out is flushed
	dead    bool
}

// serve registers a connection and starts its reader and writer.
func (s *Server) serve(conn net.Conn, local, remote string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		conn.Close()
		return
	}
	s.nextNum++
	sess := &session{srv: s, conn: conn, num: 0x7f0000001000 + s.nextNum, local: local, remote: remote}
	sess.outCond = sync.NewCond(&sess.outMu)
	s.sessions[sess] = struct{}{}
	sess.send([]byte(Banner + "\r\n"))
	s.wg.Add(2)
	go sess.writeLoop()
	go sess.readLoop()
}

// readLoop parses actions and handles them one at a time.
func (sess *session) readLoop() {
	defer sess.srv.wg.Done()
	defer sess.srv.forget(sess)
	r := ami.NewReader(sess.conn)
	for {
		m, err := r.ReadMessage()
		if err != nil || !sess.srv.waitRunning() {
			sess.kill()
			return
		}
		if len(m.Headers) > 0 {
			sess.srv.handle(sess, m)
		}
	}
}

// forget removes a finished session.
func (s *Server) forget(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}

// writeLoop writes queued output in order until the session dies.
func (sess *session) writeLoop() {
	defer sess.srv.wg.Done()
	var buf []byte
	for {
		sess.outMu.Lock()
		for len(sess.out) == 0 && !sess.closing && !sess.dead {
			sess.outCond.Wait()
		}
		batch, closing, dead := sess.out, sess.closing, sess.dead
		sess.out = nil
		sess.outMu.Unlock()
		if dead {
			return
		}
		buf = buf[:0]
		for _, b := range batch {
			buf = append(buf, b...)
		}
		if len(buf) > 0 {
			if _, err := sess.conn.Write(buf); err != nil {
				sess.kill()
				return
			}
		}
		if closing && len(batch) == 0 {
			sess.kill()
			return
		}
	}
}

// send queues msg for writing; it never blocks.
func (sess *session) send(msg []byte) {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	if !sess.dead && !sess.closing {
		sess.out = append(sess.out, msg)
		sess.outCond.Signal()
	}
}

// ending reports whether the connection is closing or closed. An action
// read from it after Restart must not change the restarted model.
func (sess *session) ending() bool {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	return sess.closing || sess.dead
}

// closeAfterFlush closes the connection once queued output is written.
func (sess *session) closeAfterFlush() {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	sess.closing = true
	sess.outCond.Signal()
}

// kill closes the connection at once.
func (sess *session) kill() {
	sess.outMu.Lock()
	sess.dead = true
	sess.out = nil
	sess.outCond.Signal()
	sess.outMu.Unlock()
	sess.conn.Close()
}

// wants reports whether the session receives events of class. Callers hold
// srv.mu.
func (sess *session) wants(class int) bool {
	return sess.user != nil && sess.read&class != 0 && sess.mask&class != 0
}

// handle answers one action.
func (s *Server) handle(sess *session, m ami.Message) {
	id, hasID := m.Lookup("ActionID")
	r := reply{id: id, hasID: hasID}
	name := strings.TrimSpace(m.Get("Action"))
	if strings.EqualFold(name, "Login") {
		s.login(sess, m, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sess.ending():
		// Logoff, a failed Login or a restart is closing the connection:
		// the Asterisk that read the action is gone, nothing answers it.
	case name == "":
		sess.send(response(r, "Error", "Message", "Missing action in request"))
	case strings.EqualFold(name, "Logoff"):
		sess.send(response(r, "Goodbye", "Message", "Thanks for all the fish."))
		sess.closeAfterFlush()
	case sess.user == nil:
		sess.send(response(r, "Error", "Message", "Permission denied"))
	case s.takeLoss(name):
		sess.kill() // the action is carried out; its answer goes with the connection
		s.dispatch(sess, name, m, r)
	default:
		s.dispatch(sess, name, m, r)
	}
}

// dispatch runs an action of a logged-in session. Callers hold s.mu.
func (s *Server) dispatch(sess *session, name string, m ami.Message, r reply) {
	h, class, ok := s.lookup(name)
	if ok {
		s.count(sess.user.Name, name)
	}
	if !ok {
		sess.send(response(r, "Error", "Message",
			"Invalid/unknown command: "+name+". Use Action: ListCommands to show available commands."))
		s.broadcast(classSecurity, s.securityEvent("RequestBadFormat", "Error", "1", sess,
			"SessionID", "", "LocalAddress", "", "RemoteAddress", "", "RequestType", "Action: "+name,
			"SessionTV", "", "AccountID", sess.user.Name))
		return
	}
	if class != 0 && atoiClasses(sess.user.Write)&class == 0 {
		sess.send(response(r, "Error", "Message", "Permission denied"))
		return
	}
	h(sess, m, r)
}

// atoiClasses parses a user's class list.
func atoiClasses(s string) int {
	mask, _ := parseClasses(s)
	return mask
}

// count records one action of user for Actions. Callers hold s.mu.
func (s *Server) count(user, action string) {
	u := strings.ToLower(user)
	if s.actions[u] == nil {
		s.actions[u] = make(map[string]int)
	}
	s.actions[u][canonicalAction(action)]++
}
