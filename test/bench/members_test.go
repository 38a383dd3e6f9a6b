//go:build bench

package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// member is the synced part of a dynamic member, as the benchmarks set it.
type member struct {
	Queue, Interface string
	Paused           bool
	Reason           string
	Penalty          int
}

func (m member) key() string { return strings.ToLower(m.Queue) + "/" + strings.ToLower(m.Interface) }

// benchQueue names queue i (1..50) of the testbed's extra queues.
func benchQueue(i int) string { return fmt.Sprintf("q%03d", i) }

// inBenchQueues reports whether q is one of the testbed's extra queues
// q001..q500 (make bench starts the testbed with QS_EXTRA_QUEUES=500).
func inBenchQueues(q string) bool {
	return len(q) == 4 && q[0] == 'q' && q >= "q001" && q <= "q999"
}

// iface returns the interface of member i of queue q in range base: ranges
// keep the member sets of different benchmarks apart.
func iface(base, q, i int) string { return fmt.Sprintf("Local/%d@agents", base+q*1000+i) }

// The interface ranges (q <= 999, i <= 999).
const (
	baseMain = 10000000 // the node's members: 10,000 in q001..q050, 100,000 in q001..q500
	baseE    = 20000000 // corrections made by the engine
	baseR    = 30000000 // the same corrections made by raw AMI
)

// memberSet returns perQueue members in each of q001..q0NN (unpaused,
// penalty 0), in queue order.
func memberSet(queues, perQueue int) []member {
	out := make([]member, 0, queues*perQueue)
	for q := 1; q <= queues; q++ {
		for i := range perQueue {
			out = append(out, member{Queue: benchQueue(q), Interface: iface(baseMain, q, i)})
		}
	}
	return out
}

// members10k is the node of benchmarks 1 to 5: 50 queues x 200 members.
// (memberSet(500, 200) is the 100,000 of the memory benchmark.)
func members10k() []member { return memberSet(50, 200) }

// live returns n's dynamic members of the bench queues, by key.
func live(tb testing.TB, n *node) map[string]member {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	qs, err := client(tb, n).QueueStatus(ctx, "", "")
	if err != nil {
		tb.Fatalf("QueueStatus on %s: %v", n.Name, err)
	}
	out := make(map[string]member, len(qs.Members))
	for _, m := range qs.Members {
		if !inBenchQueues(m.Queue) || m.Membership != "dynamic" {
			continue
		}
		v := member{Queue: m.Queue, Interface: m.Interface, Paused: m.Paused, Penalty: m.Penalty}
		if m.Paused {
			v.Reason = m.PausedReason
		}
		out[v.key()] = v
	}
	return out
}

// parallel runs f(0..n-1) with at most conc calls in flight (pipelined on
// one AMI client) and returns the first error.
func parallel(n, conc int, f func(i int) error) error {
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// ensure makes n's dynamic members of the bench queues exactly want, with
// pipelined AMI actions (the daemons should be stopped). It returns the
// number of actions sent.
func ensure(tb testing.TB, n *node, want []member) int {
	tb.Helper()
	have := live(tb, n)
	wantBy := make(map[string]member, len(want))
	for _, m := range want {
		wantBy[m.key()] = m
	}
	var acts []func(context.Context, *ami.Client) error
	for k, h := range have {
		if _, ok := wantBy[k]; !ok {
			acts = append(acts, func(ctx context.Context, c *ami.Client) error {
				err := c.QueueRemove(ctx, h.Queue, h.Interface)
				if errors.Is(err, ami.ErrNotThere) {
					return nil
				}
				return err
			})
		}
	}
	for _, w := range want {
		h, ok := have[w.key()]
		switch {
		case !ok:
			acts = append(acts, func(ctx context.Context, c *ami.Client) error {
				return c.QueueAdd(ctx, ami.QueueAddRequest{Queue: w.Queue, Interface: w.Interface, Penalty: w.Penalty, Paused: w.Paused, Reason: w.Reason})
			})
		default:
			if h.Paused != w.Paused || h.Reason != w.Reason {
				acts = append(acts, func(ctx context.Context, c *ami.Client) error {
					return c.QueuePause(ctx, w.Queue, w.Interface, w.Paused, w.Reason)
				})
			}
			if h.Penalty != w.Penalty {
				acts = append(acts, func(ctx context.Context, c *ami.Client) error {
					return c.QueuePenalty(ctx, w.Queue, w.Interface, w.Penalty)
				})
			}
		}
	}
	if len(acts) == 0 {
		return 0
	}
	c := client(tb, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	if err := parallel(len(acts), 256, func(i int) error { return acts[i](ctx, c) }); err != nil {
		tb.Fatalf("set up members on %s: %v", n.Name, err)
	}
	tb.Logf("%s: %d setup actions in %s", n.Name, len(acts), time.Since(start).Round(time.Millisecond))
	return len(acts)
}

// sameLive reports whether n's live members of the bench queues are want.
func sameLive(tb testing.TB, n *node, want []member) bool {
	tb.Helper()
	have := live(tb, n)
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		if h, ok := have[w.key()]; !ok || h.Paused != w.Paused || h.Reason != w.Reason || h.Penalty != w.Penalty {
			return false
		}
	}
	return true
}

// journalVersions returns a journal's registers of the bench queues as key ->
// "present|paused|reason|stamp|origin|pending".
func journalVersions(tb testing.TB, dbURL string) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT queue_key, iface_key, present, paused, paused_reason, stamp_wall, stamp_logical, origin, pending
		FROM attribute_state WHERE class = 'queue_sync'`)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var q, i, reason, origin string
		var present, paused, pending bool
		var wall, logical int64
		if err := rows.Scan(&q, &i, &present, &paused, &reason, &wall, &logical, &origin, &pending); err != nil {
			tb.Fatal(err)
		}
		if inBenchQueues(q) {
			out[q+"/"+i] = fmt.Sprintf("%t|%t|%s|%d.%d|%s|%t", present, paused, reason, wall, logical, origin, pending)
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// synced reports whether both journals hold the same versions, none
// pending, and every wanted member is present in them.
func synced(tb testing.TB, want []member) (bool, string) {
	tb.Helper()
	ja, jb := journalVersions(tb, bed.Nodes[0].DBURL), journalVersions(tb, bed.Nodes[1].DBURL)
	if !maps.Equal(ja, jb) {
		diff := 0
		for k, v := range ja {
			if jb[k] != v {
				diff++
			}
		}
		return false, fmt.Sprintf("journals differ (%d vs %d rows, %d keys differ)", len(ja), len(jb), diff+max(0, len(jb)-len(ja)))
	}
	for _, w := range want {
		v, ok := ja[w.key()]
		if !ok || !strings.HasPrefix(v, "true|") {
			return false, "journal lacks " + w.key()
		}
	}
	present := 0
	for _, v := range ja {
		if strings.HasPrefix(v, "true|") {
			present++
		}
		if strings.HasSuffix(v, "|true") {
			return false, "a register is pending"
		}
	}
	if present != len(want) {
		return false, fmt.Sprintf("journal has %d present members, want %d", present, len(want))
	}
	return true, ""
}

// prepare puts the cluster in the state a benchmark starts from: both nodes
// hold exactly want in the bench queues, both daemons run, and both journals
// agree with live state. It reuses the state a previous benchmark left when
// it already holds.
func prepare(tb testing.TB, want []member) {
	tb.Helper()
	defer noteLoad(tb)
	running := bed.Nodes[0].Running() && bed.Nodes[1].Running()
	if running && sameLive(tb, bed.Nodes[0], want) && sameLive(tb, bed.Nodes[1], want) {
		if ok, _ := synced(tb, want); ok {
			waitIdle(tb)
			return
		}
	}
	start := time.Now()
	stopDaemons()
	for _, n := range bed.Nodes {
		ensure(tb, n, want)
	}
	for _, n := range bed.Nodes {
		startDaemon(tb, n, harness.Override{})
	}
	waitSynced(tb, want, 5*time.Minute)
	waitIdle(tb)
	tb.Logf("prepared %d members on both nodes in %s", len(want), time.Since(start).Round(time.Millisecond))
}

// waitSynced waits until the journals agree and hold want.
func waitSynced(tb testing.TB, want []member, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		var ok bool
		if ok, why = synced(tb, want); ok {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("journals did not sync within %s: %s", timeout, why)
}

// keysOf returns the sorted keys of ms.
func keysOf(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.key()
	}
	slices.Sort(out)
	return out
}

// noteLoad reports the machine's load average, because other work on a
// shared machine shows in every figure.
func noteLoad(tb testing.TB) {
	b, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		f := strings.Fields(string(b))
		say(tb, "load average before the measurement: %s %s %s", f[0], f[1], f[2])
	}
}
