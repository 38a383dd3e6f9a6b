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

// The request headers that carry a signature, and the answer's.
const (
	HeaderNode      = "X-Queuesync-Node"
	HeaderTimestamp = "X-Queuesync-Timestamp"
	HeaderSignature = "X-Queuesync-Signature"
	HeaderNonce     = "X-Queuesync-Nonce"
	// HeaderBodyHash is the hex SHA-256 of the request body. The signature
	// covers it, so the receiver authenticates a request from its headers
	// alone before it reads a byte of the body, then checks the body
	// against it as it streams in.
	HeaderBodyHash = "X-Queuesync-Content-Sha256"
	// HeaderAnswerSignature signs every answer (see SignAnswer).
	HeaderAnswerSignature = "X-Queuesync-Answer-Signature"
)

// signatureVersion prefixes the hex HMAC in HeaderSignature.
const signatureVersion = "v1="

// MaxSkew is how far a request's timestamp may be from the receiver's clock
// (architecture.md §3: requests more than 5 minutes off are refused).
const MaxSkew = 5 * time.Minute

// Sign signs req as coming from node, with the secret shared with the peer
// and body the exact bytes req will send: it sets HeaderNode,
// HeaderTimestamp (Unix seconds of now), HeaderNonce (128 random bits, so
// that two identical requests within a second still differ), HeaderBodyHash
// and HeaderSignature ("v1=" and the hex HMAC-SHA256 of the canonical
// string, see canonical). It returns the nonce, which the answer's
// signature must cover (see VerifyAnswer).
func Sign(req *http.Request, node string, secret []byte, now time.Time, body []byte) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := newNonce()
	sum := bodyHash(body)
	req.Header.Set(HeaderNode, node)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderBodyHash, sum)
	req.Header.Set(HeaderSignature, signatureVersion+hex.EncodeToString(mac(secret, canonical(req, ts, nonce, node, sum))))
	return nonce
}

// bodyHash returns the hex SHA-256 of body.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// emptyHash is the hex SHA-256 of an empty body, that of every GET.
var emptyHash = bodyHash(nil)

// answerDomain starts the string an answer signature covers, so that no
// request signature can pass for an answer's.
const answerDomain = "queuesync-answer-v1"

// answerCanonical returns the string an answer signature covers:
//
//	"queuesync-answer-v1" "\n" nonce "\n" status "\n" node "\n" hex(sha256(body))
//
// where nonce is the request's HeaderNonce, status the decimal HTTP status
// and node the answering node's name.
func answerCanonical(nonce string, status int, node string, body []byte) string {
	return strings.Join([]string{answerDomain, nonce, strconv.Itoa(status), node, bodyHash(body)}, "\n")
}

// SignAnswer returns the HeaderAnswerSignature value of an answer with
// status and body from node, to the request that carried nonce.
func SignAnswer(secret []byte, nonce string, status int, node string, body []byte) string {
	return signatureVersion + hex.EncodeToString(mac(secret, answerCanonical(nonce, status, node, body)))
}

// VerifyAnswer checks the HeaderAnswerSignature value sig of an answer with
// status and body from node, to the request that carried nonce. It returns
// an error wrapping ErrUntrusted when sig is missing, malformed or wrong.
func VerifyAnswer(secret []byte, nonce string, status int, node, sig string, body []byte) error {
	if sig == "" {
		return &UntrustedError{Reason: "the answer is not signed (" + HeaderAnswerSignature + " missing): it may not come from the peer"}
	}
	got, err := parseSignature(sig)
	if err != nil {
		return &UntrustedError{Reason: "the answer's " + HeaderAnswerSignature + " is malformed"}
	}
	if !hmac.Equal(got, mac(secret, answerCanonical(nonce, status, node, body))) {
		return &UntrustedError{Reason: "the answer's signature does not verify: it was altered on the way, or does not come from the peer"}
	}
	return nil
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
// with the path as sent on the wire (escaped) and sum the body's hash.
func canonical(req *http.Request, ts, nonce, node, sum string) string {
	target := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	return strings.Join([]string{req.Method, target, ts, nonce, node, sum}, "\n")
}

func mac(secret []byte, msg string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
