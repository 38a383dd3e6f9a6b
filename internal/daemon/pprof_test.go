package daemon_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/queuesync/queuesync/internal/config"
)

// metrics_pprof serves Go's profiler beside /metrics; without it the
// metrics listener serves no profile.
func TestMetricsPprof(t *testing.T) {
	a, b := pairWith(t, daemonUser, func(a, b *config.Config) {
		a.MetricsListen, a.MetricsPprof = reserveAddr(t), true
		b.MetricsListen = reserveAddr(t)
	})

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
