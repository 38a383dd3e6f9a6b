//go:build chaos

package chaos

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
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// node is one side of the pair: a real Asterisk (testbed instance idx), a
// journal database and a queuesync daemon.
type node struct {
	name    string
	idx     int
	ami     string // the Asterisk manager, direct (the harness's path)
	astDir  string
	dbURL   string
	cfg     string // the daemon's config: peer and AMI through the gates
	cliCfg  string // the same node with direct paths (the final resync)
	listen  string
	gate    *gate // the other daemon's path to this node's peer API
	amiGate *gate // this daemon's path to its Asterisk manager

	daemon    *exec.Cmd
	daemonErr chan error
	offset    time.Duration // QUEUESYNC_CLOCK_OFFSET of the running daemon
	logFile   string        // the daemon's stderr (appended across restarts)
	syncLog   string
	persist   bool // persistentmembers of the running Asterisk

	amiMu sync.Mutex
	amiCl *ami.Client
	pgMu  sync.Mutex
	pg    *pgx.Conn
}

// cluster is the pair of nodes and the queuesync binary.
type cluster struct {
	bin   string
	dir   string
	nodes [2]*node
}

func env(k string) string { return os.Getenv(k) }

func newCluster(dir string) (*cluster, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: filepath.Join(dir, "queuesync")}
	if bin := env("CHAOS_BIN"); bin != "" {
		c.bin = bin // a binary built elsewhere (another commit, to bisect)
	} else {
		build := exec.Command("go", "build", "-race", "-o", c.bin, "github.com/queuesync/queuesync/cmd/queuesync")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build queuesync: %v\n%s", err, out)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "ami.secret"), []byte(env("QS_AMI_SECRET")+"\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "peer.secret"), []byte("chaos-shared-secret-0123456789abcdef\n"), 0o600)
	for i := range c.nodes {
		name := fmt.Sprintf("sop%d", i+1)
		db := "qs_chaos_" + name
		if err := recreateDB(db); err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		n := &node{name: name, idx: i, ami: env(fmt.Sprintf("QS_AST%d_AMI", i)), astDir: env(fmt.Sprintf("QS_AST%d_DIR", i)),
			dbURL: dbURL(db), listen: fmt.Sprintf("127.0.0.1:%d", port), persist: true,
			cfg: filepath.Join(dir, name+".yaml"), cliCfg: filepath.Join(dir, name+"-cli.yaml")}
		if n.gate, err = newGate(n.listen); err != nil {
			return nil, err
		}
		if n.amiGate, err = newGate(n.ami); err != nil {
			return nil, err
		}
		c.nodes[i] = n
	}
	for _, n := range c.nodes {
		c.writeConfigs(n, dir)
		if out, err := c.run(n, "migrate"); err != nil {
			return nil, fmt.Errorf("migrate %s: %v\n%s", n.name, err, out)
		}
	}
	return c, nil
}

// writeConfigs writes n's daemon and CLI configs with their logs in logDir.
func (c *cluster) writeConfigs(n *node, logDir string) {
	other := c.nodes[1-n.idx]
	n.logFile = filepath.Join(logDir, n.name+".daemon.log")
	n.syncLog = filepath.Join(logDir, n.name+".sync.log")
	_ = os.WriteFile(n.cfg, []byte(n.config(other, n.amiGate.addr(), other.gate.addr(), c.dir)), 0o600)
	_ = os.WriteFile(n.cliCfg, []byte(n.config(other, n.ami, other.listen, c.dir)), 0o600)
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
		other.name, peerAddr, filepath.Join(dir, "peer.secret"), n.syncLog)
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

// startDaemon starts n's daemon with its clock offset by off and waits until
// it listens.
func (c *cluster) startDaemon(n *node, off time.Duration) error {
	if n.daemon != nil {
		return fmt.Errorf("daemon %s already running", n.name)
	}
	cmd := exec.Command(c.bin, "daemon", "--config", n.cfg, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "QUEUESYNC_CLOCK_OFFSET="+off.String())
	logf, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== chaos: %s start daemon offset=%s\n", time.Now().Format("15:04:05.000"), off)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close()
	n.daemon, n.offset = cmd, off
	n.daemonErr = make(chan error, 1)
	go func() { n.daemonErr <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-n.daemonErr:
			n.daemon = nil
			return fmt.Errorf("daemon %s exited at start: %v; see %s", n.name, err, n.logFile)
		default:
		}
		if conn, err := net.DialTimeout("tcp", n.listen, 200*time.Millisecond); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("daemon %s did not listen on %s; see %s", n.name, n.listen, n.logFile)
}

// stopDaemon stops n's daemon: SIGKILL when kill, else SIGINT (a clean stop,
// SIGKILL after 15 s).
func (c *cluster) stopDaemon(n *node, kill bool) {
	if n.daemon == nil {
		return
	}
	if kill {
		_ = n.daemon.Process.Signal(syscall.SIGKILL)
	} else {
		_ = n.daemon.Process.Signal(os.Interrupt)
	}
	select {
	case <-n.daemonErr:
	case <-time.After(15 * time.Second):
		_ = n.daemon.Process.Kill()
		<-n.daemonErr
	}
	n.daemon = nil
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		if n == nil {
			continue
		}
		c.stopDaemon(n, false)
		n.gate.close()
		n.amiGate.close()
		n.closeAMI()
		n.closePG()
	}
}

// run runs the queuesync binary against node n's direct (CLI) config.
func (c *cluster) run(n *node, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--config", n.cliCfg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// testbed runs test/testbed/testbed.sh with the chaos testbed's settings
// (QS_NAME, QS_STATE, QS_BASEPORT from the environment).
func testbed(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env("QS_TESTBED"), args...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testbed %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// amiClient returns the harness's own AMI session to n's Asterisk (events
// off), reconnecting after a restart.
func (n *node) amiClient(ctx context.Context) (*ami.Client, error) {
	n.amiMu.Lock()
	defer n.amiMu.Unlock()
	if n.amiCl != nil {
		select {
		case <-n.amiCl.Done():
			n.amiCl = nil
		default:
			return n.amiCl, nil
		}
	}
	var lastErr error
	for i := 0; i < 100; i++ {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		cl, err := ami.Dial(dctx, n.ami, ami.Options{})
		if err == nil {
			err = cl.Login(dctx, env("QS_AMI_USER"), env("QS_AMI_SECRET"), "off")
			if err != nil {
				_ = cl.Close()
			}
		}
		cancel()
		if err == nil {
			n.amiCl = cl
			return cl, nil
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("harness AMI to %s: %w", n.name, lastErr)
}

func (n *node) closeAMI() {
	n.amiMu.Lock()
	defer n.amiMu.Unlock()
	if n.amiCl != nil {
		_ = n.amiCl.Close()
		n.amiCl = nil
	}
}

// withAMI runs f on the harness's AMI session, once more on a fresh session
// if the first one had closed.
func withAMI[T any](n *node, f func(context.Context, *ami.Client) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cl, err := n.amiClient(ctx)
		if err != nil {
			cancel()
			return zero, err
		}
		v, err := f(ctx, cl)
		cancel()
		if err != nil && (errors.Is(err, ami.ErrClosed) || errors.Is(err, context.DeadlineExceeded)) && attempt < 3 {
			n.closeAMI()
			continue
		}
		return v, err
	}
}

// members reads n's live members of the test queues.
func (n *node) members() (map[key]member, error) {
	qs, err := withAMI(n, func(ctx context.Context, cl *ami.Client) (ami.QueueStatus, error) {
		return cl.QueueStatus(ctx, "", "")
	})
	if err != nil {
		return nil, fmt.Errorf("QueueStatus on %s: %w", n.name, err)
	}
	out := map[key]member{}
	for _, m := range qs.Members {
		if !isTestQueue(m.Queue) {
			continue
		}
		out[newKey(m.Queue, m.Interface)] = liveMember(m)
	}
	return out, nil
}

// member reads one member of n's Asterisk (absent: the zero member).
func (n *node) member(k key) (member, error) {
	q, iface := k.spelled()
	qs, err := withAMI(n, func(ctx context.Context, cl *ami.Client) (ami.QueueStatus, error) {
		return cl.QueueStatus(ctx, q, iface)
	})
	if err != nil {
		return member{}, fmt.Errorf("QueueStatus %s on %s: %w", k, n.name, err)
	}
	for _, m := range qs.Members {
		if newKey(m.Queue, m.Interface) == k {
			return liveMember(m), nil
		}
	}
	return member{}, nil
}

func liveMember(m ami.QueueMember) member {
	v := member{Present: true, Name: m.Name, Penalty: m.Penalty, Paused: m.Paused}
	if v.Name == "" {
		v.Name = m.Interface
	}
	if m.Paused {
		v.Reason = m.PausedReason
	}
	return v
}

// pgConn returns the harness's connection to n's journal, reconnecting after
// a PostgreSQL restart.
func (n *node) query(f func(ctx context.Context, c *pgx.Conn) error) error {
	n.pgMu.Lock()
	defer n.pgMu.Unlock()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if n.pg == nil || n.pg.IsClosed() {
			n.pg, err = pgx.Connect(ctx, n.dbURL)
			if err != nil {
				n.pg = nil
				cancel()
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		err = f(ctx, n.pg)
		cancel()
		if err == nil {
			return nil
		}
		_ = n.pg.Close(context.Background())
		n.pg = nil
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("journal of %s: %w", n.name, err)
}

func (n *node) closePG() {
	n.pgMu.Lock()
	defer n.pgMu.Unlock()
	if n.pg != nil {
		_ = n.pg.Close(context.Background())
		n.pg = nil
	}
}

func (n *node) exec(sql string) error {
	return n.query(func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql)
		return err
	})
}

// jrow is one journal register.
type jrow struct {
	member
	Stamp   state.Stamp
	Origin  string
	Pending bool
}

func (r jrow) version() string { return r.Stamp.String() + "/" + r.Origin }

// journal reads n's journal.
func (n *node) journal() (map[key]jrow, error) {
	out := map[key]jrow{}
	err := n.query(func(ctx context.Context, c *pgx.Conn) error {
		clear(out)
		rows, err := c.Query(ctx, `SELECT queue_key, iface_key, present, member_name, penalty, paused, paused_reason,
			stamp_wall, stamp_logical, origin, pending FROM attribute_state WHERE class = 'queue_sync'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q, i, name, reason, origin string
			var present, paused, pending bool
			var pen int
			var wall, logical int64
			if err := rows.Scan(&q, &i, &present, &name, &pen, &paused, &reason, &wall, &logical, &origin, &pending); err != nil {
				return err
			}
			r := jrow{Stamp: state.Stamp{Wall: wall, Logical: uint32(logical)}, Origin: origin, Pending: pending}
			if present {
				r.member = member{Present: true, Name: name, Penalty: pen, Paused: paused}
				if paused {
					r.Reason = reason
				}
			}
			out[key{Queue: q, Iface: i}] = r
		}
		return rows.Err()
	})
	return out, err
}

// journalRow reads n's register of k.
func (n *node) journalRow(k key) (jrow, bool, error) {
	var r jrow
	var ok bool
	err := n.query(func(ctx context.Context, c *pgx.Conn) error {
		var name, reason, origin string
		var present, paused, pending bool
		var pen int
		var wall, logical int64
		err := c.QueryRow(ctx, `SELECT present, member_name, penalty, paused, paused_reason, stamp_wall, stamp_logical, origin, pending
			FROM attribute_state WHERE class = 'queue_sync' AND queue_key = $1 AND iface_key = $2`, k.Queue, k.Iface).
			Scan(&present, &name, &pen, &paused, &reason, &wall, &logical, &origin, &pending)
		if errors.Is(err, pgx.ErrNoRows) {
			ok = false
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		r = jrow{Stamp: state.Stamp{Wall: wall, Logical: uint32(logical)}, Origin: origin, Pending: pending}
		if present {
			r.member = member{Present: true, Name: name, Penalty: pen, Paused: paused}
			if paused {
				r.Reason = reason
			}
		}
		return nil
	})
	return r, ok, err
}

// reconciles counts the full reconciles n's daemon has logged.
func (n *node) reconciles() int {
	b, _ := os.ReadFile(n.logFile)
	return bytes.Count(b, []byte(`msg="reconciled live state"`))
}

// queueLog returns n's queue_log lines.
func (n *node) queueLog() []string {
	b, _ := os.ReadFile(n.astDir + "/log/queue_log")
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
