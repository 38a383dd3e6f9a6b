// Package peer is queuesync's node-to-node API (architecture.md §3): the versioned
// XML documents two nodes exchange, the validation every received value goes
// through before it can reach AMI, the HMAC request signing, the
// http.Handler that serves GET /queue/v1/health, GET /queue/v1/state and
// POST /queue/v1/changes, and the Client that calls them.
//
// It owns the wire format and the trust boundary: nothing a peer sends (in a
// request or in a response) leaves this package unless it passed
// ValidateRegister, so no CR, LF or NUL and no over-long value can reach an
// AMI line. It does not apply changes, read the journal or talk to Asterisk:
// the handler calls a Receiver, which the daemon implements. It never logs
// secrets.
//
// See docs/architecture.md §3 and queuesync-peer-api(7).
package peer
