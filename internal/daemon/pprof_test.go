package daemon_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// metrics_pprof serves Go's profiler beside /metrics; without it the
// metrics listener serves no profile.
func TestMetricsPprof(t *testing.T) {
	a, b := newNode(t, "sop1"), newNode(t, "sop2")
	dir := t.TempDir()
	secret := filepath.Join(dir, "peer.secret")
	amiSecret := filepath.Join(dir, "ami.secret")
	for _, f := range []string{secret, amiSecret} {
		if err := os.WriteFile(f, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(amiSecret, []byte("queuesync\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.configure(b, secret, amiSecret)
	b.configure(a, secret, amiSecret)
	a.peer, b.peer = b, a
	a.cfg.MetricsListen, a.cfg.MetricsPprof = reserveAddr(t), true
	b.cfg.MetricsListen = reserveAddr(t)
	a.start()
	b.start()

	get := func(n *node, path string) int {
		t.Helper()
		resp, err := http.Get("http://" + n.d.MetricsAddr() + path)
		if err != nil {
			t.Fatalf("%s GET %s: %v", n.name, path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for _, c := range []struct {
		n    *node
		path string
		want int
	}{
		{a, "/metrics", 200}, {a, "/debug/pprof/", 200}, {a, "/debug/pprof/heap", 200},
		{a, "/debug/pprof/profile?seconds=1", 200},
		{b, "/metrics", 200}, {b, "/debug/pprof/", 404}, {b, "/debug/pprof/profile?seconds=1", 404},
	} {
		if got := get(c.n, c.path); got != c.want {
			t.Errorf("%s GET %s: %d, want %d", c.n.name, c.path, got, c.want)
		}
	}
}
