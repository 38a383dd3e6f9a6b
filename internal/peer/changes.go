package peer

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/queuesync/queuesync/internal/state"
)

// serveChanges applies a batch: every register is validated and its stamp
// checked against the clock before any reaches the Node; the invalid ones
// get status error, the rest are applied.
func (h *handler) serveChanges(w http.ResponseWriter, r *http.Request, from string, body []byte) {
	hdr, items, err := decodeBatch(bytes.NewReader(body))
	if err != nil {
		h.fail(w, r, &httpError{http.StatusBadRequest, err.Error()})
		return
	}
	if hdr.Node != from {
		h.fail(w, r, &httpError{http.StatusBadRequest, fmt.Sprintf("document written by node %s but signed by node %s", hdr.Node, from)})
		return
	}
	if err := h.opts.Clock.Observe(hdr.Clock); err != nil {
		h.fail(w, r, &httpError{http.StatusConflict, fmt.Sprintf("clock skew: node %s: %s; synchronise the clocks of both nodes (NTP)", from, err.Error())})
		return
	}
	results, err := h.apply(r.Context(), from, items)
	if err != nil {
		h.fail(w, r, &httpError{http.StatusInternalServerError, "apply changes: " + err.Error()})
		return
	}
	var buf bytes.Buffer
	if err := EncodeResults(&buf, h.opts.Name, h.opts.Clock.Now(), results); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeXML(w, buf.Bytes())
}

// apply hands the admissible registers to the Node and merges its results
// with the refusals, in the order of the batch.
func (h *handler) apply(ctx context.Context, from string, items []batchItem) ([]Result, error) {
	results := make([]Result, len(items))
	var regs []state.Register
	var index []int
	for i, it := range items {
		if err := h.admit(it); err != nil {
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
	got, err := h.opts.Node.Apply(ctx, from, regs)
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

// admit checks one decoded register: valid, and not stamped too far ahead.
func (h *handler) admit(it batchItem) error {
	if it.Err != nil {
		return it.Err
	}
	if err := h.opts.Clock.Observe(it.Register.Stamp); err != nil {
		return fmt.Errorf("stamp %s: %w; check the clock (NTP) of node %s", it.Register.Stamp, err, it.Register.Origin)
	}
	return nil
}

// refused is the result of a register that never reached the Node. Its queue
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

// answer turns the Node's result for reg into the one sent: keyed by reg,
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
