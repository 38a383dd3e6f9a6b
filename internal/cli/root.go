package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/queuesync/queuesync/internal/config"
)

const defaultConfigPath = "/etc/queuesync/queuesync.yaml"

// globalOptions are the flags every command accepts. A flag that is set
// overrides the config file and QUEUESYNC_* environment variables.
type globalOptions struct {
	ConfigPath  string
	LogLevel    string
	LogFormat   string
	Node        string
	AMIAddress  string
	DatabaseURL string
	Listen      string
	LogFile     string
}

func (o *globalOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.ConfigPath, "config", "", "config file (env QUEUESYNC_CONFIG, default "+defaultConfigPath+")")
	f.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn, error (env QUEUESYNC_LOG_LEVEL)")
	f.StringVar(&o.LogFormat, "log-format", "text", "log format on stderr: text or json")
	f.StringVar(&o.Node, "node", "", "this node's name (overrides node:)")
	f.StringVar(&o.AMIAddress, "ami-address", "", "Asterisk manager address host:port (overrides ami.address)")
	f.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL (overrides database.url)")
	f.StringVar(&o.Listen, "listen", "", "peer API listen address (overrides listen:)")
	f.StringVar(&o.LogFile, "log-file", "", "sync log file (overrides log_file:)")
}

const rootLong = `queuesync keeps the state of Asterisk call-queue members (dynamic membership,
paused flag and reason, penalty) identical on active-active Asterisk nodes.

Each node runs 'queuesync daemon', which serves the peer API and applies changes
received from peers. 'queuesync resync' (from cron, or by hand) fetches each
peer's member state, compares it with the local journal and live AMI state,
fixes the differences with the minimal AMI actions and sends the peer what it
is missing. Conflicts are settled per member by last writer wins on hybrid
logical clocks, so both sides reach the same answer.

'queuesync status' shows whether the peers answer and which queues differ,
changing nothing; 'queuesync log' shows the sync log; 'queuesync config
check' validates the configuration. The peer API and its XML documents are
described in queuesync-peer-api(7).

FILES
  /etc/queuesync/queuesync.yaml  the configuration
  /etc/queuesync/ami.secret      a secret (one per file, mode 0600)
  /var/log/queue_sync.log        the sync log (log_file)

ENVIRONMENT: QUEUESYNC_CONFIG names the config file; QUEUESYNC_LOG_LEVEL
sets the log level. Every config field has a variable too, like
QUEUESYNC_NODE, QUEUESYNC_AMI_ADDRESS, QUEUESYNC_DATABASE_URL or
QUEUESYNC_LOG_FILE; the PG variables of libpq fill in the database URL.
Flags override variables, which override the file.

` + exitStatusHelp

// Main runs queuesync with args and returns the process exit code. It owns
// signal handling: the first SIGINT/SIGTERM cancels the context.
func Main(ctx context.Context, args []string, io IOStreams) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, newDeps(io), args)
}

// run runs the command tree on d with args, reports the error and returns
// the exit code. Tests call it with their own Deps.
func run(ctx context.Context, d *Deps, args []string) int {
	root := newRootCmd(d)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	reportError(d, cmd, err)
	return exitCode(err)
}

func reportError(d *Deps, cmd *cobra.Command, err error) {
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(d.IO.ErrOut, "queuesync: interrupted")
		return
	}
	fmt.Fprintf(d.IO.ErrOut, "queuesync: %s\n", err)
	var fe *FlagError
	if errors.As(err, &fe) && cmd != nil {
		fmt.Fprintf(d.IO.ErrOut, "\n%s", cmd.UsageString())
	}
}

func newRootCmd(d *Deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "queuesync",
		Short: "Keep Asterisk queue members in sync between active-active nodes",
		Long:  rootLong,
		Example: `  queuesync status
  queuesync resync -v
  queuesync log -f
  sudo -u queuesync queuesync config check`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return d.setup(cmd)
		},
	}
	root.SetOut(d.IO.Out)
	root.SetErr(d.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	d.global.addFlags(root.PersistentFlags())
	root.AddCommand(
		newVersionCmd(d),
		newMigrateCmd(d),
		newPullCmd(d, nil),
		newPushCmd(d, nil),
		newResyncCmd(d, nil),
		newDaemonCmd(d),
		newStatusCmd(d, nil),
		newLogCmd(d, nil),
		newConfigCmd(d),
		newGenManCmd(),
	)
	setupBuiltinCommands(root)
	return root
}

// needsConfig reports whether cmd needs the config file resolved.
func needsConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "help", "completion", "version", "gen-man", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false
		}
	}
	return true
}

// setup resolves logging and, for commands that need it, the config: the
// file, then QUEUESYNC_* env, then flags.
func (d *Deps) setup(cmd *cobra.Command) error {
	if err := d.setupLog(); err != nil {
		return err
	}
	if err := d.setupClock(); err != nil {
		return err
	}
	if !needsConfig(cmd) {
		return nil
	}
	cfg, err := d.loadConfig()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	d.Config = cfg
	return nil
}

// setupClock applies QUEUESYNC_CLOCK_OFFSET (a Go duration such as -30s):
// the node then reads its wall clock that far off. It exists to test clock
// skew between nodes; never set it in production.
func (d *Deps) setupClock() error {
	v := d.Getenv("QUEUESYNC_CLOCK_OFFSET")
	if v == "" {
		return nil
	}
	off, err := time.ParseDuration(v)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("QUEUESYNC_CLOCK_OFFSET %q: want a duration such as -30s", v)}
	}
	base := d.Now
	d.Now = func() time.Time { return base().Add(off) }
	return nil
}

func (d *Deps) setupLog() error {
	level := d.global.LogLevel
	if v := d.Getenv("QUEUESYNC_LOG_LEVEL"); v != "" {
		level = v
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return &FlagError{Err: fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch d.global.LogFormat {
	case "text":
		d.Log = slog.New(slog.NewTextHandler(d.IO.ErrOut, opts))
	case "json":
		d.Log = slog.New(slog.NewJSONHandler(d.IO.ErrOut, opts))
	default:
		return &FlagError{Err: fmt.Errorf("--log-format %q: want text or json", d.global.LogFormat)}
	}
	return nil
}

func (d *Deps) configPath() (path string, explicit bool) {
	if d.global.ConfigPath != "" {
		return d.global.ConfigPath, true
	}
	if v := d.Getenv("QUEUESYNC_CONFIG"); v != "" {
		return v, true
	}
	return defaultConfigPath, false
}

func (d *Deps) loadConfig() (config.Config, error) {
	path, explicit := d.configPath()
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		cfg, err = config.Default(), nil
	}
	if err != nil {
		return cfg, fmt.Errorf("load config: %w", err)
	}
	if err := cfg.ApplyEnv(d.Getenv); err != nil {
		return cfg, fmt.Errorf("config from environment: %w", err)
	}
	d.applyFlags(&cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s is not valid:\n%w", path, indentedError{err})
	}
	return cfg, nil
}

func (d *Deps) applyFlags(c *config.Config) {
	g := d.global
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Node, g.Node)
	set(&c.AMI.Address, g.AMIAddress)
	set(&c.Database.URL, g.DatabaseURL)
	set(&c.Listen, g.Listen)
	set(&c.LogFile, g.LogFile)
}

// indentedError prints a joined multi-error as an indented list and keeps
// the chain for errors.As.
type indentedError struct{ err error }

func (e indentedError) Error() string {
	return "  " + strings.ReplaceAll(e.err.Error(), "\n", "\n  ")
}

func (e indentedError) Unwrap() error { return e.err }
