package peer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The request headers that carry a signature.
const (
	HeaderNode      = "X-Queuesync-Node"
	HeaderTimestamp = "X-Queuesync-Timestamp"
	HeaderSignature = "X-Queuesync-Signature"
	HeaderNonce     = "X-Queuesync-Nonce"
)

// signatureVersion prefixes the hex HMAC in HeaderSignature.
const signatureVersion = "v1="

// MaxSkew is how far a request's timestamp may be from the receiver's clock
// (architecture.md §3: requests more than 5 minutes off are refused).
const MaxSkew = 5 * time.Minute

// Sign signs req as coming from node, with the secret shared with the peer
// and body the exact bytes req will send: it sets HeaderNode,
// HeaderTimestamp (Unix seconds of now), HeaderNonce (128 random bits, so
// that two identical requests within a second still differ) and
// HeaderSignature ("v1=" and the hex HMAC-SHA256 of the canonical string,
// see canonical).
func Sign(req *http.Request, node string, secret []byte, now time.Time, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := newNonce()
	req.Header.Set(HeaderNode, node)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, signatureVersion+hex.EncodeToString(mac(secret, canonical(req, ts, nonce, node, body))))
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

// canonical returns the string a signature covers:
//
//	method "\n" path["?" rawquery] "\n" timestamp "\n" nonce "\n" node "\n" hex(sha256(body))
//
// with the path as sent on the wire (escaped).
func canonical(req *http.Request, ts, nonce, node string, body []byte) string {
	target := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	sum := sha256.Sum256(body)
	return strings.Join([]string{req.Method, target, ts, nonce, node, hex.EncodeToString(sum[:])}, "\n")
}

func mac(secret []byte, msg string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
