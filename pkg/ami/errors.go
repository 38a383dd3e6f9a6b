package ami

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of these where it
// applies; test them with errors.Is.
var (
	// ErrClosed means the connection is gone (closed by either side, or broken).
	ErrClosed = errors.New("ami: connection closed")
	// ErrUnanswered comes with ErrClosed when the action had been handed to
	// the connection before it was lost: Asterisk may or may not have
	// carried it out. Without it, the action was never sent.
	ErrUnanswered = errors.New("ami: sent, but no answer before the connection was lost")
	// ErrAuth means Asterisk answered "Authentication failed".
	ErrAuth = errors.New("ami: authentication failed")
	// ErrPermission means Asterisk answered "Permission denied": the action
	// came before Login or the user lacks the needed write class.
	ErrPermission = errors.New("ami: permission denied")
	// ErrAlreadyThere means QueueAdd found the interface already in the queue.
	ErrAlreadyThere = errors.New("ami: member already there")
	// ErrNotThere means QueueRemove did not find the interface in the queue.
	ErrNotThere = errors.New("ami: member not there")
	// ErrNoSuchQueue means QueueAdd or QueueRemove named an unknown queue.
	ErrNoSuchQueue = errors.New("ami: no such queue")
	// ErrNotDynamic means QueueRemove targeted a static member.
	ErrNotDynamic = errors.New("ami: member not dynamic")
	// ErrInterfaceNotFound means QueuePause found no such member (Asterisk
	// gives this for an unknown queue too).
	ErrInterfaceNotFound = errors.New("ami: interface not found")
	// ErrInvalid means QueuePenalty or QueueMemberRingInUse was refused:
	// "Invalid interface, queuename or penalty" (or "... or ringinuse value").
	ErrInvalid = errors.New("ami: invalid interface, queue name or value")
	// ErrUnknownAction means Asterisk does not know the action name.
	ErrUnknownAction = errors.New("ami: unknown action")
	// ErrUnsafeValue means a header name or value contained CR, LF or NUL (or
	// a name was empty or contained a colon); nothing was written.
	ErrUnsafeValue = errors.New("ami: unsafe header")
	// ErrLineTooLong means an outgoing line exceeded 1024 bytes (nothing was
	// written) or an incoming line exceeded the reader's limit.
	ErrLineTooLong = errors.New("ami: line too long")
	// ErrMessageTooLarge means an incoming message exceeded the reader's limit.
	ErrMessageTooLarge = errors.New("ami: message too large")
	// ErrReservedHeader means the caller set a header the client owns
	// (ActionID, or Action inside Headers); nothing was written.
	ErrReservedHeader = errors.New("ami: reserved header")
	// ErrProtocol means the peer did not speak AMI (for example a bad banner).
	ErrProtocol = errors.New("ami: protocol error")
	// ErrTimeout means the connection was closed because the server stopped
	// answering (Options.ReadTimeout or Options.KeepAlive expired).
	ErrTimeout = errors.New("ami: timeout")
)

// ResponseError is an action that Asterisk answered with "Response: Error".
// Unwrap returns the sentinel matching Message (for example ErrNotThere), or
// nil when the text is not one this package knows.
type ResponseError struct {
	Action   string // the action name, e.g. "QueuePause"
	ActionID string // the ActionID the client sent
	Message  string // the Message header, verbatim
}

// Error returns text like "ami QueuePause (id qs-12): Interface not found".
func (e *ResponseError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "error response"
	}
	return "ami " + e.Action + " (id " + e.ActionID + "): " + msg
}

// Unwrap returns the sentinel for Message, or nil.
func (e *ResponseError) Unwrap() error {
	return sentinelFor(e.Message)
}

// sentinels maps Asterisk's error texts to sentinels, by the text's end
// (or, where marked, its start). The texts come from app_queue.c and
// manager.c of Asterisk 22 (see NOTES.md).
var sentinels = []struct {
	text   string
	prefix bool
	err    error
}{
	{text: "Authentication failed", err: ErrAuth},
	{text: "Permission denied", err: ErrPermission},
	{text: "Already there", err: ErrAlreadyThere},
	{text: "Not there", err: ErrNotThere},
	{text: "No such queue", err: ErrNoSuchQueue},
	{text: "Member not dynamic", err: ErrNotDynamic},
	{text: "Interface not found", err: ErrInterfaceNotFound},
	{text: "Invalid interface, queuename", prefix: true, err: ErrInvalid},
	{text: "Invalid/unknown command", prefix: true, err: ErrUnknownAction},
}

// sentinelFor returns the sentinel for an error message, or nil.
func sentinelFor(msg string) error {
	msg = strings.TrimSpace(msg)
	for _, s := range sentinels {
		if msg != "" && (s.prefix && strings.HasPrefix(msg, s.text) || !s.prefix && strings.HasSuffix(msg, s.text)) {
			return s.err
		}
	}
	return nil
}

// HeaderError is an outgoing action refused before any byte was written
// because of one header. Err is ErrUnsafeValue, ErrLineTooLong or
// ErrReservedHeader.
type HeaderError struct {
	Action string // the action name
	Header string // the offending header name
	Err    error
}

// Error returns text like `ami QueuePause header "Reason": ami: unsafe header`.
func (e *HeaderError) Error() string {
	return "ami " + e.Action + " header " + strconv.Quote(e.Header) + ": " + e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *HeaderError) Unwrap() error { return e.Err }
