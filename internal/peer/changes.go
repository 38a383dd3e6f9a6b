package peer

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/queuesync/queuesync/internal/state"
)

// serveChanges applies a batch: every register is validated, checked
// against the peer's grant and its stamp checked against the clock before
// any reaches the Receiver; each refused one gets status error, the rest are
// applied.
func (h *handler) serveChanges(w http.ResponseWriter, r *http.Request, c *credentials, body []byte) {
	from := c.node
	hdr, items, err := decodeBatch(bytes.NewReader(body))
	if err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusBadRequest, msg: err.Error()})
		return
	}
	if hdr.Node != from {
		h.fail(w, r, c, &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf("document written by node %s but signed by node %s", hdr.Node, from)})
		return
	}
	if err := h.opts.Clock.Observe(hdr.Clock); err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusConflict, msg: fmt.Sprintf("clock skew: node %s: %s; synchronise the clocks of both nodes (NTP)", from, err.Error())})
		return
	}
	results, err := h.apply(r.Context(), from, items)
	if err != nil {
		h.fail(w, r, c, &httpError{code: http.StatusInternalServerError, msg: "apply changes: " + err.Error()})
		return
	}
	var buf bytes.Buffer
	if err := EncodeResults(&buf, h.opts.Name, h.opts.Clock.Now(), results); err != nil {
		h.fail(w, r, c, err)
		return
	}
	h.writeXML(w, c, buf.Bytes())
}

// apply hands the admissible registers to the Receiver and merges its results
// with the refusals, in the order of the batch.
func (h *handler) apply(ctx context.Context, from string, items []batchItem) ([]Result, error) {
	results := make([]Result, len(items))
	var regs []state.Register
	var index []int
	grant := h.grant(from)
	for i, it := range items {
		if err := h.admit(from, grant, it); err != nil {
			h.log.Warn("change refused", logPeer, from, logQueue, cleanText(it.Queue, MaxQueueLen),
				logIface, cleanText(it.Interface, MaxInterfaceLen), logReason, err.Error())
			results[i] = refused(it, err)
			continue
		}
		regs, index = append(regs, it.Register), append(index, i)
	}
	if len(regs) == 0 {
		return results, nil
	}
	got, err := h.opts.Receiver.Apply(ctx, from, regs)
	if err != nil {
		return nil, err
	}
	if len(got) != len(regs) {
		return nil, fmt.Errorf("node returned %d results for %d registers", len(got), len(regs))
	}
	for j, res := range got {
		results[index[j]] = h.answer(from, regs[j], res)
	}
	return results, nil
}

// admit checks one decoded register: valid, of a queue granted to the
// peer, and not stamped too far ahead.
func (h *handler) admit(from string, grant Grant, it batchItem) error {
	if it.Err != nil {
		return it.Err
	}
	if !grant.Contains(it.Register.Queue) {
		return fmt.Errorf("%w: queue %s is not shared with node %s on this node; add it to that peer's queues, on both nodes", ErrNotShared, quoteValue(it.Register.Queue), from)
	}
	if err := h.opts.Clock.Observe(it.Register.Stamp); err != nil {
		return fmt.Errorf("stamp %s: %w; check the clock (NTP) of node %s", it.Register.Stamp, err, it.Register.Origin)
	}
	return nil
}

// refused is the result of a register that never reached the Receiver. Its queue
// and interface are echoed only when valid, so the answer stays valid.
func refused(it batchItem, err error) Result {
	res := Result{Status: Error, Reason: cleanText(err.Error(), MaxReasonText)}
	if ValidateQueue(it.Queue) == nil {
		res.Queue = it.Queue
	}
	if validateInterface("interface", it.Interface) == nil {
		res.Interface = it.Interface
	}
	return res
}

// answer turns the Receiver's result for reg into the one sent: keyed by reg,
// with a known status, a clean reason, and the returned register only if
// it is valid and of the same key.
func (h *handler) answer(from string, reg state.Register, res Result) Result {
	out := Result{Queue: reg.Queue, Interface: reg.Interface, Status: res.Status, Reason: cleanText(res.Reason, MaxReasonText)}
	if !out.Status.Valid() {
		out.Status, out.Reason = Error, cleanText(fmt.Sprintf("node returned unknown status %q", res.Status), MaxReasonText)
	}
	if res.Register != nil {
		ours := *res.Register
		if err := validateResultRegister(Result{Queue: reg.Queue, Interface: reg.Interface, Register: &ours}); err != nil {
			h.log.Warn("register not returned: invalid", logPeer, from, logKey, reg.Key().String(), logReason, err.Error())
		} else {
			out.Register = &ours
		}
	}
	return out
}
