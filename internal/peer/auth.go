package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
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
	seen    *ReplayCache
}

// credentials are what an authenticated request's headers established: the
// peer that signed it, their shared secret, the nonce the answer must cover
// and the body's hash, which the body must still match.
type credentials struct {
	node   string
	secret []byte
	nonce  string
	sum    string
}

// verifyHeaders authenticates r from its headers alone, without reading its
// body: the node is known, the timestamp is within MaxSkew, the nonce and
// the body hash are well formed, the signature (which covers the body
// hash) matches, and it was not seen before. It returns the *httpError
// (401, or 503 when the replay cache is full) to answer otherwise.
func (a *authenticator) verifyHeaders(r *http.Request) (*credentials, error) {
	node := r.Header.Get(HeaderNode)
	if node == "" {
		return nil, unauthorized("missing %s header: the request is not signed; is the sender a queuesync node?", HeaderNode)
	}
	secret, ok := a.secrets[node]
	if !ok {
		return nil, unauthorized("unknown node %s: this node has no peer of that name; add it to peers (with its secret file) in queuesync.yaml", quoteValue(node))
	}
	if len(secret) == 0 {
		return nil, unauthorized("no secret for node %s on this node (empty secret file?): requests from it cannot be trusted", node)
	}
	ts, signedAt, err := parseTimestamp(r.Header.Get(HeaderTimestamp))
	if err != nil {
		return nil, err
	}
	now := a.now()
	if skew := now.Sub(signedAt).Abs(); skew > MaxSkew {
		return nil, unauthorized("clock skew: the request was signed %s away from this node's clock (limit %s); synchronise the clocks of both nodes (NTP)",
			skew.Round(time.Second), MaxSkew)
	}
	nonce := r.Header.Get(HeaderNonce)
	if !isHexString(nonce, 32) {
		return nil, unauthorized("missing or malformed %s header: want 32 hex digits; is the sender an older queuesync?", HeaderNonce)
	}
	sum, err := claimedHash(r)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(r.Header.Get(HeaderSignature))
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(sig, mac(secret, canonical(r, ts, nonce, node, sum))) {
		return nil, unauthorized("signature mismatch: the shared secret for node %s differs on the two nodes; copy the same secret file to both", node)
	}
	if err := a.remember(sig, signedAt, now); err != nil {
		return nil, err
	}
	return &credentials{node: node, secret: secret, nonce: nonce, sum: sum}, nil
}

// claimedHash returns the body hash a request's signature covers: that of
// an empty body for a GET, HeaderBodyHash for a POST.
func claimedHash(r *http.Request) (string, error) {
	v := r.Header.Get(HeaderBodyHash)
	if r.Method == http.MethodGet && (v == "" || v == emptyHash) {
		return emptyHash, nil
	}
	if r.Method == http.MethodGet {
		return "", &httpError{code: http.StatusBadRequest, msg: "a GET carries no body, but " + HeaderBodyHash + " names one"}
	}
	if !isHexString(v, 64) || strings.ToLower(v) != v {
		return "", unauthorized("missing or malformed %s header: want the body's SHA-256 as 64 lower-case hex digits; is the sender an older queuesync?", HeaderBodyHash)
	}
	return v, nil
}

func isHexString(v string, n int) bool {
	if len(v) != n {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

func (a *authenticator) remember(sig []byte, signedAt, now time.Time) error {
	switch a.seen.add([32]byte(sig), signedAt.Add(MaxSkew+time.Second), now) {
	case replayed:
		return &httpError{code: http.StatusUnauthorized, kind: RefusedReplayed,
			msg: "replayed request: this signature was already used; every request must be signed afresh"}
	case cacheFull:
		return &httpError{code: http.StatusServiceUnavailable, kind: RefusedBusy, msg: "too many requests within the replay window; retry later"}
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

// hashReader hashes what is read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
}

func newHashReader(r io.Reader) *hashReader { return &hashReader{r: r, h: sha256.New()} }

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	return n, err
}

// sum returns the hex SHA-256 of what was read.
func (hr *hashReader) sum() string { return hex.EncodeToString(hr.h.Sum(nil)) }

// httpError is an error answer: its status code, the kind of refusal it
// counts as (see Refusals; derived from the code when empty) and the text
// that says what is wrong and what to do.
type httpError struct {
	code int
	kind string
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func unauthorized(format string, args ...any) *httpError {
	return &httpError{code: http.StatusUnauthorized, msg: fmt.Sprintf(format, args...)}
}
