package peer

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/queuesync/queuesync/internal/state"
)

// PathDigest is GET /queue/v1/digest: the digest of each queue shared with
// the requester, to tell cheaply whether two nodes agree.
const PathDigest = "/queue/v1/digest"

const digestRoot = "queuesync-digest"

// QueueDigest sums up one queue of a node's journal (see store.QueueDigest):
// equal digests mean the same version of every member.
// It is also the <queue> element of a <queuesync-digest> document.
type QueueDigest struct {
	Queue   string `xml:"name,attr"`    // lower case
	Members int    `xml:"members,attr"` // present members
	Digest  string `xml:"digest,attr"`  // hex SHA-256
}

// Digests is a node's answer to GET /queue/v1/digest.
type Digests struct {
	Node   string
	Clock  state.Stamp
	Queues []QueueDigest
}

// DigestSource is implemented by a Receiver that can sum up its journal.
// A handler whose Receiver does not answers GET /queue/v1/digest 404.
type DigestSource interface {
	// Digests returns the digest of every queue of the journal; with
	// reconcile, after bringing the journal up to date with the live state
	// first, as State does (GET /queue/v1/digest?reconcile=true: a resync
	// compares digests before it reads any state).
	Digests(ctx context.Context, reconcile bool) ([]QueueDigest, error)
}

type digestDoc struct {
	XMLName xml.Name `xml:"queuesync-digest"`
	rootAttrs
	Queues []QueueDigest `xml:"queue"`
}

// EncodeDigests writes a <queuesync-digest> document.
func EncodeDigests(w io.Writer, d Digests) error {
	for _, q := range d.Queues {
		if err := validDigest(q); err != nil {
			return fmt.Errorf("encode digest: %w", err)
		}
	}
	return writeDoc(w, digestDoc{rootAttrs: newRootAttrs(d.Node, d.Clock), Queues: d.Queues})
}

// DecodeDigests reads a <queuesync-digest> document; every value is
// validated.
func DecodeDigests(r io.Reader) (Digests, error) {
	var doc digestDoc
	if err := decodeDoc(r, digestRoot, &doc); err != nil {
		return Digests{}, fmt.Errorf("decode digest: %w", err)
	}
	hdr, err := doc.parse()
	if err != nil {
		return Digests{}, fmt.Errorf("decode digest: %w", err)
	}
	d := Digests{Node: hdr.Node, Clock: hdr.Clock}
	for _, q := range doc.Queues {
		if err := validDigest(q); err != nil {
			return Digests{}, fmt.Errorf("decode digest: %w", err)
		}
	}
	d.Queues = doc.Queues
	return d, nil
}

func validDigest(q QueueDigest) error {
	if err := ValidateQueue(q.Queue); err != nil {
		return err
	}
	if b, err := hex.DecodeString(q.Digest); err != nil || len(b) != 32 {
		return fmt.Errorf("%w: queue %s: digest %s is not a hex SHA-256", ErrMalformed, q.Queue, quoteValue(cleanText(q.Digest, 80)))
	}
	if q.Members < 0 {
		return fmt.Errorf("%w: queue %s: members %d", ErrMalformed, q.Queue, q.Members)
	}
	return nil
}

func (h *handler) serveDigest(w http.ResponseWriter, r *http.Request, c *credentials, _ []byte) {
	src, ok := h.opts.Receiver.(DigestSource)
	if !ok {
		h.fail(w, r, c, &httpError{code: http.StatusNotFound, msg: "this node serves no digest"})
		return
	}
	reconcile, err := parseBool("reconcile", r.URL.Query().Get("reconcile"), true)
	if err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusBadRequest, msg: "query parameter " + err.Error()})
		return
	}
	all, err := src.Digests(r.Context(), reconcile)
	if err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusInternalServerError, msg: "read digest: " + err.Error()})
		return
	}
	grant := h.grant(c.node)
	d := Digests{Node: h.opts.Name, Clock: h.opts.Clock.Now()}
	for _, q := range all {
		if grant.Contains(q.Queue) {
			d.Queues = append(d.Queues, q)
		}
	}
	var buf bytes.Buffer
	if err := EncodeDigests(&buf, d); err != nil {
		h.fail(w, r, c, err)
		return
	}
	h.writeXML(w, c, buf.Bytes())
}

// Digests calls GET /queue/v1/digest; only the digests of queues shared
// with the peer are kept. An answer whose signature does not verify gives
// an error wrapping ErrUntrusted.
func (c *Client) Digests(ctx context.Context) (Digests, error) {
	return c.digests(ctx, nil)
}

// ReconciledDigests is Digests after the peer brought its journal up to
// date with its live state, as for a state read: what a resync compares
// before it reads any state.
func (c *Client) ReconciledDigests(ctx context.Context) (Digests, error) {
	return c.digests(ctx, url.Values{"reconcile": {"true"}})
}

func (c *Client) digests(ctx context.Context, query url.Values) (Digests, error) {
	data, err := c.do(ctx, http.MethodGet, PathDigest, query, nil)
	if err != nil {
		return Digests{}, fmt.Errorf("digest of peer %s: %w", c.opts.Name, err)
	}
	d, err := DecodeDigests(bytes.NewReader(data))
	if err == nil {
		err = c.accept(d.Node, d.Clock)
	}
	if err != nil {
		return Digests{}, fmt.Errorf("digest of peer %s: %w", c.opts.Name, err)
	}
	kept := d.Queues[:0]
	for _, q := range d.Queues {
		if c.shares(q.Queue) {
			kept = append(kept, q)
		}
	}
	d.Queues = kept
	return d, nil
}
