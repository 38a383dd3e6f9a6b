//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// TestTrustLatin1MemberSyncs adds, through raw AMI bytes, a member whose
// name and pause reason are Latin-1 on sop1, and checks that a resync gives
// sop2 the very same bytes, that the journal keeps them exactly, and that
// resync and GET /state keep working for the members beside it.
func TestTrustLatin1MemberSyncs(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	name, reason := "Jos\xe9 Mu\xf1oz", "caf\xe9"
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "PJSIP/4101", MemberName: name, Paused: true, Reason: reason})
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "PJSIP/4102", MemberName: "Plain"})
	out := resync(t, a, "-v")
	if strings.Contains(out, "error") || strings.Contains(out, "invalid") {
		t.Errorf("resync -v reports a problem:\n%s", out)
	}
	got := find(members(t, b), "support", "PJSIP/4101")
	if got == nil || got.Name != name || got.Reason != reason {
		t.Fatalf("sop2 holds %v, want name %q paused %q", got, name, reason)
	}
	if find(members(t, b), "support", "PJSIP/4102") == nil {
		t.Error("the plain member next to the Latin-1 one did not sync")
	}
	if out := resync(t, b, "-v"); strings.Contains(out, "error") {
		t.Errorf("resync -v on sop2 reports a problem:\n%s", out)
	}
	requireSame(t)
	var raw []byte
	conn, err := pgx.Connect(ctxT(t), a.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctxT(t))
	err = conn.QueryRow(ctxT(t), `SELECT member_name_bytes FROM attribute_state WHERE class = 'queue_sync' AND iface_key = 'pjsip/4101'`).Scan(&raw)
	if err != nil || string(raw) != name {
		t.Errorf("journal of sop1 holds %q (%v), want the exact bytes %q", raw, err, name)
	}
}

// rewriter is an on-path host between a node and its peer that rewrites
// answers.
func rewriter(t *testing.T, to string, rewrite func(body []byte) []byte) string {
	t.Helper()
	target, err := url.Parse("http://" + to)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI, out.Host = target.Scheme, target.Host, "", target.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for k, v := range resp.Header {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rewrite(body))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// variant writes a copy of the config at path with each old string
// replaced by its new one, and returns the copy's path.
func variant(t *testing.T, path string, oldnew ...string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for i := 0; i+1 < len(oldnew); i += 2 {
		if !strings.Contains(cfg, oldnew[i]) {
			t.Fatalf("config %s holds no %q", path, oldnew[i])
		}
		cfg = strings.Replace(cfg, oldnew[i], oldnew[i+1], 1)
	}
	return writeFile(t, t.TempDir(), filepath.Base(path), []byte(cfg), 0o600)
}

// TestTrustRewrittenAnswerIsNotApplied runs resync on sop1 through a host
// that rewrites sop2's answers: digests made to differ, so that a state is
// read, and live members turned into removals. sop1 must remove nothing,
// and say that the answer is not trusted. resync --dry-run, which reads
// the whole state without digests, meets the rewritten state answer.
func TestTrustRewrittenAnswerIsNotApplied(t *testing.T) {
	reset(t)
	a, b := tb.Nodes[0], tb.Nodes[1]
	add(t, b, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/4201", MemberName: "Live"})
	waitFor(t, "sop1 has PJSIP/4201", func() bool { return find(members(t, a), "sales", "PJSIP/4201") != nil })
	var states atomic.Int64
	proxy := rewriter(t, b.Listen, func(body []byte) []byte {
		if bytes.Contains(body, []byte("<queuesync ")) {
			states.Add(1)
		}
		body = bytes.ReplaceAll(body, []byte(`digest="`), []byte(`digest="00`))
		// A newer removal of every member, as the attacker would write it.
		body = bytes.ReplaceAll(body, []byte(`present="true"`), []byte(`present="false"`))
		return bytes.ReplaceAll(body, []byte(`origin="sop`), []byte(`origin="zop`))
	})
	cfg := variant(t, a.CLIConfig, "url: http://"+b.Listen, "url: http://"+proxy)
	for _, args := range [][]string{{"resync", "-v"}, {"resync", "-v", "--dry-run"}} {
		out, err := exec.Command(tb.Bin, append(args, "--config", cfg)...).CombinedOutput()
		if code := harness.ExitCode(err); code != 3 {
			t.Errorf("%s through the rewriting host: exit %d, want 3 (peer unreachable)\n%s", args, code, out)
		}
		if !strings.Contains(string(out), "untrusted answer") {
			t.Errorf("%s does not say the answer was not trusted:\n%s", args, out)
		}
		if find(members(t, a), "sales", "PJSIP/4201") == nil {
			t.Fatalf("%s: sop1 removed a live member on a forged answer", args)
		}
	}
	if states.Load() == 0 {
		t.Error("no state answer went through the rewriting host")
	}
}

// TestTrustNarrowGrant gives sop2 only the sales queue on sop1 and checks,
// with requests signed as sop2, that sop1 neither reads nor writes support
// for it.
func TestTrustNarrowGrant(t *testing.T) {
	reset(t)
	a := tb.Nodes[0]
	narrow := variant(t, a.Config, "queues: all", "queues: [sales]")
	a.Stop()
	t.Cleanup(func() {
		if err := startDaemon(a); err != nil {
			t.Error(err)
		}
	})
	daemon := exec.Command(tb.Bin, "daemon", "--config", narrow)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Signal(os.Interrupt); _ = daemon.Wait() })
	waitFor(t, "the narrowed daemon listens", func() bool {
		c, err := net.DialTimeout("tcp", a.Listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	add(t, a, ami.QueueAddRequest{Queue: "support", Interface: "PJSIP/4301", MemberName: "Secret"})
	add(t, a, ami.QueueAddRequest{Queue: "sales", Interface: "PJSIP/4302", MemberName: "Shared"})

	get := func(query string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+a.Listen+peer.PathState+query, nil)
		nonce := peer.Sign(req, "sop2", []byte(peerSecret), time.Now(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if err := peer.VerifyAnswer([]byte(peerSecret), nonce, resp.StatusCode, "sop1", resp.Header.Get(peer.HeaderAnswerSignature), body); err != nil {
			t.Errorf("answer to %s: %v", query, err)
		}
		return resp.StatusCode, string(body)
	}
	if code, body := get(""); code != 200 || strings.Contains(body, "4301") || !strings.Contains(body, "4302") {
		t.Errorf("GET /state: %d, want sales only:\n%s", code, body)
	}
	if code, body := get("?queue=support"); code != 200 || strings.Contains(body, "4301") {
		t.Errorf("GET /state?queue=support: %d, want nothing of support:\n%s", code, body)
	}

	doc := strings.NewReplacer(`node="sop1"`, `node="sop2"`, `origin="sop1"`, `origin="sop2"`, `name="sales"`, `name="support"`).
		Replace(memberXML("PJSIP/4303", "Pushed", "x", time.Now()))
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.Listen+peer.PathChanges, strings.NewReader(doc))
	req.Header.Set("Content-Type", "application/xml")
	peer.Sign(req, "sop2", []byte(peerSecret), time.Now(), []byte(doc))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `status="error" reason="not shared`) {
		t.Errorf("POST of a support member: %d\n%s", resp.StatusCode, body)
	}
	time.Sleep(time.Second)
	if find(members(t, a), "support", "PJSIP/4303") != nil {
		t.Error("a peer without the support queue added a member to it")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s", what)
}
