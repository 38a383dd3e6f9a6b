//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// webPassword is the status pages' password in these tests.
const webPassword = "page-password-for-tests"

// watched is a node whose daemon serves a status page and metrics.
type watched struct {
	node    *harness.Node
	web     string // base URL of the status page
	metrics string // base URL of the metrics
}

// watchDaemons restarts both daemons with a status page (password
// webPassword) and metrics on addresses of their own; the next reset
// starts them as usual again. It returns the first two nodes, A and B.
func watchDaemons(t *testing.T) (a, b watched) {
	t.Helper()
	pw := writeFile(t, t.TempDir(), "web.password", []byte(webPassword+"\n"), 0o600)
	for _, n := range tb.Nodes {
		n.Stop()
	}
	var out []watched
	for _, n := range tb.Nodes {
		w, err := harness.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		m, err := harness.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("QUEUESYNC_WEB_LISTEN", w)
		t.Setenv("QUEUESYNC_METRICS_LISTEN", m)
		t.Setenv("QUEUESYNC_WEB_PASSWORD_FILE", pw)
		if err := startDaemon(n); err != nil {
			t.Fatal(err)
		}
		out = append(out, watched{node: n, web: "http://" + w, metrics: "http://" + m})
	}
	for _, v := range []string{"QUEUESYNC_WEB_LISTEN", "QUEUESYNC_METRICS_LISTEN", "QUEUESYNC_WEB_PASSWORD_FILE"} {
		os.Unsetenv(v) // the CLI runs as usual; t.Setenv restores at the end
	}
	t.Cleanup(func() {
		for _, n := range tb.Nodes {
			n.Stop()
		}
		for _, n := range tb.Nodes {
			_ = startDaemon(n)
		}
	})
	for _, w := range out {
		waitFor(t, w.node.Name+"'s status page answers", func() bool {
			code, _ := w.get(t, "/api/v1/queues", webPassword)
			return code == http.StatusOK
		})
	}
	return out[0], out[1]
}

// get fetches path from w's status page with password ("" for none).
func (w watched) get(t *testing.T, path, password string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, w.web+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		req.SetBasicAuth("supervisor", password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// pageMember is a member as /api/v1/queues shows it.
type pageMember struct {
	Interface string `json:"interface"`
	Differs   bool   `json:"differs"`
	States    []*struct {
		Present     bool       `json:"present"`
		Paused      bool       `json:"paused"`
		Reason      string     `json:"reason"`
		PausedSince *time.Time `json:"paused_since"`
		Origin      string     `json:"origin"`
	} `json:"states"`
	LastChange *struct {
		Origin string `json:"origin"`
		Source string `json:"source"`
	} `json:"last_change"`
}

type pageStatus struct {
	Node  string   `json:"node"`
	Nodes []string `json:"nodes"`
	Peers []struct {
		Name      string     `json:"name"`
		Reachable bool       `json:"reachable"`
		StateAsOf *time.Time `json:"state_as_of"`
	} `json:"peers"`
	Queues []struct {
		Name    string       `json:"name"`
		Members []pageMember `json:"members"`
	} `json:"queues"`
}

// status reads w's /api/v1/queues.
func (w watched) status(t *testing.T) pageStatus {
	t.Helper()
	code, body := w.get(t, "/api/v1/queues", webPassword)
	var st pageStatus
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("%s: GET /api/v1/queues = %d\n%s", w.node.Name, code, body)
	}
	return st
}

func (st pageStatus) member(queue, iface string) *pageMember {
	for _, q := range st.Queues {
		if strings.EqualFold(q.Name, queue) {
			for i := range q.Members {
				if strings.EqualFold(q.Members[i].Interface, iface) {
					return &q.Members[i]
				}
			}
		}
	}
	return nil
}

// metric returns the value of the sample line of w's metrics that starts
// with prefix (name and labels), or "" when there is none.
func (w watched) metric(t *testing.T, prefix string) string {
	t.Helper()
	resp, err := http.Get(w.metrics + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, prefix+" ") {
			return strings.TrimPrefix(l, prefix+" ")
		}
	}
	return ""
}

// An agent paused on A shows, with its reason and the true start of the
// pause, on B's page within two seconds; the page refuses a wrong password.
func TestWatchPageShowsAPeersPause(t *testing.T) {
	reset(t)
	a, b := watchDaemons(t)
	const q, iface = "support", "Local/3501@agents"
	addAndWait(t, a.node, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Ines"})
	time.Sleep(1100 * time.Millisecond)

	for _, tt := range []struct{ path, pw string }{{"/", ""}, {"/api/v1/queues", ""}, {"/api/v1/queues", "wrong"}} {
		if code, _ := b.get(t, tt.path, tt.pw); code != http.StatusUnauthorized {
			t.Errorf("GET %s with password %q = %d, want 401", tt.path, tt.pw, code)
		}
	}
	start := time.Now()
	pause(t, a.node, q, iface, true, "coaching")
	var seen time.Duration
	for time.Since(start) < 10*time.Second {
		m := b.status(t).member(q, iface)
		if m != nil && len(m.States) == 2 && m.States[0] != nil && m.States[0].Paused && m.States[0].Reason == "coaching" {
			seen = time.Since(start)
			s := m.States[0]
			if s.Origin != "sop1" || s.PausedSince == nil || s.PausedSince.Before(start.Add(-2*time.Second)) || s.PausedSince.After(time.Now()) {
				t.Errorf("B shows the pause as made on %s at %v, want on sop1 at about %s", s.Origin, s.PausedSince, start.UTC())
			}
			if m.LastChange == nil || m.LastChange.Origin != "sop1" || m.LastChange.Source != "peer:sop1" {
				t.Errorf("B's last change of the member = %+v, want from sop1, received from peer:sop1", m.LastChange)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen == 0 || seen > 2*time.Second {
		t.Fatalf("B's page showed A's pause after %s, want within 2s", seen)
	}
	t.Logf("B's page showed A's pause %s after it was made", seen)
}

// A journal drift between the nodes takes queuesync_queue_in_sync to 0,
// and a resync takes it back to 1; a change made on A while B's daemon is
// down shows on A's page as a difference with what B held when last seen.
func TestWatchAgreementAndDrift(t *testing.T) {
	reset(t)
	a, b := watchDaemons(t)
	const q, iface = "billing", "Local/3502@agents"
	addAndWait(t, a.node, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Jon"})
	inSync := fmt.Sprintf(`queuesync_queue_in_sync{peer="sop2",queue="%s"}`, q)
	waitFor(t, "A reports billing in sync with B", func() bool { return a.metric(t, inSync) == "1" })
	if a.metric(t, fmt.Sprintf(`queuesync_queue_last_compared_timestamp_seconds{peer="sop2",queue="%s"}`, q)) == "" {
		t.Error("A exports no last comparison time")
	}

	// Drift: B's journal holds another version of the member, written as
	// every journal write is, with a new sequence number.
	execSQL(t, b.node, `UPDATE attribute_state SET stamp_wall = stamp_wall + 1, seq = nextval('queue_sync_seq')
		WHERE class = 'queue_sync' AND queue_key = $1 AND iface_key = $2`, q, strings.ToLower(iface))
	waitFor(t, "A reports billing out of sync with B", func() bool { return a.metric(t, inSync) == "0" })
	if j := statusJournals(t, a.node, q); j["sop2"] != "differ" {
		t.Errorf("status --json on A: journals of %s %v, want sop2: differ", q, j)
	}
	resync(t, b.node)
	waitFor(t, "A reports billing in sync with B after the resync", func() bool { return a.metric(t, inSync) == "1" })
	if j := statusJournals(t, a.node, q); j["sop2"] != "agree" {
		t.Errorf("status --json on A after the resync: journals of %s %v, want sop2: agree", q, j)
	}

	// A drift while B's daemon is down shows on A's page.
	a.status(t) // B's state is read once more before it goes
	b.node.Stop()
	pause(t, a.node, q, iface, true, "while B is down")
	waitFor(t, "A's page shows the member differing from B", func() bool {
		st := a.status(t)
		m := st.member(q, iface)
		return m != nil && m.Differs && len(st.Peers) == 1 && !st.Peers[0].Reachable && st.Peers[0].StateAsOf != nil
	})
	// A counts its members by state from its own Asterisk every few
	// checks, whatever B does and whether or not its page is looked at.
	pause(t, a.node, q, iface, false, "")
	waitFor(t, "A counts the unpaused member", func() bool {
		return a.metric(t, fmt.Sprintf(`queuesync_queue_members{queue="%s",state="paused"}`, q)) == "0" &&
			a.metric(t, fmt.Sprintf(`queuesync_queue_members{queue="%s",state="available"}`, q)) == "1"
	})
}

// statusJournals returns what `queuesync status --json` on n says of the
// journals' agreement for queue, by peer.
func statusJournals(t *testing.T, n *harness.Node, queue string) map[string]string {
	t.Helper()
	r := tb.CLI(n, harness.CLIOptions{}, "status", "--json")
	var st struct {
		Queues []struct {
			Queue    string            `json:"queue"`
			Journals map[string]string `json:"journals"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status --json on %s: %v\n%s", n.Name, err, r.Output())
	}
	for _, q := range st.Queues {
		if strings.EqualFold(q.Queue, queue) {
			return q.Journals
		}
	}
	return nil
}
