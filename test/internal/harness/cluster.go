//go:build e2e || chaos || bench

package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/pkg/ami"
)

// Options shape a cluster. The zero value of each field is a usable default.
type Options struct {
	Nodes int // how many nodes (default 2); node i is testbed instance i
	// Peers[i] lists the nodes node i names as its peers (indexes into
	// Nodes); nil: every node names every other one (a full mesh). A chain
	// a-b-c is [][]int{{1}, {0, 2}, {1}}.
	Peers      [][]int
	Dir        string // working directory: binary, configs, logs; default a temporary one, removed by Close
	Keep       bool   // keep a temporary Dir at Close
	DBPrefix   string // node databases are DBPrefix+name (default "qs_harness_")
	Bin        string // use this queuesync binary instead of building this tree
	Race       bool   // build with the race detector (else as released: static, stripped)
	LogLevel   string // the daemons' --log-level (default "debug")
	PeerSecret string // the shared peer secret (default a fixed test secret)
	// Gated puts a Gate in front of every node's peer API (the other daemons'
	// only path to it) and in front of every Asterisk manager (its daemon's
	// only path to it). The CLI config always has direct paths.
	Gated bool
	// Netns (with Gated) puts each node's peer gate in a network namespace
	// of the testbed (testbed.sh netns-up), joined to the host by a veth
	// pair: the other daemons reach the node's API across that link, whose
	// packets Node.SetLoss drops. Close removes the namespaces.
	Netns          bool
	Metrics        bool          // give every daemon a metrics_listen address
	Pprof          bool          // with Metrics: serve Go's profiler there too (metrics_pprof)
	HealthInterval time.Duration // the daemons' health_interval (default 2s, the production default)
	CLITimeout     time.Duration // how long one CLI run may take (default 2 minutes)
}

func (o Options) withDefaults() Options {
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	if o.DBPrefix == "" {
		o.DBPrefix = "qs_harness_"
	}
	if o.LogLevel == "" {
		o.LogLevel = "debug"
	}
	if o.PeerSecret == "" {
		o.PeerSecret = "harness-shared-secret-0123456789abcdef"
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = 2 * time.Second
	}
	if o.CLITimeout == 0 {
		o.CLITimeout = 2 * time.Minute
	}
	return o
}

// Cluster is N nodes of the testbed and the queuesync binary they run.
type Cluster struct {
	Env   Env
	Bin   string
	Dir   string
	Nodes []*Node
	opts  Options
	temp  bool
	netns bool // testbed.sh netns-up ran
}

// Node is one node: a testbed Asterisk, a journal database, a listen
// address and, while started, a queuesync daemon.
type Node struct {
	Name      string // sop1, sop2, ...
	Index     int    // the testbed instance (QS_AST<Index>_*)
	AMI       string // the Asterisk manager, direct
	AstDir    string
	DBName    string // the journal database
	DBURL     string
	Listen    string // the peer API
	Metrics   string // the metrics listener ("" unless Options.Metrics)
	Config    string // the daemon's config (through the gates when gated)
	CLIConfig string // the same node with direct paths
	LogFile   string // the daemon's stderr, appended across starts
	SyncLog   string // the sync log (log_file)
	PeerGate  *Gate  // the other daemons' path to Listen (nil unless gated)
	Netns     string // the network namespace PeerGate listens in (Options.Netns)
	AMIGate   *Gate  // the daemon's path to AMI (nil unless gated)

	c      *Cluster
	daemon *Daemon

	link *ami.Link // the harness's own session
	pgMu sync.Mutex
	pg   *pgx.Conn
}

// New builds (or takes) the binary, creates every node's database afresh,
// writes the configs and applies the journal schema. No daemon is started.
// On error the cluster returned, if any, holds what was set up: Close it.
func New(env Env, o Options) (*Cluster, error) {
	o = o.withDefaults()
	if len(env.Asterisks) < o.Nodes {
		return nil, fmt.Errorf("%w: %d Asterisk instances, %d nodes", ErrNoTestbed, len(env.Asterisks), o.Nodes)
	}
	c := &Cluster{Env: env, Dir: o.Dir, opts: o}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", "qs-harness-")
		if err != nil {
			return nil, err
		}
		c.Dir, c.temp = dir, true
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := c.build(); err != nil {
		return c, err
	}
	_ = os.WriteFile(c.secretFile("ami"), []byte(env.AMISecret+"\n"), 0o600)
	_ = os.WriteFile(c.secretFile("peer"), []byte(o.PeerSecret+"\n"), 0o600)
	var netns [][]string // per node: namespace, address
	if o.Netns && o.Gated {
		out, err := env.Testbed("netns-up", itoa(o.Nodes))
		if err != nil {
			return c, err
		}
		c.netns = true
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				netns = append(netns, f)
			}
		}
		if len(netns) != o.Nodes {
			return c, fmt.Errorf("testbed netns-up %d: %q", o.Nodes, out)
		}
	}
	for i := range o.Nodes {
		var ns []string
		if netns != nil {
			ns = netns[i]
		}
		n, err := c.newNode(i, ns)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	c.SetLogDir(c.Dir)
	for _, n := range c.Nodes {
		if out, err := c.Run(n, "migrate"); err != nil {
			return c, fmt.Errorf("migrate %s: %w\n%s", n.Name, err, out)
		}
	}
	return c, nil
}

// build puts the queuesync binary of this tree in the working directory,
// unless Options.Bin names one built elsewhere (another commit, to bisect).
func (c *Cluster) build() error {
	if c.opts.Bin != "" {
		c.Bin = c.opts.Bin
		return nil
	}
	c.Bin = filepath.Join(c.Dir, "queuesync")
	const pkg = "github.com/queuesync/queuesync/cmd/queuesync"
	cmd := exec.Command("go", "build", "-race", "-o", c.Bin, pkg)
	if !c.opts.Race {
		cmd = exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", c.Bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build queuesync: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) secretFile(name string) string { return filepath.Join(c.Dir, name+".secret") }

func (c *Cluster) newNode(i int, netns []string) (*Node, error) {
	name := fmt.Sprintf("sop%d", i+1)
	ast := c.Env.Asterisks[i]
	n := &Node{Name: name, Index: i, AMI: ast.AMI, AstDir: ast.Dir, DBName: c.opts.DBPrefix + name, c: c,
		Config: filepath.Join(c.Dir, name+".yaml"), CLIConfig: filepath.Join(c.Dir, name+"-cli.yaml")}
	n.DBURL = c.Env.DBURL(n.DBName)
	n.link = ami.NewLink(func(ctx context.Context) (*ami.Client, error) { return n.DialAMI(ctx, "off", ami.Options{}) })
	if err := c.Env.RecreateDB(n.DBName); err != nil {
		return nil, err
	}
	var err error
	if n.Listen, err = FreeAddr(); err != nil {
		return nil, err
	}
	if c.opts.Metrics {
		if n.Metrics, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	if c.opts.Gated {
		if netns != nil {
			n.Netns = netns[0]
			n.PeerGate, err = NewGateIn(netns[0], netns[1]+":0", n.Listen)
		} else {
			n.PeerGate, err = NewGate(n.Listen)
		}
		if err != nil {
			return nil, err
		}
		if n.AMIGate, err = NewGate(n.AMI); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// SetLogDir moves every node's daemon log and sync log to dir (the daemons
// started from now on write there) and rewrites the configs.
func (c *Cluster) SetLogDir(dir string) {
	for _, n := range c.Nodes {
		n.LogFile = filepath.Join(dir, n.Name+".daemon.log")
		n.SyncLog = filepath.Join(dir, n.Name+".sync.log")
		c.WriteConfig(n, Override{})
	}
}

// Override varies a node's config from the cluster's default.
type Override struct {
	DBURL          string        // default: the node's own journal
	PeerURL        string        // every peer's URL (default: each peer's API)
	HealthInterval time.Duration // default: Options.HealthInterval
}

// WriteConfig writes n's daemon config and CLI config with o applied.
func (c *Cluster) WriteConfig(n *Node, o Override) {
	ami, peerAddr := n.AMI, func(p *Node) string { return p.Listen }
	if c.opts.Gated {
		ami, peerAddr = n.AMIGate.Addr(), func(p *Node) string { return p.PeerGate.Addr() }
	}
	_ = os.WriteFile(n.Config, []byte(c.config(n, o, ami, peerAddr)), 0o600)
	_ = os.WriteFile(n.CLIConfig, []byte(c.config(n, o, n.AMI, func(p *Node) string { return p.Listen })), 0o600)
}

func (c *Cluster) config(n *Node, o Override, amiAddr string, peerAddr func(*Node) string) string {
	if o.DBURL == "" {
		o.DBURL = n.DBURL
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = c.opts.HealthInterval
	}
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\nami:\n  address: %s\n  username: %s\n  secret_file: %s\n",
		n.Name, amiAddr, c.Env.AMIUser, c.secretFile("ami"))
	fmt.Fprintf(&b, "database:\n  url: %s\nlisten: %s\n", o.DBURL, n.Listen)
	if n.Metrics != "" {
		fmt.Fprintf(&b, "metrics_listen: %s\n", n.Metrics)
		if c.opts.Pprof {
			b.WriteString("metrics_pprof: true\n")
		}
	}
	b.WriteString("peers:\n")
	for _, p := range c.Nodes {
		if !c.IsPeer(n.Index, p.Index) {
			continue
		}
		url := o.PeerURL
		if url == "" {
			url = "http://" + peerAddr(p)
		}
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    secret_file: %s\n    queues: all\n", p.Name, url, c.secretFile("peer"))
	}
	fmt.Fprintf(&b, "log_file: %s\nhealth_interval: %s\n", n.SyncLog, o.HealthInterval)
	return b.String()
}

// IsPeer reports whether node a names node b as a peer (Options.Peers).
func (c *Cluster) IsPeer(a, b int) bool {
	if a == b {
		return false
	}
	if c.opts.Peers == nil {
		return true
	}
	return a < len(c.opts.Peers) && slices.Contains(c.opts.Peers[a], b)
}

// PeerSecret returns the peer secret every node shares.
func (c *Cluster) PeerSecret() string { return c.opts.PeerSecret }

// Partition cuts every peer gate: no daemon reaches another until Heal.
// The CLI still reaches the peers directly.
func (c *Cluster) Partition() {
	for _, n := range c.Nodes {
		n.PeerGate.Cut()
	}
}

// Heal opens every peer gate.
func (c *Cluster) Heal() {
	for _, n := range c.Nodes {
		n.PeerGate.Heal()
	}
}

// ScratchDB creates database db afresh, applies the journal schema with n's
// binary and config, and returns its URL.
func (c *Cluster) ScratchDB(n *Node, db string) (string, error) {
	if err := c.Env.RecreateDB(db); err != nil {
		return "", err
	}
	url := c.Env.DBURL(db)
	c.WriteConfig(n, Override{DBURL: url})
	defer c.WriteConfig(n, Override{})
	if out, err := c.Run(n, "migrate"); err != nil {
		return "", fmt.Errorf("migrate %s: %w\n%s", db, err, out)
	}
	return url, nil
}

// Close stops every daemon, closes the gates and the harness's own
// sessions, and removes a temporary working directory.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Stop()
		n.PeerGate.Close()
		n.AMIGate.Close()
		n.CloseAMI()
		n.closeDB()
	}
	if c.netns {
		_, _ = c.Env.Testbed("netns-down")
	}
	if c.temp && !c.opts.Keep {
		_ = os.RemoveAll(c.Dir)
	}
}

// SetLoss drops pct percent of the packets, each way, on the link to n's
// peer gate (Options.Netns); 0 stops it.
func (n *Node) SetLoss(pct int) error {
	if n.Netns == "" {
		return fmt.Errorf("%s: no network namespace (Options.Netns)", n.Name)
	}
	_, err := n.c.Env.Testbed("netns-loss", itoa(n.Index), itoa(pct))
	return err
}

// FreeAddr returns a 127.0.0.1 address with a port free at the moment.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
