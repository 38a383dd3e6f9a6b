package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	Name    string           // the peer's node name; its answers must carry it
	URL     string           // the peer's base URL, scheme and host only: http://10.0.0.2:8038
	Node    string           // this node's name, which signs the requests
	Secret  []byte           // the secret shared with the peer; never logged
	HTTP    *http.Client     // default: a client with a 30 s timeout; pass one with TLS config for https
	Now     func() time.Time // default time.Now; signs request timestamps
	Clock   *state.Clock     // optional: stamps pushes, merges the peer's stamps, refuses those too far ahead
	MaxBody int64            // answer body limit; default DefaultMaxBody
	// Grant is the queues shared with the peer (its queues: in peers:):
	// registers of other queues are never sent, and dropped from its
	// answers. Nil shares every queue.
	Grant *Grant
	// Log gets, at debug level, each request with its status and time.
	// Default: discard.
	Log *slog.Logger
}

// Client calls one peer's API. It is safe for concurrent use.
type Client struct {
	opts ClientOptions
	base *url.URL
}

// defaultTimeout bounds a request when the caller's http.Client has none.
const defaultTimeout = 30 * time.Second

// maxErrorRead bounds how much of an error answer is read.
const maxErrorRead = 4096

// NewClient returns a client for the peer opts describes, or an error
// wrapping ErrInvalid that names the bad option.
func NewClient(opts ClientOptions) (*Client, error) {
	if err := validateNodeName("peer name", opts.Name); err != nil {
		return nil, fmt.Errorf("new peer client: %w", err)
	}
	if err := validateNodeName("node name", opts.Node); err != nil {
		return nil, fmt.Errorf("new peer client %s: %w", opts.Name, err)
	}
	base, err := parseBaseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("new peer client %s: %w", opts.Name, err)
	}
	if len(opts.Secret) == 0 {
		return nil, fmt.Errorf("new peer client %s: %w", opts.Name, &FieldError{"secret", "", "is empty; give the peer's secret file"})
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: defaultTimeout}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	// A copy that follows no redirect: a signed request, body and all, goes
	// to the peer's URL and nowhere else.
	hc := *opts.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.HTTP = &hc
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	return &Client{opts: opts, base: base}, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		raw = u.Redacted() // never echo a password
	}
	switch {
	case err != nil:
		return nil, &FieldError{"url", "", "not a URL"}
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &FieldError{"url", raw, "want an http:// or https:// URL"}
	case u.Host == "":
		return nil, &FieldError{"url", raw, "has no host"}
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return nil, &FieldError{"url", raw, "want scheme, host and port only, as http://10.0.0.2:8038"}
	}
	return u, nil
}

// Name returns the peer's node name.
func (c *Client) Name() string { return c.opts.Name }

// Health calls GET /queue/v1/health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	h, err := exchange(ctx, c, http.MethodGet, PathHealth, nil, nil, DecodeHealth,
		func(h Health) (string, state.Stamp) { return h.Node, h.Clock })
	if err != nil {
		return Health{}, fmt.Errorf("health of peer %s: %w", c.opts.Name, err)
	}
	return h, nil
}

// exchange sends one signed request, verifies the answer's signature,
// decodes it and accepts the node and clock it names (see accept).
func exchange[T any](ctx context.Context, c *Client, method, path string, query url.Values, body []byte,
	decode func(io.Reader) (T, error), header func(T) (string, state.Stamp)) (T, error) {
	var zero T
	data, err := c.do(ctx, method, path, query, body)
	if err != nil {
		return zero, err
	}
	doc, err := decode(bytes.NewReader(data))
	if err != nil {
		return zero, err
	}
	node, clock := header(doc)
	if err := c.accept(node, clock); err != nil {
		return zero, err
	}
	return doc, nil
}

// State calls GET /queue/v1/state for queues (all when empty). With dryRun
// the peer reconciles in memory only and writes nothing (for resync
// --dry-run). Every register in the answer has passed ValidateRegister and
// is of a queue shared with the peer; the members that are not are listed
// in Snapshot.Skipped. An answer whose signature does not verify gives an
// error wrapping ErrUntrusted and no register.
func (c *Client) State(ctx context.Context, queues []string, dryRun bool) (Snapshot, error) {
	var all Snapshot
	err := c.StatePages(ctx, queues, dryRun, func(page Snapshot, fresh bool) error {
		all.Gather(page, fresh)
		return nil
	})
	if err != nil {
		return Snapshot{}, err
	}
	return all, nil
}

// StatePages is State page by page: each gets every page of the answer in
// order (its Next set as sent), while the page after it is being read.
// fresh is true on the first page of a snapshot: a peer that forgot the
// snapshot midway (it reloaded) is read again from its first page, so the
// pages handed over before come again. An error of each stops the read and
// is returned.
func (c *Client) StatePages(ctx context.Context, queues []string, dryRun bool, each func(page Snapshot, fresh bool) error) error {
	if err := c.statePages(ctx, queues, dryRun, each); err != nil {
		return fmt.Errorf("state of peer %s: %w", c.opts.Name, err)
	}
	return nil
}

func (c *Client) statePages(ctx context.Context, queues []string, dryRun bool, each func(Snapshot, bool) error) error {
	query := url.Values{}
	for _, q := range queues {
		if err := ValidateQueue(q); err != nil {
			return err
		}
		query.Add("queue", q)
	}
	if dryRun {
		query.Set("dry-run", "true")
	}
	for attempt := 0; ; attempt++ {
		err := c.pages(ctx, query, each)
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusGone && attempt == 0 {
			continue // the peer forgot the snapshot (it reloaded): read it anew
		}
		return err
	}
}

// pageRead is one page of a state answer read ahead.
type pageRead struct {
	snap Snapshot
	err  error
}

// pages reads a state answer page by page (StatePage registers each, all
// of one snapshot), the next page read while each handles the one before.
func (c *Client) pages(ctx context.Context, first url.Values, each func(Snapshot, bool) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops a page read ahead when each fails
	read := func(q url.Values) <-chan pageRead {
		ch := make(chan pageRead, 1)
		go func() {
			snap, err := c.statePage(ctx, q)
			ch <- pageRead{snap, err}
		}()
		return ch
	}
	pending := read(first)
	for fresh := true; pending != nil; fresh = false {
		pr := <-pending
		if pr.err != nil {
			return pr.err
		}
		pending = nil
		if pr.snap.Next != "" {
			pending = read(url.Values{"page": {pr.snap.Next}})
		}
		if err := each(pr.snap, fresh); err != nil {
			return err
		}
	}
	return nil
}

// statePage reads one page of a state answer.
func (c *Client) statePage(ctx context.Context, query url.Values) (Snapshot, error) {
	snap, err := exchange(ctx, c, http.MethodGet, PathState, query, nil, DecodeState,
		func(s Snapshot) (string, state.Stamp) { return s.Node, s.Clock })
	if err != nil {
		return Snapshot{}, err
	}
	c.dropUnshared(&snap)
	return snap, c.observeAll(snap.Registers)
}

// shares reports whether queue is shared with the peer.
func (c *Client) shares(queue string) bool {
	return c.opts.Grant == nil || c.opts.Grant.Contains(queue)
}

// dropUnshared moves the registers of queues not shared with the peer to
// snap.Skipped.
func (c *Client) dropUnshared(snap *Snapshot) {
	kept := snap.Registers[:0]
	for _, r := range snap.Registers {
		if c.shares(r.Queue) {
			kept = append(kept, r)
			continue
		}
		snap.Skipped = append(snap.Skipped, Skipped{Queue: r.Queue, Interface: r.Interface,
			Err: fmt.Errorf("%w: queue %s is not shared with peer %s", ErrNotShared, quoteValue(r.Queue), c.opts.Name)})
	}
	snap.Registers = kept
}

// PushBatch is how many registers one POST /queue/v1/changes carries at
// most: Push sends more in several requests, so that no node's size meets
// the body limit (a batch is about 300 bytes a register).
const PushBatch = 2000

// Push calls POST /queue/v1/changes with regs, PushBatch at a time, in
// order; a batch that fails stops the rest. The answer has one Result
// per register, in the order of regs (the document itself is sorted),
// keyed like it. A register that fails ValidateRegister or is of a queue not
// shared with the peer is not sent: its Result, made here, has status Error
// and says why, and the others are sent. An answer whose signature does not
// verify gives an error wrapping ErrUntrusted and no Result: nothing in it
// may be counted as delivered.
func (c *Client) Push(ctx context.Context, regs []state.Register) (ResultSet, error) {
	results := make([]Result, len(regs))
	var send []state.Register
	var index []int
	for i, r := range regs {
		err := ValidateRegister(r)
		if err == nil && !c.shares(r.Queue) {
			err = fmt.Errorf("%w: queue %s is not shared with peer %s", ErrNotShared, quoteValue(r.Queue), c.opts.Name)
		}
		if err != nil {
			results[i] = Result{Queue: r.Queue, Interface: r.Interface, Status: Error, Reason: "not sent: " + err.Error()}
			continue
		}
		send, index = append(send, r), append(index, i)
	}
	if len(send) == 0 {
		return ResultSet{Node: c.opts.Name, Clock: c.stamp(), Results: results}, nil
	}
	var set ResultSet
	for start := 0; start < len(send); start += PushBatch {
		end := min(start+PushBatch, len(send))
		part, err := c.push(ctx, send[start:end])
		if err != nil {
			return ResultSet{}, fmt.Errorf("push to peer %s: %w", c.opts.Name, err)
		}
		for j, res := range part.Results {
			results[index[start+j]] = res
		}
		set.Node, set.Clock = part.Node, part.Clock
	}
	set.Results = results
	return set, nil
}

func (c *Client) push(ctx context.Context, regs []state.Register) (ResultSet, error) {
	order := documentOrder(regs)
	sorted := make([]state.Register, len(regs))
	for i, j := range order {
		sorted[i] = regs[j]
	}
	var body bytes.Buffer
	if err := EncodeState(&body, c.opts.Node, c.stamp(), sorted); err != nil {
		return ResultSet{}, err
	}
	set, err := exchange(ctx, c, http.MethodPost, PathChanges, nil, body.Bytes(), DecodeResults,
		func(s ResultSet) (string, state.Stamp) { return s.Node, s.Clock })
	if err != nil {
		return ResultSet{}, err
	}
	if err := matchResults(sorted, set.Results); err != nil {
		return ResultSet{}, err
	}
	inOrder := make([]Result, len(regs))
	for i, j := range order {
		inOrder[j] = set.Results[i]
	}
	set.Results = inOrder
	return set, c.observeResults(set.Results)
}

// documentOrder returns the indexes of regs in the order EncodeState writes
// them, which is the order of the results.
func documentOrder(regs []state.Register) []int {
	order := make([]int, len(regs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareRegisters(regs[a], regs[b]) })
	return order
}

// matchResults checks that results answer regs one by one, and fills in the
// key of a result that left it empty.
func matchResults(regs []state.Register, results []Result) error {
	if len(results) != len(regs) {
		return fmt.Errorf("%w: %d results for %d registers", ErrProtocol, len(results), len(regs))
	}
	for i := range results {
		res, reg := &results[i], regs[i]
		if res.Queue == "" || res.Interface == "" {
			res.Queue, res.Interface = reg.Queue, reg.Interface
		}
		if state.NewKey(res.Queue, res.Interface) != reg.Key() {
			return fmt.Errorf("%w: result %d is for %s, not %s", ErrProtocol, i, state.NewKey(res.Queue, res.Interface), reg.Key())
		}
	}
	return nil
}

// do sends a signed request and returns the body of a 2xx answer whose
// signature verifies, a *StatusError for an error answer whose signature
// verifies, or an *UntrustedError (wrapping ErrUntrusted) for any answer
// whose signature does not, a redirect among them.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	req.Header.Set("Accept", "application/xml")
	nonce := Sign(req, c.opts.Node, c.opts.Secret, c.opts.Now(), body)
	start := time.Now()
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		c.opts.Log.Debug("peer request", "peer", c.opts.Name, "method", method, "path", path, "bytes", len(body), "took", time.Since(start), "err", err)
		return nil, err
	}
	c.opts.Log.Debug("peer request", "peer", c.opts.Name, "method", method, "path", path, "bytes", len(body),
		"status", resp.StatusCode, "took", time.Since(start))
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	limit := c.opts.MaxBody
	if !ok {
		limit = maxErrorRead
	}
	data, err := readLimited(resp.Body, limit)
	if err != nil && ok {
		return nil, err
	}
	verr := VerifyAnswer(c.opts.Secret, nonce, resp.StatusCode, c.opts.Name, resp.Header.Get(HeaderAnswerSignature), data)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return nil, &UntrustedError{Reason: fmt.Sprintf("the peer answered %d with a redirect to %s; redirects are never followed: give the peer's own URL in peers:",
			resp.StatusCode, quoteValue(resp.Header.Get("Location")))}
	}
	if ok && verr == nil {
		return data, nil
	}
	var se *StatusError
	if !ok {
		se = &StatusError{Code: resp.StatusCode, Body: cleanText(string(data), maxErrorBody)}
	}
	if verr != nil {
		ue := verr.(*UntrustedError)
		ue.Status = se
		return nil, ue
	}
	return nil, se
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read answer: %w: over %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

// accept checks that the answer comes from the expected node and merges its
// clock.
func (c *Client) accept(node string, clock state.Stamp) error {
	if node != c.opts.Name {
		return fmt.Errorf("%w: the node at %s says it is %s, not %s; check the peer's name and url in queuesync.yaml",
			ErrProtocol, c.base.Redacted(), node, c.opts.Name)
	}
	return c.observe("clock", clock)
}

func (c *Client) observeAll(regs []state.Register) error {
	for _, r := range regs {
		if err := c.observe(memberContext(r.Queue, r.Interface)+" stamp", r.Stamp); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) observeResults(results []Result) error {
	for _, res := range results {
		if res.Register == nil {
			continue
		}
		if err := c.observe(memberContext(res.Queue, res.Interface)+" stamp", res.Register.Stamp); err != nil {
			return err
		}
	}
	return nil
}

// observe merges a stamp from the peer into the clock, if there is one.
func (c *Client) observe(what string, s state.Stamp) error {
	if c.opts.Clock == nil {
		return nil
	}
	if err := c.opts.Clock.Observe(s); err != nil {
		return fmt.Errorf("peer %s %s: %w; synchronise the clocks of both nodes (NTP)", what, s, err)
	}
	return nil
}

// stamp returns the clock for an outgoing document.
func (c *Client) stamp() state.Stamp {
	if c.opts.Clock != nil {
		return c.opts.Clock.Now()
	}
	return state.Stamp{Wall: c.opts.Now().UnixMilli()}
}
