package amitest

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// Banner is the greeting of Asterisk 22 (AMI protocol version 11.0.0).
const Banner = "Asterisk Call Manager/11.0.0"

// Server is a fake Asterisk AMI server. It is safe for concurrent use.
type Server struct {
	opts ServerOptions
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond // signalled when stalled or closed changes
	stalled  bool
	held     int // actions read but held by the stall
	closed   bool
	queues   []*queue
	devstate map[string]int // lower-cased device -> state
	startup  time.Time
	reload   time.Time
	sessions map[*session]struct{}
	nextNum  int
	actions  map[string]map[string]int // lower-cased user -> action -> count
	lose     map[string]int            // lower-cased action -> answers still to lose (LoseAnswer)
}

// NewServer starts a fake server listening on 127.0.0.1 on a free port. It
// panics if it cannot listen, like httptest.NewServer. Call Close when done.
func NewServer(opts ServerOptions) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		devstate: make(map[string]int),
		sessions: make(map[*session]struct{}),
		actions:  make(map[string]map[string]int),
	}
	s.cond = sync.NewCond(&s.mu)
	s.startup = s.opts.Now().Truncate(time.Second)
	s.reload = s.startup
	s.buildQueues()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("amitest: listen on 127.0.0.1:0: " + err.Error())
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// Addr returns the listening address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Pipe returns the client end of a net.Pipe whose other end the server
// serves like a TCP connection; the banner is the first thing to read.
func (s *Server) Pipe() net.Conn {
	client, server := net.Pipe()
	s.serve(server, "127.0.0.1:5038", "127.0.0.1:1")
	return client
}

// Close stops listening, cuts every connection and waits for the server's
// goroutines to exit.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	for sess := range s.sessions {
		sess.kill()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// DropConnections cuts every connection at once, without a Shutdown event
// or flushing pending output (fault injection). The model is unchanged.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		sess.kill()
	}
}

// Restart behaves like "core restart now": every session that receives
// system events gets "Event: Shutdown" (Shutdown: Cleanly, Restart: True),
// all connections are closed after their pending output, and the model is
// rebuilt: static members return to their configuration (a static member's
// pause is lost), dynamic members come back only if persist, as astdb last
// stored them (so penalty changes made after a queue's last add, remove or
// pause are lost, and ringinuse resets). The startup time moves forward by at
// least one second. New connections are accepted at once; actions that still
// arrive on the old ones are not answered and change nothing (the Asterisk
// they were sent to is gone).
func (s *Server) Restart(persist bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.event("Shutdown", "system,all")
	s.broadcast(classSystem, w.add("Shutdown", "Cleanly").add("Restart", "True").end())
	for sess := range s.sessions {
		sess.closeAfterFlush()
	}
	now := s.opts.Now().Truncate(time.Second)
	if !now.After(s.startup) {
		now = s.startup.Add(time.Second)
	}
	s.startup, s.reload = now, now
	s.buildQueues()
	if persist {
		s.restore()
	} else {
		for _, q := range s.queues {
			q.persisted = nil
		}
	}
}

// ReloadModule is `module reload app_queue.so` with queues.conf unchanged:
// every dynamic member keeps its state, ringinuse included (Asterisk
// 22.10.1); every static member is made anew from queues.conf but keeps its
// pause and penalty: it loses its pause reason, and its login (and pause,
// if paused) time is the reload's. The server sends Event: Reload (class
// system) and no member event.
func (s *Server) ReloadModule() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().Unix()
	for _, q := range s.queues {
		for _, m := range q.members {
			if m.dynamic {
				continue
			}
			m.reason, m.loginTime = "", now
			if m.paused {
				m.lastPause = now
			}
		}
	}
	w := s.event("Reload", "system,all")
	s.broadcast(classSystem, w.add("Module", "app_queue.so").add("Status", "0").end())
}

// SetInCall marks the member iface of every queue as on a call or not, as a
// call's start or end does, and sends QueueMemberStatus for each.
func (s *Server) SetInCall(iface string, inCall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		if m := q.find(iface); m != nil {
			m.inCall = inCall
			s.broadcast(classAgent, s.memberEvent("QueueMemberStatus", q, m))
		}
	}
}

// SetStall makes the server stop (true) or resume (false) processing
// actions. While stalled, actions are read but not answered, so clients'
// contexts expire; on resume the late answers are sent.
func (s *Server) SetStall(stalled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalled = stalled
	s.cond.Broadcast()
}

// LoseAnswer makes the server carry out the next action named name, then
// close its connection without answering it: the answer is lost with the
// connection, as when a network cut comes between Asterisk's work and its
// reply. Calls add up.
func (s *Server) LoseAnswer(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose == nil {
		s.lose = map[string]int{}
	}
	s.lose[strings.ToLower(name)]++
}

// takeLoss reports whether the answer to this action named name is to be
// lost. Callers hold s.mu.
func (s *Server) takeLoss(name string) bool {
	k := strings.ToLower(name)
	if s.lose[k] == 0 {
		return false
	}
	s.lose[k]--
	return true
}

// Held returns how many actions the server has read but not processed
// because it is stalled (see SetStall), Logins included. A test waits for it
// to know that a client is blocked on an answer.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Members returns the current members of a queue, in the server's order, or
// nil for an unknown queue.
func (s *Server) Members(queue string) []ami.QueueMember {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.findQueue(queue)
	if q == nil {
		return nil
	}
	out := make([]ami.QueueMember, 0, len(q.members))
	for _, m := range q.members {
		out = append(out, m.public(q.cfg.Name))
	}
	return out
}

// Actions returns how many actions of each kind user has sent since the
// server started, keyed by the action's canonical name ("QueueAdd",
// "QueuePause", ...). Only known actions of a logged-in session count,
// including those refused or failed; Login and Logoff do not, nor do
// actions read from a connection that is closing (see Restart). A test uses it
// to check which actions the code under test sent, and that it sent none
// when the target already held.
func (s *Server) Actions(user string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.actions[strings.ToLower(user)]))
	for k, v := range s.actions[strings.ToLower(user)] {
		out[k] = v
	}
	return out
}

// StartupTime returns the time CoreStatus reports as the startup time.
func (s *Server) StartupTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startup
}

// SetDeviceState sets the state of a device such as "Custom:2000" (0
// unknown ... 5 unavailable, 6 ringing) and sends QueueMemberStatus for every
// member whose state interface it is and whose status changed, as
// "devstate change" does.
func (s *Server) SetDeviceState(device string, state int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setDeviceState(device, state)
}

// setDeviceState is SetDeviceState with s.mu held.
func (s *Server) setDeviceState(device string, state int) {
	s.devstate[strings.ToLower(device)] = state
	for _, q := range s.queues {
		for _, m := range q.members {
			if strings.EqualFold(m.stateIface, device) && m.status != state {
				m.status = state
				s.broadcast(classAgent, s.memberEvent("QueueMemberStatus", q, m))
			}
		}
	}
}

// Inject sends an arbitrary event to every logged-in session that has
// events on, regardless of class. Headers are written verbatim, so a test
// can also inject malformed input.
func (s *Server) Inject(headers ...ami.Header) {
	var w builder
	for _, h := range headers {
		w.add(h.Key, h.Value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broadcast(classAll, w.end())
}

// Connections returns the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// broadcast queues an event for every logged-in session allowed to receive
// class (by the user's read classes and the session's event mask). Callers
// hold s.mu, so every session sees events in the same order.
func (s *Server) broadcast(class int, msg []byte) {
	if msg == nil {
		return
	}
	for sess := range s.sessions {
		if sess.wants(class) {
			sess.send(msg)
		}
	}
}

// acceptLoop serves TCP connections until the listener closes.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.serve(conn, conn.LocalAddr().String(), conn.RemoteAddr().String())
	}
}

// waitRunning blocks while the server is stalled and reports whether it is
// still open.
func (s *Server) waitRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled {
		s.held++
		defer func() { s.held-- }()
	}
	for s.stalled && !s.closed {
		s.cond.Wait()
	}
	return !s.closed
}
