package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

var _ statusJournal = (*store.Store)(nil)

// fakeAMI is a local Asterisk that counts every action that would change it.
type fakeAMI struct {
	startup time.Time
	queues  []string
	members []ami.QueueMember

	mu      sync.Mutex
	changes int
}

func (f *fakeAMI) QueueStatus(_ context.Context, queue, _ string) (ami.QueueStatus, error) {
	var st ami.QueueStatus
	for _, q := range f.queues {
		if queue == "" || strings.EqualFold(q, queue) {
			st.Params = append(st.Params, ami.QueueParams{Queue: q})
		}
	}
	for _, m := range f.members {
		if queue == "" || strings.EqualFold(m.Queue, queue) {
			st.Members = append(st.Members, m)
		}
	}
	return st, nil
}

func (f *fakeAMI) CoreStatus(context.Context) (ami.CoreStatus, error) {
	return ami.CoreStatus{Startup: f.startup}, nil
}

func (f *fakeAMI) changed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes++
	return nil
}

func (f *fakeAMI) QueueAdd(context.Context, ami.QueueAddRequest) error            { return f.changed() }
func (f *fakeAMI) QueueRemove(context.Context, string, string) error              { return f.changed() }
func (f *fakeAMI) QueuePause(context.Context, string, string, bool, string) error { return f.changed() }
func (f *fakeAMI) QueuePenalty(context.Context, string, string, int) error        { return f.changed() }
func (f *fakeAMI) QueueMemberRingInUse(context.Context, string, string, bool) error {
	return f.changed()
}

// fakeJournal is a journal that counts every write.
type fakeJournal struct {
	entries []store.Entry
	startup time.Time
	peers   []store.PeerStatus
	writes  int
}

func (j *fakeJournal) List(_ context.Context, queues []string) ([]store.Entry, error) {
	var out []store.Entry
	for _, e := range j.entries {
		if len(queues) == 0 || containsFold(queues, e.Queue) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (j *fakeJournal) Get(_ context.Context, k state.Key) (store.Entry, bool, error) {
	for _, e := range j.entries {
		if e.Key() == k {
			return e, true, nil
		}
	}
	return store.Entry{}, false, nil
}

func (j *fakeJournal) GetMany(ctx context.Context, keys []state.Key) (map[state.Key]store.Entry, error) {
	out := map[state.Key]store.Entry{}
	for _, k := range keys {
		if e, ok, _ := j.Get(ctx, k); ok {
			out[k] = e
		}
	}
	return out, nil
}

func (j *fakeJournal) PutMany(_ context.Context, regs []state.Register, _ store.PutOptions) ([]store.PutResult, error) {
	j.writes++
	return nil, errors.New("fake journal: write in a dry run")
}

func (j *fakeJournal) Settle(context.Context, state.Key, state.Version) error {
	j.writes++
	return nil
}

func (j *fakeJournal) SettleMany(context.Context, []state.Register) error {
	j.writes++
	return nil
}

func (j *fakeJournal) Startup(context.Context) (time.Time, error) { return j.startup, nil }

func (j *fakeJournal) SetStartup(context.Context, time.Time) error {
	j.writes++
	return nil
}

func (j *fakeJournal) Peers(context.Context) ([]store.PeerStatus, error) { return j.peers, nil }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// fakePeerNode is the node behind a test peer's API.
type fakePeerNode struct {
	regs []state.Register

	mu      sync.Mutex
	dryRuns []bool
	applied int
}

func (n *fakePeerNode) State(_ context.Context, _ []string, dryRun bool) ([]state.Register, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dryRuns = append(n.dryRuns, dryRun)
	return n.regs, nil
}

func (n *fakePeerNode) Apply(context.Context, string, []state.Register) ([]peer.Result, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.applied++
	return nil, errors.New("fake peer: apply in a dry run")
}

const testSecret = "s3cret-shared-by-sop1-and-sop2"

// startPeer serves the peer API of node sop2, which trusts sop1 with secret.
func startPeer(t *testing.T, node *fakePeerNode, secret string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(peer.NewHandler(peer.HandlerOptions{
		Receiver: node, Name: "sop2", Software: "queuesync test", Now: fixedNow,
		Secrets: map[string][]byte{"sop1": []byte(secret)},
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testStatusPeer is sop2 at url, as sop1 assembles it (node.NewPeers).
// Messages name its secret file as the packaged one.
func testStatusPeer(t *testing.T, url string) node.Peer {
	t.Helper()
	secret := writeFile(t, t.TempDir(), "peer-sop2.secret", testSecret, 0o600)
	cfg := config.Config{Node: "sop1", MaxClockSkew: time.Minute,
		Peers: []config.Peer{{Name: "sop2", URL: url, SecretFile: secret, Queues: config.AllQueues}}}
	p := node.NewPeers(cfg, state.NewClock(fixedNow, time.Minute), fixedNow, nil)[0]
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	p.Conf.SecretFile = "/etc/queuesync/peer-sop2.secret"
	return p
}

var (
	startup = testNow.Add(-24 * time.Hour).Truncate(time.Second)
	stamp1  = state.Stamp{Wall: testNow.Add(-time.Hour).UnixMilli()}
	stamp2  = state.Stamp{Wall: testNow.Add(-time.Minute).UnixMilli()}
)

func reg(queue, iface string, paused bool, st state.Stamp, origin string) state.Register {
	return state.Register{
		Queue: queue, Interface: iface, Present: true, MemberName: iface, StateInterface: iface,
		Membership: state.Dynamic, Paused: paused, Stamp: st, Origin: origin,
	}
}

func live(r state.Register) ami.QueueMember {
	return ami.QueueMember{
		Queue: r.Queue, Interface: r.Interface, Name: r.MemberName, StateInterface: r.StateInterface,
		Membership: string(r.Membership), Penalty: r.Penalty, Paused: r.Paused, PausedReason: r.PausedReason,
	}
}

// statusFixture is sop1 with queues support, sales and billing, each shared
// with sop2.
type statusFixture struct {
	ami     *fakeAMI
	journal *fakeJournal
	node    *fakePeerNode
	n       *statusInputs
	url     string // the test peer's random URL, replaced in golden files
}

// stable replaces the test peer's random URL in out with one as long, so
// that table borders stay aligned.
func (f *statusFixture) stable(out string) string {
	const host = "http://sop2.test:"
	return strings.ReplaceAll(out, f.url, host+strings.Repeat("0", max(len(f.url)-len(host), 1)))
}

// newStatusFixture builds sop1 and sop2. In sync: support/alice. Different:
// sop2 paused support/bob later (applied here), and sales/carol exists only
// on sop1 (pushed to sop2).
func newStatusFixture(t *testing.T, inSync bool) *statusFixture {
	t.Helper()
	alice := reg("support", "PJSIP/alice", false, stamp1, "sop1")
	bob := reg("support", "PJSIP/bob", false, stamp1, "sop1")
	carol := reg("sales", "PJSIP/carol", false, stamp1, "sop1")
	bobPaused := reg("support", "PJSIP/bob", true, stamp2, "sop2")
	f := &statusFixture{
		ami: &fakeAMI{startup: startup, queues: []string{"support", "sales", "billing"},
			members: []ami.QueueMember{live(alice), live(bob), live(carol)}},
		journal: &fakeJournal{startup: startup, entries: []store.Entry{
			{Register: alice, Seq: 1}, {Register: bob, Seq: 2}, {Register: carol, Seq: 3},
		}, peers: []store.PeerStatus{{Peer: "sop2", Acked: 2, Backlog: 1, LastSync: testNow.Add(-90 * time.Second), LastError: "push to peer sop2: connection reset by peer"}}},
		node: &fakePeerNode{regs: []state.Register{alice, bobPaused}},
	}
	if inSync {
		f.node.regs = []state.Register{alice, bob, carol}
		f.journal.peers[0].Backlog, f.journal.peers[0].LastError = 0, ""
	}
	srv := startPeer(t, f.node, testSecret)
	f.url = srv.URL
	f.n = &statusInputs{name: "sop1", journal: f.journal, peers: []node.Peer{testStatusPeer(t, srv.URL)}}
	f.n.engine = engine.New(engine.Options{
		Node: "sop1", AMI: f.ami, Journal: f.journal, DryRun: true, Now: fixedNow,
		Clock: state.NewClock(fixedNow, time.Minute),
	})
	return f
}

// checkUnchanged fails if status changed anything anywhere.
func (f *statusFixture) checkUnchanged(t *testing.T) {
	t.Helper()
	if f.ami.changes != 0 || f.journal.writes != 0 || f.node.applied != 0 {
		t.Errorf("status changed something: %d AMI actions, %d journal writes, %d peer applies", f.ami.changes, f.journal.writes, f.node.applied)
	}
	for _, dry := range f.node.dryRuns {
		if !dry {
			t.Error("status asked the peer for its state without dry-run=true")
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		inSync   bool
		opts     statusOptions
		tty      bool
		wantCode int
	}{
		{name: "in-sync", inSync: true, wantCode: ExitOK},
		{name: "in-sync-tty", inSync: true, tty: true, wantCode: ExitOK},
		{name: "differences", wantCode: ExitPartial},
		{name: "differences-tty", tty: true, wantCode: ExitPartial},
		{name: "differences-verbose", opts: statusOptions{Verbose: 1}, wantCode: ExitPartial},
		{name: "differences-json", opts: statusOptions{JSON: true}, wantCode: ExitPartial},
		{name: "one-queue", opts: statusOptions{Queues: []string{"SALES"}}, wantCode: ExitPartial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStatusFixture(t, tt.inSync)
			d, out, errOut := testDeps(nil)
			d.IO.IsTTY, d.IO.Borders = tt.tty, tt.tty
			o := tt.opts
			o.Timeout = 5 * time.Second
			err := statusWith(context.Background(), d, f.n, &o)
			if got := exitCode(err); got != tt.wantCode {
				t.Errorf("exit code %d (%v), want %d", got, err, tt.wantCode)
			}
			f.checkUnchanged(t)
			if tt.opts.Verbose > 0 && !tt.tty {
				// Piped -v: stdout holds the tables, the summary goes to stderr.
				if !strings.HasPrefix(errOut.String(), "sop1: ") {
					t.Errorf("stderr holds no summary: %q", errOut)
				}
			} else if errOut.String() != "" {
				t.Errorf("stderr: %s", errOut)
			}
			ext := ".golden"
			if tt.opts.JSON {
				ext = ".json"
			}
			golden(t, "status/"+tt.name+ext, f.stable(out.String()))
		})
	}
}

func TestStatusJSONIsValid(t *testing.T) {
	f := newStatusFixture(t, false)
	d, out, _ := testDeps(nil)
	_ = statusWith(context.Background(), d, f.n, &statusOptions{JSON: true, Timeout: time.Second})
	var rep struct {
		OK     bool
		Queues []queueReport
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	want := map[string]int{"billing": 0, "sales": 1, "support": 1}
	for _, q := range rep.Queues {
		if q.Differences != want[q.Queue] {
			t.Errorf("queue %s: %d differences, want %d", q.Queue, q.Differences, want[q.Queue])
		}
	}
	if rep.OK || len(rep.Queues) != 3 {
		t.Errorf("ok=%v with %d queues, want false with 3", rep.OK, len(rep.Queues))
	}
}

func TestStatusPeerProblems(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *statusFixture)
		want  []string // in stderr
	}{
		{
			name: "unreachable",
			setup: func(t *testing.T, f *statusFixture) {
				srv := startPeer(t, f.node, testSecret)
				srv.Close()
				f.n.peers = []node.Peer{testStatusPeer(t, srv.URL)}
			},
			want: []string{"queuesync: health of peer sop2", "is 'queuesync daemon' running on sop2"},
		},
		{
			name: "secrets-differ",
			setup: func(t *testing.T, f *statusFixture) {
				srv := startPeer(t, f.node, "another secret")
				f.n.peers = []node.Peer{testStatusPeer(t, srv.URL)}
			},
			want: []string{"401 Unauthorized", "shared secret", "peers[0].secret_file /etc/queuesync/peer-sop2.secret"},
		},
		{
			name: "untrusted",
			setup: func(t *testing.T, f *statusFixture) {
				h := peer.NewHandler(peer.HandlerOptions{Receiver: f.node, Name: "sop2", Software: "queuesync test", Now: fixedNow,
					Secrets: map[string][]byte{"sop1": []byte(testSecret)}})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(unsigned{w}, r) // an on-path host drops the answer's signature
				}))
				t.Cleanup(srv.Close)
				f.n.peers = []node.Peer{testStatusPeer(t, srv.URL)}
			},
			want: []string{"untrusted answer", "nothing from it was applied", "use TLS"},
		},
		{
			name: "client-not-built",
			setup: func(_ *testing.T, f *statusFixture) {
				f.n.peers[0].Err = errors.New("read secret file /etc/queuesync/peer-sop2.secret: permission denied")
			},
			want: []string{"permission denied (fix peers[0] in the config)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStatusFixture(t, true)
			tt.setup(t, f)
			d, out, errOut := testDeps(nil)
			err := statusWith(context.Background(), d, f.n, &statusOptions{Timeout: 2 * time.Second})
			if got := exitCode(err); got != ExitPartial {
				t.Errorf("exit code %d (%v), want %d", got, err, ExitPartial)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range []string{"unknown (sop2 unreachable)", "1 peer unreachable"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			f.checkUnchanged(t)
		})
	}
}

func TestStatusLocalFailure(t *testing.T) {
	f := newStatusFixture(t, true)
	f.n.engine = nil
	f.n.localErrs = []error{errors.New("connect to asterisk manager at 127.0.0.1:5038: connection refused")}
	d, out, _ := testDeps(nil)
	err := statusWith(context.Background(), d, f.n, &statusOptions{Timeout: time.Second})
	if got := exitCode(err); got != ExitFailure {
		t.Fatalf("exit code %d, want %d", got, ExitFailure)
	}
	if !strings.Contains(err.Error(), "asterisk manager") {
		t.Errorf("error %q does not name the failing part", err)
	}
	if !strings.Contains(out.String(), "sop2") || !strings.Contains(out.String(), "status incomplete") {
		t.Errorf("peers not reported when AMI is down:\n%s", out)
	}
}

func TestDatabaseAdvice(t *testing.T) {
	const url = "postgres://queuesync:hunter2@db.example:5432/cdrdb"
	err := node.DatabaseAdvice(url, errors.New("failed to connect: connection refused"))
	msg := err.Error()
	if strings.Contains(msg, "hunter2") {
		t.Errorf("password leaked: %s", msg)
	}
	for _, w := range []string{"postgres://queuesync:xxxxx@db.example:5432/cdrdb", "is PostgreSQL running", "connection refused"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q lacks %q", msg, w)
		}
	}
	notMigrated := errors.Join(store.ErrNotMigrated)
	if !errors.Is(node.DatabaseAdvice(url, notMigrated), store.ErrNotMigrated) {
		t.Error("DatabaseAdvice lost the chain")
	}
}

func TestStatusFlags(t *testing.T) {
	tests := []struct {
		args     []string
		want     statusOptions
		wantCode int
	}{
		{args: nil, want: statusOptions{Timeout: 5 * time.Second}},
		{args: []string{"--json", "-v", "support", "sales"}, want: statusOptions{JSON: true, Verbose: 1, Queues: []string{"support", "sales"}, Timeout: 5 * time.Second}},
		{args: []string{"--peer", "sop2,sop3", "--timeout", "1s"}, want: statusOptions{Peers: []string{"sop2", "sop3"}, Timeout: time.Second}},
		{args: []string{"--timeout", "0s"}, wantCode: ExitUsage},
		{args: []string{"--bogus"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d, _, _ := testDeps(nil)
			var got *statusOptions
			cmd := newStatusCmd(d, func(_ context.Context, o *statusOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{}, tt.args...))
			cmd.SetOut(d.IO.Out)
			cmd.SetErr(d.IO.ErrOut)
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
			err := cmd.Execute()
			if code := exitCode(err); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != ExitOK {
				return
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.JSON != tt.want.JSON || got.Verbose != tt.want.Verbose || got.Timeout != tt.want.Timeout ||
				strings.Join(got.Queues, ",") != strings.Join(tt.want.Queues, ",") || strings.Join(got.Peers, ",") != strings.Join(tt.want.Peers, ",") {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestStatusUnknownPeer(t *testing.T) {
	f := newStatusFixture(t, true)
	d, _, _ := testDeps(nil)
	err := statusWith(context.Background(), d, f.n, &statusOptions{Peers: []string{"sop9"}, Timeout: time.Second})
	if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "peers: sop2") {
		t.Errorf("got %v (exit %d), want a usage error listing the peers", err, exitCode(err))
	}
}

// unsigned is a ResponseWriter that drops the answer signature.
type unsigned struct{ http.ResponseWriter }

func (u unsigned) WriteHeader(code int) {
	u.Header().Del(peer.HeaderAnswerSignature)
	u.ResponseWriter.WriteHeader(code)
}

func (u unsigned) Write(b []byte) (int, error) {
	u.Header().Del(peer.HeaderAnswerSignature)
	return u.ResponseWriter.Write(b)
}
