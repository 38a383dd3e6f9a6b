//go:build bench

package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// profileDaemons, when QS_BENCH_PROFILE names a directory, takes a CPU
// profile of every daemon of the bed for d (at most 25 s: the metrics
// listener's write timeout is 30 s) and writes it there as NAME-NODE.pprof
// (read it with go tool pprof -top). It returns a func that waits for the
// profiles; without QS_BENCH_PROFILE it does nothing.
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.pprof", name, n.Name))
			if err := fetchProfile(n.Metrics, sec, path); err != nil {
				tb.Errorf("profile of %s: %v", n.Name, err)
				return
			}
			say(tb, "CPU profile of daemon %s over %d s: %s", n.Name, sec, path)
		}()
	}
	return wg.Wait
}

func fetchProfile(addr string, sec int, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, sec))
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
