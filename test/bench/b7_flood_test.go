//go:build bench

package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// floodClients and floodBody are the attack: that many clients without any
// secret, each announcing a body of floodBody bytes and sending nearly all
// of it.
const (
	floodClients = 48
	floodBody    = 8 << 20
)

// BenchmarkUnauthenticatedFlood measures daemon A's memory while 48 clients
// without a secret each POST an 8 MB body to its peer API, and whether A
// keeps syncing meanwhile (20 pauses made on A's Asterisk, each waited for
// on B). It runs the same against the baseline binary, the daemon as it
// was before the peer API checked requests before reading them
// (QS_FLOOD_BASELINE_REV, default fbf6bf0, built from this repository), so
// that both figures come from one run on one machine. Reported: A's peak
// RSS growth over its idle RSS (VmHWM - VmRSS before), and the median time
// for a pause on A to show on B during the flood.
func BenchmarkUnauthenticatedFlood(b *testing.B) {
	stopDaemons()
	A, B := bed.Nodes[0], bed.Nodes[1]
	// No members but the one the flood pauses: each daemon starts on an
	// empty journal, and members left by an earlier benchmark would be
	// journalled and exchanged during the flood, their memory counted as
	// the flood's.
	ensure(b, A, nil)
	ensure(b, B, nil)
	waitIdleMax(b, 2*time.Minute)
	noteLoad(b)
	old := baselineBinary(b)
	for b.Loop() {
		for _, run := range []struct{ name, bin string }{{"baseline", old}, {"now", ""}} {
			grow, lag := floodOnce(b, A, B, run.bin)
			say(b, "%-8s: A's peak RSS grew %6.1f MB under %d unauthenticated %d MB uploads; a pause on A reached B in %s ms (median of 20) meanwhile",
				run.name, float64(grow)/1024, floodClients, floodBody>>20, ms(lag))
			b.ReportMetric(float64(grow)/1024, "rss-growth-MB@"+run.name)
		}
	}
}

// floodOnce starts A and B (from bin, or the cluster's binary: the two
// versions do not speak to each other), floods A and returns A's peak RSS
// growth in kB and the median sync lag meanwhile.
func floodOnce(b *testing.B, A, B *node, bin string) (int64, time.Duration) {
	for _, n := range []*node{A, B} {
		o := harness.StartOptions{Config: harness.Override{DBURL: scratchDB(b, "qs_bench_flood_"+n.Name)}, Bin: bin, Wait: harness.WaitReconcile}
		if _, err := n.Start(o); err != nil {
			b.Fatal(err)
		}
		defer n.Stop()
	}
	time.Sleep(time.Second)
	pid := A.Daemon().Pid()
	idle := procKB(b, pid, "VmRSS")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range floodClients {
		wg.Add(1)
		go func() { defer wg.Done(); sent.Add(upload(ctx, A.Listen)) }()
	}
	lags := syncWhileFlooded(b, A, B)
	cancel()
	wg.Wait()
	peak := procKB(b, pid, "VmHWM")
	say(b, "flood sent %d MB in all", sent.Load()>>20)
	return peak - idle, samples(lags).median()
}

// upload announces floodBody bytes of an unsigned POST /queue/v1/changes
// and sends as much of it as the daemon reads, until ctx ends; it returns
// the bytes sent.
func upload(ctx context.Context, addr string) int64 {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	head := fmt.Sprintf("POST /queue/v1/changes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nX-Queuesync-Node: sop2\r\n\r\n", addr, floodBody)
	if _, err := conn.Write([]byte(head)); err != nil {
		return 0
	}
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	var n int64
	for n < int64(floodBody-len(chunk)) {
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w, err := conn.Write(chunk)
		n += int64(w)
		if err != nil {
			return n
		}
	}
	<-ctx.Done() // hold the connection, the last bytes unsent
	return n
}

// syncWhileFlooded pauses and unpauses a member on A 20 times and returns,
// for each, how long until B showed it.
func syncWhileFlooded(b *testing.B, A, B *node) []time.Duration {
	const iface = "Local/7999@agents"
	act(b, A, func(ctx context.Context, c *ami.Client) error {
		_ = c.QueueRemove(ctx, "billing", iface)
		return c.QueueAdd(ctx, ami.QueueAddRequest{Queue: "billing", Interface: iface, MemberName: "Flood"})
	})
	waitMember(b, B, "billing", iface, func(m *ami.QueueMember) bool { return m != nil })
	var lags []time.Duration
	for i := range 20 {
		paused := i%2 == 0
		t0 := time.Now()
		act(b, A, func(ctx context.Context, c *ami.Client) error {
			return c.QueuePause(ctx, "billing", iface, paused, "flood")
		})
		waitMember(b, B, "billing", iface, func(m *ami.QueueMember) bool { return m != nil && m.Paused == paused })
		lags = append(lags, time.Since(t0))
	}
	act(b, A, func(ctx context.Context, c *ami.Client) error { return c.QueueRemove(ctx, "billing", iface) })
	return lags
}

// waitMember polls n's Asterisk until ok holds for iface in queue (nil:
// absent), for up to 60 s.
func waitMember(b *testing.B, n *node, queue, iface string, ok func(*ami.QueueMember) bool) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		got, err := harness.WithAMI(n, func(ctx context.Context, c *ami.Client) (*ami.QueueMember, error) {
			qs, err := c.QueueStatus(ctx, queue, iface)
			for i := range qs.Members {
				if qs.Members[i].Interface == iface {
					return &qs.Members[i], err
				}
			}
			return nil, err
		})
		if err != nil {
			b.Fatal(err)
		}
		if ok(got) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("%s: %s in %s never reached the expected state", n.Name, iface, queue)
}

// act runs f on n's Asterisk and fails the benchmark if it fails.
func act(b *testing.B, n *node, f func(context.Context, *ami.Client) error) {
	b.Helper()
	if _, err := harness.WithAMI(n, func(ctx context.Context, c *ami.Client) (struct{}, error) { return struct{}{}, f(ctx, c) }); err != nil {
		b.Fatal(err)
	}
}

func procKB(b *testing.B, pid int, key string) int64 {
	b.Helper()
	st, err := harness.ProcStatus(pid)
	if err != nil {
		b.Fatal(err)
	}
	return st[key]
}

// baselineBinary builds queuesync as of QS_FLOOD_BASELINE_REV (default
// fbf6bf0, before the peer API checked requests before reading them), or
// returns QS_FLOOD_BASELINE_BIN when set.
func baselineBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("QS_FLOOD_BASELINE_BIN"); p != "" {
		return p
	}
	rev := os.Getenv("QS_FLOOD_BASELINE_REV")
	if rev == "" {
		rev = "fbf6bf0"
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		b.Fatalf("git rev-parse: %v", err)
	}
	repo := string(top[:len(top)-1])
	if out, err := exec.Command("git", "-C", repo, "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
		b.Fatalf("check out the baseline %s: %v\n%s", rev, err, out)
	}
	defer exec.Command("git", "-C", repo, "worktree", "remove", "--force", src).Run()
	bin := filepath.Join(dir, "queuesync-"+rev)
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/queuesync")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the baseline %s: %v\n%s", rev, err, out)
	}
	return bin
}
