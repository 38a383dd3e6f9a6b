package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/store"
)

// statusReport is what status found. Its JSON form is the --json output.
type statusReport struct {
	Node      string            `json:"node"`
	Time      time.Time         `json:"time"`
	OK        bool              `json:"ok"` // every peer reachable, every queue in sync
	Peers     []peerReport      `json:"peers"`
	Queues    []queueReport     `json:"queues"`
	Errors    []string          `json:"errors,omitempty"` // local parts that could not be read
	diffs     []engine.Outcome  // the differences, for -v
	byName    map[string]string // lower-cased peer name -> error stopping the comparison
	localErrs []error
}

// peerReport is one peer's line.
type peerReport struct {
	Name      string     `json:"name"`
	URL       string     `json:"url"`
	Reachable bool       `json:"reachable"`
	LatencyMS *float64   `json:"latency_ms,omitempty"`
	Software  string     `json:"software,omitempty"`
	Error     string     `json:"error,omitempty"` // why it is unreachable, or why the comparison failed
	LastSync  *time.Time `json:"last_sync,omitempty"`
	LastError string     `json:"last_delivery_error,omitempty"`
	Backlog   *int64     `json:"backlog,omitempty"` // nil: never delivered to, or the journal is unreadable

	latency time.Duration
}

// queueReport is one queue's line.
type queueReport struct {
	Queue       string   `json:"queue"`
	Peers       []string `json:"peers"`
	Checked     bool     `json:"checked"` // false: a peer or local part could not be read
	Differences int      `json:"differences"`
	Members     []string `json:"members,omitempty"` // interfaces that differ
	Status      string   `json:"status"`
	// Journals holds, per peer, whether the two journals' digests of the
	// queue agree ("agree", "differ"): the agreement the daemon exports as
	// queuesync_queue_in_sync. Absent where it could not be read.
	Journals map[string]string `json:"journals,omitempty"`
}

// collectStatus checks the peers' health, reads the journal's delivery
// state and runs the dry comparison.
func collectStatus(ctx context.Context, d *Deps, n *statusInputs, peers []node.Peer, o *statusOptions) *statusReport {
	r := &statusReport{Node: n.name, Time: d.Now().UTC(), byName: map[string]string{}, localErrs: n.localErrs}
	r.Peers = checkHealth(ctx, d, peers, o.Timeout)
	for _, p := range r.Peers {
		if !p.Reachable {
			r.byName[strings.ToLower(p.Name)] = "unreachable"
		}
	}
	r.addDelivery(ctx, n.journal)
	if n.engine != nil {
		r.compare(ctx, n, peers, o.Queues)
	}
	r.addDigests(ctx, n.journal, peers)
	for _, err := range r.localErrs {
		r.Errors = append(r.Errors, err.Error())
	}
	r.OK = len(r.localErrs) == 0
	for _, p := range r.Peers {
		r.OK = r.OK && p.Reachable && p.Error == ""
	}
	for _, q := range r.Queues {
		r.OK = r.OK && q.Checked && q.Differences == 0
	}
	return r
}

// checkHealth asks every peer for its health, concurrently, each within
// timeout. Latency is measured with d.Now.
func checkHealth(ctx context.Context, d *Deps, peers []node.Peer, timeout time.Duration) []peerReport {
	out := make([]peerReport, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		out[i] = peerReport{Name: p.Conf.Name, URL: p.Conf.URL}
		if p.Err != nil {
			errs[i] = p.Err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := d.Now()
			h, err := p.Health(hctx)
			if err != nil {
				errs[i] = err
				return
			}
			lat := d.Now().Sub(start)
			ms := float64(lat.Microseconds()) / 1000
			out[i].Reachable, out[i].Software, out[i].latency, out[i].LatencyMS = true, h.Software, lat, &ms
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			out[i].Error = peerAdvice(peers[i], err)
		}
	}
	return out
}

// addDelivery fills in each peer's last sync, last error and backlog.
func (r *statusReport) addDelivery(ctx context.Context, j statusJournal) {
	if j == nil {
		return
	}
	st, err := j.Peers(ctx)
	if err != nil {
		r.localErrs = append(r.localErrs, fmt.Errorf("read peer delivery state: %w", err))
		return
	}
	byName := map[string]store.PeerStatus{}
	for _, s := range st {
		byName[strings.ToLower(s.Peer)] = s
	}
	for i := range r.Peers {
		s, ok := byName[strings.ToLower(r.Peers[i].Name)]
		if !ok {
			continue
		}
		p := &r.Peers[i]
		p.LastError = s.LastError
		if !s.LastSync.IsZero() {
			t := s.LastSync.UTC()
			p.LastSync = &t
		}
		b := s.Backlog
		p.Backlog = &b
	}
}

// compare runs resync as a dry run: reconcile, then pull from and push to
// (in memory only) every reachable peer, and counts per queue the members
// whose outcome is anything but in sync or stale.
func (r *statusReport) compare(ctx context.Context, n *statusInputs, peers []node.Peer, queues []string) {
	var reachable []engine.Peer
	for i, p := range peers {
		if r.Peers[i].Reachable {
			reachable = append(reachable, p.Peer)
		}
	}
	pulls := engine.StartPulls(ctx, reachable, queues, true)
	sess, err := n.engine.Begin(ctx, queues)
	if err != nil {
		r.localErrs = append(r.localErrs, fmt.Errorf("read live state: %w", err))
		return
	}
	defer sess.End()
	res, err := sess.Sync(ctx, reachable, engine.Direction{Pull: true, Push: true}, queues, pulls)
	if err != nil {
		r.localErrs = append(r.localErrs, fmt.Errorf("compare journal with live state: %w", err))
		return
	}
	for i, p := range peers {
		if err := res.PeerErrors[p.Conf.Name]; err != nil {
			r.Peers[i].Error = peerAdvice(p, err)
			r.byName[strings.ToLower(p.Conf.Name)] = "comparison failed"
		}
	}
	r.Queues = r.queueLines(sess.View(), peers, res.Outcomes)
}

// isDifference reports whether an outcome of the dry run means the nodes
// disagree.
func isDifference(o engine.Outcome) bool {
	return o.Result != engine.InSync && o.Result != engine.Stale
}

// queueLines builds one line per queue this node defines and shares with
// at least one of peers.
func (r *statusReport) queueLines(view *engine.View, peers []node.Peer, outs []engine.Outcome) []queueReport {
	members := map[string]map[string]string{} // queue -> lower interface -> interface
	for _, o := range outs {
		if !isDifference(o) {
			continue
		}
		r.diffs = append(r.diffs, o)
		q := strings.ToLower(o.Queue)
		if members[q] == nil {
			members[q] = map[string]string{}
		}
		members[q][strings.ToLower(o.Interface)] = o.Interface
	}
	lines := []queueReport{}
	for _, name := range sortedQueues(view) {
		line := queueReport{Queue: name, Peers: []string{}, Checked: true, Members: sortedValues(members[strings.ToLower(name)])}
		var why []string
		for _, p := range peers {
			if !p.Conf.Shares(name) {
				continue
			}
			line.Peers = append(line.Peers, p.Conf.Name)
			if reason, bad := r.byName[strings.ToLower(p.Conf.Name)]; bad {
				line.Checked = false
				why = append(why, p.Conf.Name+" "+reason)
			}
		}
		if len(line.Peers) == 0 {
			continue
		}
		line.Differences = len(line.Members)
		line.Status = queueVerdict(line.Differences, why)
		lines = append(lines, line)
	}
	return lines
}

func queueVerdict(diffs int, why []string) string {
	var s string
	switch diffs {
	case 0:
		s = "in sync"
	case 1:
		s = "1 difference"
	default:
		s = fmt.Sprintf("%d differences", diffs)
	}
	if len(why) > 0 {
		if diffs == 0 {
			s = "unknown"
		}
		s += " (" + strings.Join(why, ", ") + ")"
	}
	return s
}

func sortedQueues(v *engine.View) []string {
	out := make([]string, 0, len(v.Queues))
	for _, name := range v.Queues {
		out = append(out, name)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

func sortedValues(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}
