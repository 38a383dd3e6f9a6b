//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/pkg/ami"
)

// node is one side of the pair: a real Asterisk (testbed instance idx), a
// journal database and, when started, a queuesync daemon. Node A (sop1) is
// ast0, node B (sop2) is ast1.
type node struct {
	name    string
	idx     int
	ami     string
	dbName  string
	dbURL   string
	listen  string
	metrics string
	cfg     string // daemon and CLI config (peer reached directly)
	logFile string // the daemon's stderr, appended across starts
	syncLog string

	daemon *exec.Cmd
	exited chan error

	mu sync.Mutex
	cl *ami.Client // events off; for the harness's own actions
}

// cluster is the pair of nodes and the queuesync binary.
type cluster struct {
	bin      string
	dir      string
	keepDir  bool
	nodes    [2]*node
	pgAdmin  string
	amiUser  string
	amiPass  string
	peerPass string
}

func (c *cluster) a() *node { return c.nodes[0] }
func (c *cluster) b() *node { return c.nodes[1] }

func newCluster() (*cluster, error) {
	dir := env("QS_BENCH_DIR")
	keep := dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "qs-bench-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, keepDir: keep, bin: filepath.Join(dir, "queuesync"), pgAdmin: env("QUEUESYNC_TEST_DATABASE"),
		amiUser: env("QS_AMI_USER"), amiPass: env("QS_AMI_SECRET"), peerPass: "bench-shared-secret-0123456789abcdef"}
	// The binary as released: no race detector, static, stripped.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", c.bin, "github.com/queuesync/queuesync/cmd/queuesync")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build queuesync: %v\n%s", err, out)
	}
	_ = os.WriteFile(filepath.Join(dir, "ami.secret"), []byte(c.amiPass+"\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "peer.secret"), []byte(c.peerPass+"\n"), 0o600)
	for i := range c.nodes {
		name := fmt.Sprintf("sop%d", i+1)
		n := &node{name: name, idx: i, ami: env(fmt.Sprintf("QS_AST%d_AMI", i)), dbName: "qs_bench_" + name,
			cfg: filepath.Join(dir, name+".yaml"), logFile: filepath.Join(dir, name+".daemon.log"),
			syncLog: filepath.Join(dir, name+".sync.log")}
		n.dbURL = c.dbURL(n.dbName)
		if err := c.recreateDB(n.dbName); err != nil {
			return c, err
		}
		var err error
		if n.listen, err = freeAddr(); err != nil {
			return c, err
		}
		if n.metrics, err = freeAddr(); err != nil {
			return c, err
		}
		c.nodes[i] = n
	}
	for _, n := range c.nodes {
		c.writeConfig(n, daemonConf{})
		if out, err := c.run(n, "migrate"); err != nil {
			return c, fmt.Errorf("migrate %s: %v\n%s", n.name, err, out)
		}
	}
	return c, nil
}

// daemonConf varies a node's config from the default pair.
type daemonConf struct {
	dbURL          string        // default: the node's own journal
	peerURL        string        // default: the other node's peer API
	healthInterval time.Duration // default: the production default, 2s
}

func (c *cluster) writeConfig(n *node, o daemonConf) {
	other := c.nodes[1-n.idx]
	if o.dbURL == "" {
		o.dbURL = n.dbURL
	}
	if o.peerURL == "" {
		o.peerURL = "http://" + other.listen
	}
	if o.healthInterval == 0 {
		o.healthInterval = 2 * time.Second
	}
	conf := fmt.Sprintf(`node: %s
ami:
  address: %s
  username: %s
  secret_file: %s
database:
  url: %s
listen: %s
metrics_listen: %s
peers:
  - name: %s
    url: %s
    secret_file: %s
    queues: all
log_file: %s
health_interval: %s
`, n.name, n.ami, c.amiUser, filepath.Join(c.dir, "ami.secret"), o.dbURL, n.listen, n.metrics,
		other.name, o.peerURL, filepath.Join(c.dir, "peer.secret"), n.syncLog, o.healthInterval)
	_ = os.WriteFile(n.cfg, []byte(conf), 0o600)
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		if n == nil {
			continue
		}
		c.stopDaemon(n)
		n.mu.Lock()
		if n.cl != nil {
			_ = n.cl.Close()
		}
		n.mu.Unlock()
	}
	if !c.keepDir {
		_ = os.RemoveAll(c.dir)
	}
}

func (c *cluster) dbURL(db string) string {
	u := c.pgAdmin
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + db + rest
}

func (c *cluster) recreateDB(db string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.pgAdmin)
	if err != nil {
		return fmt.Errorf("connect to the testbed PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+db)
	return err
}

// migrateDB applies the journal schema to a database of the testbed.
func (c *cluster) migrateDB(n *node, dbURL string) error {
	c.writeConfig(n, daemonConf{dbURL: dbURL})
	defer c.writeConfig(n, daemonConf{})
	out, err := c.run(n, "migrate")
	if err != nil {
		return fmt.Errorf("migrate %s: %v\n%s", dbURL, err, out)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// run runs the queuesync binary with n's config.
func (c *cluster) run(n *node, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--config", n.cfg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startDaemon starts n's daemon with config o and returns once it listens
// and has finished its first full reconcile.
func (c *cluster) startDaemon(tb testing.TB, n *node, o daemonConf) {
	tb.Helper()
	if n.daemon != nil {
		tb.Fatalf("daemon %s already running", n.name)
	}
	c.writeConfig(n, o)
	mark := fileSize(n.logFile)
	cmd := exec.Command(c.bin, "daemon", "--config", n.cfg, "--log-level", "info")
	logf, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatal(err)
	}
	logf.Close()
	n.daemon = cmd
	n.exited = make(chan error, 1)
	go func() { n.exited <- cmd.Wait() }()
	if err := c.waitLog(n, mark, "reconciled live state", 5*time.Minute); err != nil {
		tb.Fatal(err)
	}
}

// waitLog waits until n's daemon log, past offset mark, holds needle.
func (c *cluster) waitLog(n *node, mark int64, needle string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-n.exited:
			n.daemon = nil
			return fmt.Errorf("daemon %s exited: %v; see %s", n.name, err, n.logFile)
		default:
		}
		if logHas(n.logFile, mark, needle) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("daemon %s: no %q in its log within %s; see %s", n.name, needle, timeout, n.logFile)
}

func logHas(file string, from int64, needle string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			return true
		}
	}
	return false
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// stopDaemon stops n's daemon with SIGINT (a clean shutdown) and waits.
func (c *cluster) stopDaemon(n *node) {
	if n.daemon == nil {
		return
	}
	_ = n.daemon.Process.Signal(os.Interrupt)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		_ = n.daemon.Process.Kill()
		<-n.exited
	}
	n.daemon = nil
}

// pid returns the daemon's process id.
func (n *node) pid() int { return n.daemon.Process.Pid }

// client returns n's shared AMI client (events off), dialling it when
// needed.
func (n *node) client(tb testing.TB) *ami.Client {
	tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cl != nil && n.cl.Err() == nil {
		return n.cl
	}
	n.cl = dialAMI(tb, n, "off")
	return n.cl
}

// dialAMI logs in to n's Asterisk with the given event mask; the caller
// closes the client.
func dialAMI(tb testing.TB, n *node, events string) *ami.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cl *ami.Client
	var err error
	for range 50 {
		if cl, err = ami.Dial(ctx, n.ami, ami.Options{EventBuffer: 1 << 16}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("dial %s: %v", n.ami, err)
	}
	if err := cl.Login(ctx, bed.amiUser, bed.amiPass, events); err != nil {
		tb.Fatalf("login %s: %v", n.ami, err)
	}
	return cl
}

// procStatus returns fields of /proc/PID/status in kB (VmRSS, VmHWM...).
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Vm") {
			continue
		}
		f := strings.Fields(v)
		if len(f) >= 1 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			out[k] = n
		}
	}
	return out, nil
}

// scrape returns the daemon's Prometheus metrics as name{labels} -> value.
func scrape(n *node) (map[string]float64, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get("http://" + n.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// astPid returns the pid of n's Asterisk.
func astPid(n *node) int {
	b, err := os.ReadFile(filepath.Join(env(fmt.Sprintf("QS_AST%d_DIR", n.idx)), "run", "asterisk.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuTime returns the user+system CPU time a process has used.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sy, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+sy) * 10 * time.Millisecond // USER_HZ = 100
}

// waitIdle waits until both Asterisk instances use less than 5% of a CPU
// over half a second: adding or removing thousands of members leaves
// Asterisk busy with device-state work for a while, which would disturb the
// next measurement.
func waitIdle(tb testing.TB) { waitIdleMax(tb, 10*time.Minute) }

// waitIdleMax is waitIdle giving up after limit; it reports whether
// Asterisk became idle.
func waitIdleMax(tb testing.TB, limit time.Duration) bool {
	tb.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		busy := false
		for _, n := range bed.nodes {
			pid := astPid(n)
			t0 := cpuTime(pid)
			time.Sleep(500 * time.Millisecond)
			if cpuTime(pid)-t0 > 25*time.Millisecond {
				busy = true
			}
		}
		if !busy {
			if d := time.Since(start); d > 2*time.Second {
				tb.Logf("waited %s for Asterisk to become idle", d.Round(100*time.Millisecond))
			}
			return true
		}
	}
	tb.Logf("Asterisk still busy after %s; measuring anyway", limit)
	return false
}
