//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/pkg/ami"
)

// testQueues are the testbed's queues the scenarios use.
var testQueues = []string{"support", "sales", "billing"}

// node is one side of the pair: a real Asterisk, a journal database and a
// queuesync daemon.
type node struct {
	name    string
	idx     int
	ami     string
	astDir  string
	dbURL   string
	cfg     string
	listen  string
	daemon  *exec.Cmd
	logFile string
	cliCfg  string // same node, but peers reached directly (not through the gate)
	gate    *gate  // the other daemon's path to this node's peer API
	amiGate *gate  // the daemon's path to its Asterisk manager
}

type cluster struct {
	bin   string
	dir   string
	nodes [2]*node
}

var tb *cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("QS_AST1_AMI") == "" || os.Getenv("QUEUESYNC_TEST_DATABASE") == "" {
		fmt.Fprintln(os.Stderr, "e2e: the testbed is not up: run `make testbed-up` and load its env (make e2e does both)")
		return 1
	}
	var err error
	tb, err = newCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer tb.stop()
	return m.Run()
}

func env(k string) string { return os.Getenv(k) }

func newCluster() (*cluster, error) {
	dir, err := os.MkdirTemp("", "qs-e2e-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: filepath.Join(dir, "queuesync")}
	build := exec.Command("go", "build", "-race", "-o", c.bin, "github.com/queuesync/queuesync/cmd/queuesync")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build queuesync: %v\n%s", err, out)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	write("ami.secret", env("QS_AMI_SECRET")+"\n")
	write("peer.secret", "e2e-shared-secret-0123456789abcdef\n")
	for i := range c.nodes {
		n, err := c.newNode(i)
		if err != nil {
			return nil, err
		}
		c.nodes[i] = n
	}
	for _, n := range c.nodes {
		g, err := newGate(n.listen)
		if err != nil {
			return nil, err
		}
		n.gate = g
		if n.amiGate, err = newGate(n.ami); err != nil {
			return nil, err
		}
	}
	for i, n := range c.nodes {
		other := c.nodes[1-i]
		write(n.name+".yaml", n.config(other, n.amiGate.addr(), other.gate.addr(), dir))
		write(n.name+"-cli.yaml", n.config(other, n.ami, other.listen, dir))
		if out, err := c.run(n, "migrate"); err != nil {
			return nil, fmt.Errorf("migrate %s: %v\n%s", n.name, err, out)
		}
	}
	for _, n := range c.nodes {
		if err := c.startDaemon(n); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (n *node) config(other *node, amiAddr, peerAddr, dir string) string {
	return fmt.Sprintf(`node: %s
ami:
  address: %s
  username: %s
  secret_file: %s
database:
  url: %s
listen: %s
peers:
  - name: %s
    url: http://%s
    secret_file: %s
    queues: all
log_file: %s
health_interval: 500ms
`, n.name, amiAddr, env("QS_AMI_USER"), filepath.Join(dir, "ami.secret"), n.dbURL, n.listen,
		other.name, peerAddr, filepath.Join(dir, "peer.secret"), n.logFile)
}

func (c *cluster) newNode(i int) (*node, error) {
	name := fmt.Sprintf("sop%d", i+1)
	db := "qs_e2e_" + name
	if err := recreateDB(db); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &node{
		name: name, idx: i, ami: env(fmt.Sprintf("QS_AST%d_AMI", i)), astDir: env(fmt.Sprintf("QS_AST%d_DIR", i)),
		dbURL: dbURL(db), cfg: filepath.Join(c.dir, name+".yaml"), cliCfg: filepath.Join(c.dir, name+"-cli.yaml"), listen: fmt.Sprintf("127.0.0.1:%d", port),
		logFile: filepath.Join(c.dir, name+".log"),
	}, nil
}

func dbURL(db string) string {
	u := env("QUEUESYNC_TEST_DATABASE")
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + db + rest
}

func recreateDB(db string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env("QUEUESYNC_TEST_DATABASE"))
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

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (c *cluster) startDaemon(n *node) error {
	cmd := exec.Command(c.bin, "daemon", "--config", n.cfg, "--log-level", "debug")
	logf, err := os.OpenFile(filepath.Join(c.dir, n.name+".daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	n.daemon = cmd
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", n.listen, 200*time.Millisecond); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("daemon %s did not listen on %s; see %s", n.name, n.listen, logf.Name())
}

func (c *cluster) stopDaemon(n *node) {
	if n.daemon == nil {
		return
	}
	_ = n.daemon.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = n.daemon.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = n.daemon.Process.Kill()
		<-done
	}
	n.daemon = nil
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		if n != nil {
			c.stopDaemon(n)
		}
	}
	if os.Getenv("QS_E2E_KEEP") == "" {
		_ = os.RemoveAll(c.dir)
	}
}

// run runs the queuesync binary against node n's config.
func (c *cluster) run(n *node, args ...string) (string, error) {
	out, _, err := c.run3(n, args...)
	return out, err
}

// run3 returns stdout, stderr and the exit code as an error (*exec.ExitError).
func (c *cluster) run3(n *node, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--config", n.cliCfg)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// amiClient logs in to n's Asterisk with events off.
func amiClient(t *testing.T, n *node) *ami.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cl *ami.Client
	var err error
	for i := 0; i < 50; i++ {
		if cl, err = ami.Dial(ctx, n.ami, ami.Options{}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", n.ami, err)
	}
	if err := cl.Login(ctx, env("QS_AMI_USER"), env("QS_AMI_SECRET"), "off"); err != nil {
		t.Fatalf("login %s: %v", n.ami, err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}
