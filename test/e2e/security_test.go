//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/test/internal/harness"
)

const peerSecret = "e2e-shared-secret-0123456789abcdef"

// memberXML is a changes document carrying one member; its values are
// written into the XML as given (escaped by the caller where needed).
func memberXML(iface, name, reason string, stamp time.Time) string {
	return fmt.Sprintf(`<queuesync version="1" node="sop1" clock="%[4]d.0">
  <queue name="sales">
    <member interface="%[1]s" name="%[2]s" state-interface="%[1]s" membership="dynamic" present="true"
            penalty="0" paused="true" paused-reason="%[3]s" stamp="%[4]d.0" origin="sop1"/>
  </queue>
</queuesync>`, iface, name, reason, stamp.UnixMilli())
}

type peerReq struct {
	method, path string
	body         []byte
	sign         func(*http.Request, []byte)
}

func signWith(secret string, at time.Time) func(*http.Request, []byte) {
	return func(r *http.Request, body []byte) { peer.Sign(r, "sop1", []byte(secret), at, body) }
}

func send(t *testing.T, n *harness.Node, pr peerReq) (int, string, *http.Request) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), pr.method, "http://"+n.Listen+pr.path, bytes.NewReader(pr.body))
	if err != nil {
		t.Fatal(err)
	}
	if pr.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/xml")
	}
	if pr.sign != nil {
		pr.sign(req, pr.body)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string, *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), req
}

// g. Unauthenticated, wrongly signed, replayed, stale, oversized, malformed
// and CR/LF/NUL-carrying requests are refused with a clear error, and
// change nothing on either node.
func TestPeerAPIRefusesBadRequests(t *testing.T) {
	reset(t)
	partition(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	now := time.Now()
	good := []byte(memberXML("Local/3401@agents", "Mallory", "x", now))
	before := [2]string{render(members(t, a)) + journal(t, a), render(members(t, b)) + journal(t, b)}
	cases := []struct {
		name string
		req  peerReq
		code int
		says string
	}{
		{"unauthenticated", peerReq{method: "POST", path: peer.PathChanges, body: good}, 401, "not signed"},
		{"unauthenticated state", peerReq{method: "GET", path: peer.PathState}, 401, "not signed"},
		{"wrong secret", peerReq{"POST", peer.PathChanges, good, signWith("not-the-secret", now)}, 401, "secret"},
		{"stale timestamp", peerReq{"POST", peer.PathChanges, good, signWith(peerSecret, now.Add(-10*time.Minute))}, 401, "clock"},
		{"future timestamp", peerReq{"POST", peer.PathChanges, good, signWith(peerSecret, now.Add(10*time.Minute))}, 401, "clock"},
		{"oversized", peerReq{"POST", peer.PathChanges, bytes.Repeat([]byte(" "), 9<<20), signWith(peerSecret, now)}, 413, ""},
		{"malformed XML", peerReq{"POST", peer.PathChanges, []byte(`<queuesync version="1" node="sop1"><queue`), signWith(peerSecret, now)}, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := send(t, b, c.req)
			if code != c.code || !strings.Contains(strings.ToLower(body), c.says) {
				t.Fatalf("got %d %q, want %d mentioning %q", code, body, c.code, c.says)
			}
		})
	}
	injections := map[string]string{
		"CR/LF in name":        memberXML("Local/3402@agents", "Eve&#13;&#10;Action: QueueRemove", "x", now),
		"LF in reason":         memberXML("Local/3403@agents", "Eve", "lunch&#10;Action: Originate", now),
		"NUL in interface":     memberXML("Local/3404@agents&#0;", "Eve", "x", now),
		"CR in interface":      memberXML("Local/3405@agents&#13;", "Eve", "x", now),
		"bad interface syntax": memberXML("no-slash-here", "Eve", "x", now),
	}
	for name, doc := range injections {
		t.Run(name, func(t *testing.T) {
			code, body, _ := send(t, b, peerReq{"POST", peer.PathChanges, []byte(doc), signWith(peerSecret, time.Now())})
			refusedWhole := code == 400
			refusedKey := code == 200 && strings.Contains(body, `status="error"`)
			if !refusedWhole && !refusedKey {
				t.Fatalf("injection accepted: %d %s", code, body)
			}
		})
	}
	after := [2]string{render(members(t, a)) + journal(t, a), render(members(t, b)) + journal(t, b)}
	if after != before {
		t.Fatalf("a refused request changed state:\nbefore %v\nafter  %v", before, after)
	}
}

// A signed request replayed is refused, and does not apply again.
func TestPeerAPIRefusesReplay(t *testing.T) {
	reset(t)
	partition(t)
	b := tb.Nodes[1]
	body := []byte(memberXML("Local/3406@agents", "Replay", "first", time.Now()))
	code, resp, req := send(t, b, peerReq{"POST", peer.PathChanges, body, signWith(peerSecret, time.Now())})
	if code != 200 || !strings.Contains(resp, `status="applied"`) {
		t.Fatalf("signed change not applied: %d %s", code, resp)
	}
	remove(t, b, "sales", "Local/3406@agents")
	replay, err := http.NewRequestWithContext(context.Background(), "POST", req.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	replay.Header = req.Header.Clone()
	code, resp, _ = do(t, replay)
	if code != 401 || !strings.Contains(resp, "replayed") {
		t.Fatalf("replay: %d %s", code, resp)
	}
	if find(members(t, b), "sales", "Local/3406@agents") != nil {
		t.Fatal("the replayed request applied the member again")
	}
}
