//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// profileDaemons, when QS_BENCH_PROFILE names a directory, takes a CPU
// profile and an execution trace of every daemon of the bed for d (at most
// 25 s: the metrics listener's write timeout is 30 s) and writes them there
// as NAME-NODE.pprof (read it with go tool pprof -top) and NAME-NODE.trace
// (go tool trace). It returns a func that waits for them and reports, from
// each trace, how long the daemon's goroutines waited and on what (see
// traceWaits); without QS_BENCH_PROFILE it does nothing.
func profileDaemons(tb testing.TB, name string, d time.Duration) (wait func()) {
	dir := os.Getenv("QS_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	sec := max(1, int(min(d, 25*time.Second)/time.Second))
	var wg sync.WaitGroup
	for _, n := range bed.Nodes {
		base := filepath.Join(dir, fmt.Sprintf("%s-%s", name, n.Name))
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := fetchProfile(n.Metrics, "profile", sec, base+".pprof"); err != nil {
				tb.Errorf("profile of %s: %v", n.Name, err)
				return
			}
			say(tb, "CPU profile of daemon %s over %d s: %s.pprof", n.Name, sec, base)
		}()
		go func() {
			defer wg.Done()
			if err := fetchProfile(n.Metrics, "trace", sec, base+".trace"); err != nil {
				tb.Errorf("trace of %s: %v", n.Name, err)
				return
			}
			say(tb, "execution trace of daemon %s over %d s: %s.trace; waits: %s", n.Name, sec, base, traceWaits(base+".trace"))
		}()
	}
	return wg.Wait
}

func fetchProfile(addr, kind string, sec int, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, sec))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// traceWaits sums, over all goroutines of a daemon's execution trace, the
// time they spent in each kind of wait go tool trace profiles: net (blocked
// on a socket: PostgreSQL, Asterisk, the peer, a client), sync (a mutex or
// channel: the engine's lock, a session waiting for its reads), syscall, and
// sched (runnable, waiting for a CPU). Each is written beside the trace as
// a profile (.net.pprof etc.: go tool pprof -top shows where).
func traceWaits(trace string) string {
	var parts []string
	for _, kind := range []string{"net", "sync", "syscall", "sched"} {
		prof := strings.TrimSuffix(trace, ".trace") + "." + kind + ".pprof"
		total, err := traceProfile(trace, kind, prof)
		if err != nil {
			return fmt.Sprintf("(%s: %v)", kind, err)
		}
		parts = append(parts, kind+" "+total)
	}
	return strings.Join(parts, ", ")
}

var pprofTotal = regexp.MustCompile(`of ([0-9.]+[a-zµ]*s) total`)

// traceProfile writes the kind profile of trace to prof and returns its
// total, as go tool pprof prints it ("0" when nothing waited).
func traceProfile(trace, kind, prof string) (string, error) {
	out, err := exec.Command("go", "tool", "trace", "-pprof="+kind, trace).Output()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(prof, out, 0o644); err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "0", nil
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=1", prof).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, bytes.TrimSpace(top))
	}
	m := pprofTotal.FindSubmatch(top)
	if m == nil {
		return "0", nil
	}
	return string(m[1]), nil
}
