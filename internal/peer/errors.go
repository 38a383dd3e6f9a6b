package peer

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/queuesync/queuesync/internal/state"
)

// Sentinel errors. Errors returned by this package wrap one of them (or
// state.ErrClockSkew), so callers can test with errors.Is.
var (
	// ErrInvalid marks a value that fails validation (see ValidateRegister).
	ErrInvalid = errors.New("invalid value")
	// ErrMalformed marks a document that is not well-formed queuesync XML.
	ErrMalformed = errors.New("malformed document")
	// ErrVersion marks a document of a version this node does not speak.
	ErrVersion = errors.New("unsupported document version")
	// ErrUnauthorized marks a request the peer refused to authenticate: the
	// shared secrets differ, the clocks are more than 5 minutes apart, the
	// node is unknown to the peer, or the request was replayed.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge marks a body over the size limit.
	ErrTooLarge = errors.New("body too large")
	// ErrBadRequest marks a request the peer could not understand.
	ErrBadRequest = errors.New("bad request")
	// ErrProtocol marks an answer that does not follow the peer API: wrong
	// path or method (is the URL that of a queuesync node?), the wrong node
	// answering, a result set that does not match the request.
	ErrProtocol = errors.New("peer API mismatch")
	// ErrServer marks a failure on the peer's side (HTTP 5xx).
	ErrServer = errors.New("peer failed")
	// ErrUntrusted marks an answer whose signature does not verify (see
	// VerifyAnswer), a redirect, or a register outside the queues shared
	// with the peer in an answer. Nothing from such an answer is applied or
	// counted as delivered: treat the peer as unreachable and say why.
	ErrUntrusted = errors.New("untrusted answer")
	// ErrNotShared marks a register of a queue not shared with the peer
	// (its queues: in peers:). The receiver answers it with status error
	// and the reason "not shared: ..."; the sender never sends it.
	ErrNotShared = errors.New("not shared")
)

// UntrustedError is an answer this node must not act on. It wraps
// ErrUntrusted and, when the answer was an error, the *StatusError the
// peer seemed to give.
type UntrustedError struct {
	Reason string
	Status *StatusError // the unverified error answer, if it was one
}

// Error says why the answer is not trusted.
func (e *UntrustedError) Error() string {
	if e.Status != nil {
		return fmt.Sprintf("%s: %s (%s)", ErrUntrusted, e.Reason, e.Status)
	}
	return fmt.Sprintf("%s: %s", ErrUntrusted, e.Reason)
}

// Unwrap returns ErrUntrusted and the unverified status, if any.
func (e *UntrustedError) Unwrap() []error {
	if e.Status != nil {
		return []error{ErrUntrusted, e.Status}
	}
	return []error{ErrUntrusted}
}

// StatusError is a non-2xx answer from a peer. Body is the peer's
// explanation, stripped of control characters and truncated.
type StatusError struct {
	Code int
	Body string
}

// Error returns the status and the peer's explanation.
func (e *StatusError) Error() string {
	body := e.Body
	if body == "" && e.Code == http.StatusUnauthorized {
		body = "the shared secrets of the two nodes differ or their clocks are more than 5 minutes apart"
	}
	if body == "" {
		body = "no explanation given"
	}
	return fmt.Sprintf("peer answered %d %s: %s", e.Code, http.StatusText(e.Code), body)
}

// Unwrap returns the sentinel matching the status code.
func (e *StatusError) Unwrap() error {
	switch {
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden:
		return ErrUnauthorized
	case e.Code == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case e.Code == http.StatusConflict:
		return state.ErrClockSkew
	case e.Code == http.StatusBadRequest:
		return ErrBadRequest
	case e.Code >= 500:
		return ErrServer
	}
	return ErrProtocol
}

// maxErrorBody bounds the explanation kept from an error answer.
const maxErrorBody = 512

// cleanText makes text from a peer safe to print and log: control
// characters become spaces, surrounding space is trimmed, and it is cut to
// at most max bytes.
func cleanText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\uFFFD' || badRune(r) != "" {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = truncate(s, max) + "…"
	}
	return s
}
