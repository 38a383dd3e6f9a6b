package web

import (
	"compress/gzip"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var at = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// fakeSource serves a fixed picture: Alice paused for lunch on both nodes,
// Bob present on sop1 only (a drift), sop2 reachable with a backlog.
type fakeSource struct{}

func (fakeSource) Status(context.Context) (Status, error) {
	since := at.Add(-12 * time.Minute)
	return Status{
		Node: "sop1", Generated: at, Nodes: []string{"sop1", "sop2"},
		Peers: []PeerStatus{{Name: "sop2", Reachable: true, Undelivered: 2, OldestUndelivered: ptr(at.Add(-5 * time.Second)),
			LastCheck: ptr(at.Add(-time.Second)), QueuesInSync: 0, QueuesOutOfSync: 1}},
		Queues: []Queue{{
			Name: "sales", InSync: map[string]bool{"sop2": false}, Available: 1, Paused: 1,
			Members: []Member{
				{Interface: "Local/1001@agents", Name: "Alice", History: "/member?interface=Local%2F1001%40agents&queue=sales",
					States: []*MemberState{
						{Present: true, Paused: true, Reason: "lunch", PausedSince: &since, Origin: "sop1"},
						{Present: true, Paused: true, Reason: "lunch", PausedSince: &since, Origin: "sop1"}},
					LastChange: &Change{When: since, Recorded: since, Origin: "sop1", Source: "ami", Result: "journalled", Field: "paused", Old: "no", New: "yes"}},
				{Interface: "Local/1002@agents", Name: "Bob", Differs: true, History: "/member?interface=Local%2F1002%40agents&queue=sales",
					States: []*MemberState{{Present: true, Origin: "sop1"}, {}}},
			},
		}},
	}, nil
}

func (fakeSource) History(_ context.Context, queue, iface string, limit int) ([]Change, error) {
	return []Change{{When: at, Recorded: at, Origin: "sop2", Source: "peer:sop2", Result: "applied", Field: "paused", Old: "yes", New: "no"}}, nil
}

func get(t *testing.T, h http.Handler, path, password string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if password != "" {
		req.SetBasicAuth("anyone", password)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestQueuesJSONGolden(t *testing.T) {
	h := NewHandler(Options{Source: fakeSource{}})
	resp := get(t, h, PathQueues, "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d %s", PathQueues, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	path := filepath.Join("testdata", "queues.json")
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/web -update)", err)
	}
	if string(body) != string(want) {
		t.Errorf("GET %s differs from %s:\n%s", PathQueues, path, body)
	}
}

func TestPageIsSelfContained(t *testing.T) {
	h := NewHandler(Options{Source: fakeSource{}})
	for _, p := range []string{"/", "/member?queue=sales&interface=x", "/static/app.js", "/static/style.css"} {
		resp := get(t, h, p, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
		}
		if strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
			t.Errorf("GET %s refers to another site", p)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
	}
	if resp := get(t, h, "/nothing", ""); resp.StatusCode != 404 {
		t.Errorf("GET /nothing = %d, want 404", resp.StatusCode)
	}
	if resp := get(t, h, PathHistory, ""); resp.StatusCode != 400 {
		t.Errorf("GET history without a member = %d, want 400", resp.StatusCode)
	}
}

func TestBasicAuth(t *testing.T) {
	h := NewHandler(Options{Source: fakeSource{}, Password: []byte("s3cret")})
	for _, tt := range []struct {
		path, password string
		code           int
	}{
		{"/", "", 401}, {PathQueues, "", 401}, {PathQueues, "wrong", 401}, {"/static/app.js", "", 401},
		{PathQueues, "s3cret", 200}, {"/", "s3cret", 200},
	} {
		resp := get(t, h, tt.path, tt.password)
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s with password %q = %d, want %d", tt.path, tt.password, resp.StatusCode, tt.code)
		}
		if tt.code == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("GET %s refused without a Basic challenge", tt.path)
		}
	}
}

func TestQueuesFilter(t *testing.T) {
	h := NewHandler(Options{Source: fakeSource{}})
	for _, tt := range []struct {
		query string
		n     int
	}{{"?queue=SALES", 1}, {"?queue=none", 0}, {"", 1}} {
		_, body := getBody(t, h, PathQueues+tt.query)
		if got := strings.Count(body, `"name":"sales"`); got != tt.n {
			t.Errorf("GET %s%s: sales %d times, want %d", PathQueues, tt.query, got, tt.n)
		}
	}
}

func getBody(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	resp := get(t, h, path, "")
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestQueuesGzip(t *testing.T) {
	h := NewHandler(Options{Source: fakeSource{}})
	req := httptest.NewRequest(http.MethodGet, PathQueues, nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	want, _ := os.ReadFile(filepath.Join("testdata", "queues.json"))
	if string(body) != string(want) {
		t.Errorf("gzipped answer differs from testdata/queues.json:\n%s", body)
	}
}
