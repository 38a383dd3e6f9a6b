//go:build e2e

package ami_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
)

// These tests need the real Asterisk testbed: run `make testbed-up` (or
// test/testbed/testbed.sh up), then
//
//	set -a; eval "$(test/testbed/testbed.sh env)"; set +a
//	go test -race -tags e2e -p 1 ./pkg/...

// e2eState is shared by the e2e tests of one run.
type e2eState struct {
	sweep  sync.Once
	ifaces atomic.Int64
}

var e2e = &e2eState{}

// realHarness connects to ast0 of the testbed.
func realHarness(t testing.TB) *harness {
	addr := os.Getenv("QS_AST0_AMI")
	if addr == "" {
		t.Fatal("QS_AST0_AMI is not set: start the testbed (make testbed-up) and source its env: " +
			`set -a; eval "$(test/testbed/testbed.sh env)"; set +a`)
	}
	h := &harness{
		Addr: addr, User: envOr("QS_AMI_USER", "queuesync"), Secret: envOr("QS_AMI_SECRET", "queuesync"),
		MinUser: envOr("QS_AMI_MIN_USER", "queuesync-min"), Real: true,
		nextIface: func() int { return 7100 + int(e2e.ifaces.Add(1)) },
		restart:   restartAst0,
	}
	e2e.sweep.Do(func() { sweepStale(t, h) })
	return h
}

// envOr returns the environment variable key, or def when unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// sweepStale removes dynamic members in our interface range left over by an
// interrupted earlier run.
func sweepStale(t testing.TB, h *harness) {
	ours := regexp.MustCompile(`^Local/7[1-9][0-9][0-9]@agents$`)
	c := h.login(t, h.User, "off")
	st, err := c.QueueStatus(ctxFor(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		if ours.MatchString(m.Interface) && m.Membership == "dynamic" {
			if err := c.QueueRemove(ctxFor(t), m.Queue, m.Interface); err != nil && !errors.Is(err, ami.ErrNotThere) {
				t.Fatalf("sweep %s: %v", m.Interface, err)
			}
		}
	}
	c.Close()
}

// restartAst0 runs "core restart now" on ast0 through the testbed script,
// which waits until Asterisk is fully booted again.
func restartAst0(t *testing.T) {
	tb := envOr("QS_TESTBED", "../../test/testbed/testbed.sh")
	out, err := exec.CommandContext(ctxFor(t), tb, "restart", "0").CombinedOutput()
	if err != nil {
		t.Fatalf("%s restart 0: %v\n%s", tb, err, out)
	}
}

// TestE2EScenarios runs the shared scenarios against a real Asterisk 22.
func TestE2EScenarios(t *testing.T) {
	runScenarios(t, func(t *testing.T) *harness { return realHarness(t).connect(t) })
}

// TestE2EReconnect restarts ast0 ("core restart now") under a connected
// client and reconnects.
func TestE2EReconnect(t *testing.T) {
	scRestartReconnect(t, realHarness(t).connect(t))
}

// TestE2EPipelinedPause1000 sends 1,000 QueuePause actions at once and
// checks every one is answered.
func TestE2EPipelinedPause1000(t *testing.T) {
	h := realHarness(t)
	c := h.login(t, h.User, "off")
	iface := h.iface(t)
	if err := c.QueueAdd(ctxFor(t), ami.QueueAddRequest{Queue: "sales", Interface: iface}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := pipelinedPause(ctxFor(t), c, iface, 1000); err != nil {
		t.Fatal(err)
	}
	t.Logf("1,000 pipelined QueuePause in %v", time.Since(start))
}

// benchPause measures rounds of 1,000 QueuePause actions against ast0.
func benchPause(b *testing.B, pipelined bool) {
	h := realHarness(b)
	c := h.login(b, h.User, "off")
	iface := h.iface(b)
	ctx := context.Background()
	if err := c.QueueAdd(ctx, ami.QueueAddRequest{Queue: "sales", Interface: iface}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var err error
		if pipelined {
			err = pipelinedPause(ctx, c, iface, 1000)
		} else {
			for i := 0; i < 1000 && err == nil; i++ {
				err = c.QueuePause(ctx, "sales", iface, i%2 == 0, "p")
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkPipelinedPause1000 sends 1,000 QueuePause at once per op.
func BenchmarkPipelinedPause1000(b *testing.B) { benchPause(b, true) }

// BenchmarkSequentialPause1000 sends 1,000 QueuePause one after another.
func BenchmarkSequentialPause1000(b *testing.B) { benchPause(b, false) }
