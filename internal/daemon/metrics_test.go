package daemon_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/config"
)

// stepCounts scrapes n's /metrics for the number of observations of each
// step of queuesync_step_seconds.
func stepCounts(t *testing.T, n *node) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.d.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatalf("%s GET /metrics: %v", n.name, err)
	}
	defer resp.Body.Close()
	const prefix = `queuesync_step_seconds_count{step="`
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		step, val, _ := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("%s /metrics: %q: %v", n.name, sc.Text(), err)
		}
		out[step] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A change's path is timed on both sides, step by step: the sender's
// capture and delivery, the receiver's serving of the batch and its apply.
func TestStepMetrics(t *testing.T) {
	a, b := pairWith(t, daemonUser, func(a, b *config.Config) {
		a.MetricsListen, b.MetricsListen = reserveAddr(t), reserveAddr(t)
	})
	a.add(member{Queue: "sales", Interface: "PJSIP/1001", Name: "Alice", Paused: true, Reason: "lunch"})
	b.waitMember("sales", "PJSIP/1001", isPaused("lunch"))

	sender := []string{"lock_wait", "journal_read", "journal_write", "outbox_read", "peer_deliver"}
	receiver := []string{"lock_wait", "asterisk_read", "journal_read", "journal_write", "asterisk_actions", "serve_apply"}
	for _, c := range []struct {
		n     *node
		steps []string
	}{{a, sender}, {b, receiver}} {
		eventually(t, c.n.name+" timed every step of the change", func() bool {
			got := stepCounts(t, c.n)
			for _, s := range c.steps {
				if got[s] < 1 {
					return false
				}
			}
			return true
		})
	}
}
