package ami

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// maxDropped bounds how many abandoned requests are remembered so that their
// late responses and list items can be discarded quietly.
const maxDropped = 1024

// request is one action waiting for its answer.
type request struct {
	action string
	id     string
	list   bool          // collect list items until the completion event
	each   func(Message) // when set, gets each list item instead of items (on the reader)

	done  chan struct{} // closed by finish
	resp  Message
	items []Message
	err   error

	abandoned bool // the caller gave up; discard until the terminal message
	draining  bool // Do got a list response; discard items until completion
}

// finished reports whether finish was called. Callers hold Client.mu.
func (r *request) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// finish records err and wakes the waiter. Callers hold Client.mu.
func (r *request) finish(err error) {
	r.err = err
	close(r.done)
}

// Do sends a and waits for its single response. A "Response: Error" answer
// is returned as a *ResponseError together with the response message. If
// the response announces a list (EventList: start), the list items are
// discarded; use DoList to collect them. When ctx ends first, Do returns an
// error wrapping ctx.Err() and the late response is discarded.
func (c *Client) Do(ctx context.Context, a Action) (Message, error) {
	resp, _, err := c.roundTrip(ctx, a, false, nil)
	return resp, err
}

// DoList sends a list action (QueueStatus, QueueSummary, ...) and collects
// the events carrying its ActionID until one has "EventList: Complete"
// (case-insensitive) or, for Asterisk 1.8/11, an event name ending in
// "Complete". It returns the response and the item events, without the
// completion event. A success response with neither an EventList header nor
// a Message containing "follow" ends the list at once (nothing will follow).
func (c *Client) DoList(ctx context.Context, a Action) (Message, []Message, error) {
	return c.roundTrip(ctx, a, true, nil)
}

// DoListEach is DoList handing each list item to each as it arrives,
// instead of collecting them: a list of any length is read in the memory
// its caller keeps. each runs on the client's reader and must be quick; it
// is not called after DoListEach returns.
func (c *Client) DoListEach(ctx context.Context, a Action, each func(Message)) (Message, error) {
	resp, _, err := c.roundTrip(ctx, a, true, each)
	return resp, err
}

// roundTrip validates, registers, sends and waits for one action.
func (c *Client) roundTrip(ctx context.Context, a Action, list bool, each func(Message)) (Message, []Message, error) {
	if err := validateAction(a); err != nil {
		return Message{}, nil, err
	}
	req := &request{action: a.Name, id: c.nextID(), list: list, each: each, done: make(chan struct{})}
	if err := ctx.Err(); err != nil {
		return Message{}, nil, fmt.Errorf("ami %s (id %s): %w", req.action, req.id, err)
	}
	if err := c.register(req); err != nil {
		return Message{}, nil, err
	}
	buf := appendAction(make([]byte, 0, 128), a, req.id)
	sent := false
	select {
	case c.wq <- buf:
		sent = true
	case <-c.done: // shutdown has failed req
	case <-ctx.Done():
		c.mu.Lock()
		if c.pending != nil && !req.finished() {
			delete(c.pending, req.id) // never sent: nothing to discard later
		}
		c.mu.Unlock()
		return Message{}, nil, fmt.Errorf("ami %s (id %s): %w", req.action, req.id, ctx.Err())
	}
	start := time.Now()
	resp, items, err := c.wait(ctx, req)
	if sent && errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	if c.opts.Logger.Enabled(ctx, slog.LevelDebug) {
		c.opts.Logger.Debug("ami action", "action", req.action, "id", req.id, "items", len(items),
			"took", time.Since(start), "err", err)
	}
	return resp, items, err
}

// register adds req to the pending table, or fails when the client is closed.
func (c *Client) register(req *request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return fmt.Errorf("ami %s (id %s): %w", req.action, req.id, c.err)
	}
	c.pending[req.id] = req
	return nil
}

// wait blocks until req is answered or ctx ends.
func (c *Client) wait(ctx context.Context, req *request) (Message, []Message, error) {
	select {
	case <-req.done:
		return req.resp, req.items, req.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.finished() {
		return req.resp, req.items, req.err
	}
	c.abandonLocked(req)
	return Message{}, nil, fmt.Errorf("ami %s (id %s): %w", req.action, req.id, ctx.Err())
}

// abandonLocked marks req as given up: it stays pending, so that its late
// answer is recognised and discarded, but only the newest maxDropped
// abandoned requests are remembered. Callers hold c.mu.
func (c *Client) abandonLocked(req *request) {
	req.abandoned = true
	req.items = nil
	c.dropped = append(c.dropped, req.id)
	if len(c.dropped) <= maxDropped {
		return
	}
	old := c.dropped[0]
	c.dropped = c.dropped[1:]
	if r, ok := c.pending[old]; ok && r.abandoned {
		delete(c.pending, old)
	}
}

// route delivers one incoming message: to the request whose ActionID it
// carries, or else, if it is an event, to the unsolicited event queue.
func (c *Client) route(m Message) {
	id, hasID := m.Lookup("ActionID")
	_, isResp := m.Lookup("Response")
	c.mu.Lock()
	var req *request
	if hasID && c.pending != nil {
		req = c.pending[id]
	}
	unsolicited := false
	switch {
	case req == nil:
		unsolicited = !isResp && m.Event() != ""
	case req.abandoned || req.draining:
		c.discard(req, m, isResp)
	case isResp:
		c.onResponse(req, m)
	case req.list:
		c.onListEvent(req, m)
	default:
		unsolicited = m.Event() != ""
	}
	c.mu.Unlock()
	if unsolicited {
		c.events.push(m)
	}
}

// onResponse handles the Response message of a live request.
func (c *Client) onResponse(req *request, m Message) {
	req.resp = m
	var err error
	if isError(m) {
		err = &ResponseError{Action: req.action, ActionID: req.id, Message: m.Get("Message")}
	}
	switch {
	case err == nil && req.list && listFollows(m):
		return // wait for the items and the completion event
	case err == nil && !req.list && listStarts(m):
		req.draining = true // a Do on a list action: drop its items
	default:
		delete(c.pending, req.id)
	}
	req.finish(err)
}

// onListEvent handles an event carrying a live list request's ActionID.
func (c *Client) onListEvent(req *request, m Message) {
	if !isListEnd(m) {
		if req.each != nil {
			req.each(m)
		} else {
			req.items = append(req.items, m)
		}
		return
	}
	delete(c.pending, req.id)
	req.finish(nil)
}

// discard drops a message for an abandoned or draining request and forgets
// the request after its last message.
func (c *Client) discard(req *request, m Message, isResp bool) {
	follows := listStarts(m)
	if req.list {
		follows = listFollows(m)
	}
	switch {
	case !isResp:
		if isListEnd(m) {
			delete(c.pending, req.id)
		}
	case isError(m) || !follows:
		delete(c.pending, req.id)
	default:
		req.draining = true // a list follows: discard up to its end
	}
}

// isError reports whether m is "Response: Error".
func isError(m Message) bool {
	return strings.EqualFold(strings.TrimSpace(m.Get("Response")), "Error")
}

// listStarts reports whether a response has "EventList: start".
func listStarts(m Message) bool {
	return strings.EqualFold(strings.TrimSpace(m.Get("EventList")), "start")
}

// listFollows reports whether a response to a list action announces items:
// "EventList: start", or for old versions without EventList a Message such
// as "Queue status will follow".
func listFollows(m Message) bool {
	if v, ok := m.Lookup("EventList"); ok {
		return strings.EqualFold(strings.TrimSpace(v), "start")
	}
	return strings.Contains(strings.ToLower(m.Get("Message")), "follow")
}

// isListEnd reports whether an event completes a list.
func isListEnd(m Message) bool {
	if strings.EqualFold(strings.TrimSpace(m.Get("EventList")), "Complete") {
		return true
	}
	ev := m.Event()
	return len(ev) >= 8 && strings.EqualFold(ev[len(ev)-8:], "Complete")
}
