// Package ami is a client for the Asterisk Manager Interface (AMI), the
// line-based TCP protocol on port 5038 that Asterisk uses for control and
// event delivery.
//
// The package owns the wire protocol and nothing above it:
//
//   - A lenient, allocation-light message parser ([Reader]) that accepts CRLF
//     or bare LF, keeps headers in order with duplicates, splits on the first
//     ": " only and keeps lines without a colon as raw text.
//   - A writer that refuses header names or values containing CR, LF or NUL
//     and lines longer than 1024 bytes before any byte is written.
//   - A [Client] with one reader goroutine and one writer goroutine that
//     correlates responses to requests by a per-client ActionID, so many
//     actions may be in flight at once, collects list responses until their
//     completion event, and queues unsolicited events in a bounded queue with
//     a documented overflow policy (see [Client.NextEvent]).
//   - Typed helpers for the queue actions (QueueStatus, QueueAdd, QueuePause,
//     ...) and decoders that accept the field spellings of both list items and
//     unsolicited events of Asterisk 11 to 22.
//
// The package must not log, must not keep package-level mutable state, must not
// reconnect on its own (a closed [Client] stays closed; callers dial again
// with their own backoff) and must not interpret queue state beyond decoding
// it: synchronisation policy belongs to the caller.
//
// Errors returned by actions that Asterisk answered with "Response: Error"
// are *[ResponseError] values that unwrap to a sentinel such as
// [ErrAlreadyThere] or [ErrAuth] when the message text is known. Everything
// pending when the connection goes away fails with an error wrapping
// [ErrClosed].
//
// The sub-package amitest provides a fake Asterisk AMI server for tests.
package ami
