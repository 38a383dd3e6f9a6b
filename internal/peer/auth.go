package peer

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authenticator checks signed requests (see Sign) against the secrets
// shared with each peer, and refuses replays within the skew window.
type authenticator struct {
	secrets map[string][]byte
	now     func() time.Time
	seen    *replayCache
}

// verify returns the name of the node that signed r with body, or the
// *httpError (401, or 503 when the replay cache is full) to answer.
func (a *authenticator) verify(r *http.Request, body []byte) (string, error) {
	node := r.Header.Get(HeaderNode)
	if node == "" {
		return "", unauthorized("missing %s header: the request is not signed; is the sender a queuesync node?", HeaderNode)
	}
	secret, ok := a.secrets[node]
	if !ok {
		return "", unauthorized("unknown node %s: this node has no peer of that name; add it to peers (with its secret file) in queuesync.yaml", quoteValue(node))
	}
	if len(secret) == 0 {
		return "", unauthorized("no secret for node %s on this node (empty secret file?): requests from it cannot be trusted", node)
	}
	ts, signedAt, err := parseTimestamp(r.Header.Get(HeaderTimestamp))
	if err != nil {
		return "", err
	}
	nonce := r.Header.Get(HeaderNonce)
	if len(nonce) != 32 {
		return "", unauthorized("missing or malformed %s header: want 32 hex digits; is the sender an older queuesync?", HeaderNonce)
	}
	sig, err := parseSignature(r.Header.Get(HeaderSignature))
	if err != nil {
		return "", err
	}
	if !hmac.Equal(sig, mac(secret, canonical(r, ts, nonce, node, body))) {
		return "", unauthorized("signature mismatch: the shared secret for node %s differs on the two nodes; copy the same secret file to both", node)
	}
	now := a.now()
	if skew := now.Sub(signedAt).Abs(); skew > MaxSkew {
		return "", unauthorized("clock skew: the request was signed %s away from this node's clock (limit %s); synchronise the clocks of both nodes (NTP)",
			skew.Round(time.Second), MaxSkew)
	}
	return node, a.remember(sig, signedAt, now)
}

func (a *authenticator) remember(sig []byte, signedAt, now time.Time) error {
	switch a.seen.add([32]byte(sig), signedAt.Add(MaxSkew+time.Second), now) {
	case replayed:
		return unauthorized("replayed request: this signature was already used; every request must be signed afresh")
	case cacheFull:
		return &httpError{code: http.StatusServiceUnavailable, msg: "too many requests within the replay window; retry later"}
	}
	return nil
}

func parseTimestamp(v string) (string, time.Time, error) {
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || v == "" || v[0] == '+' || v[0] == '-' {
		return "", time.Time{}, unauthorized("missing or malformed %s header %s: want Unix seconds", HeaderTimestamp, quoteValue(v))
	}
	return v, time.Unix(sec, 0), nil
}

func parseSignature(v string) ([]byte, error) {
	h, ok := strings.CutPrefix(v, signatureVersion)
	sig, err := hex.DecodeString(h)
	if !ok || err != nil || len(sig) != 32 {
		return nil, unauthorized("missing or malformed %s header: want v1=<64 hex digits>", HeaderSignature)
	}
	return sig, nil
}

// httpError is an error answer: its status code and the text that says what
// is wrong and what to do.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func unauthorized(format string, args ...any) *httpError {
	return &httpError{code: http.StatusUnauthorized, msg: fmt.Sprintf(format, args...)}
}
