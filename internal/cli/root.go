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

	"github.com/queuesync/queuesync/internal/build"
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

// addLogFlags adds the logging flags, which every command that logs takes.
func (o *globalOptions) addLogFlags(f *pflag.FlagSet) {
	f.StringVar(&o.LogLevel, "log-level", "", "log level on stderr: debug, info, warn or error (default info; env QUEUESYNC_LOG_LEVEL)")
	f.StringVar(&o.LogFormat, "log-format", "", "log format on stderr: text or json (default text; env QUEUESYNC_LOG_FORMAT)")
}

// addConfigFlags adds --config and the flags that override config fields,
// which the commands that read the config take.
func (o *globalOptions) addConfigFlags(f *pflag.FlagSet) {
	f.StringVar(&o.ConfigPath, "config", "", "config file (env QUEUESYNC_CONFIG, default "+defaultConfigPath+")")
	f.StringVar(&o.Node, "node", "", "this node's name (overrides node:)")
	f.StringVar(&o.AMIAddress, "ami-address", "", "Asterisk manager address host:port (overrides ami.address)")
	f.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL (overrides database.url)")
	f.StringVar(&o.Listen, "listen", "", "peer API listen address (overrides listen:)")
	f.StringVar(&o.LogFile, "log-file", "", "sync log file (overrides log_file:)")
}

// addFlagsTo gives each command the flags it uses: the logging flags to
// the commands that log, the config flags to those that read the config
// (log reads only log_file). version, help, completion and reload take
// neither.
func (o *globalOptions) addFlagsTo(root *cobra.Command) {
	for _, c := range allCommandsOf(root) {
		switch c.CommandPath() {
		case "queuesync migrate", "queuesync pull", "queuesync push", "queuesync resync",
			"queuesync daemon", "queuesync status", "queuesync history", "queuesync config check":
			o.addLogFlags(c.Flags())
			o.addConfigFlags(c.Flags())
		case "queuesync log":
			o.addLogFlags(c.Flags())
			c.Flags().StringVar(&o.ConfigPath, "config", "", "config file to read log_file from (env QUEUESYNC_CONFIG, default "+defaultConfigPath+")")
			c.Flags().StringVar(&o.LogFile, "log-file", "", "sync log file (overrides log_file:)")
		}
	}
}

func allCommandsOf(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommandsOf(sub)...)
	}
	return out
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
check' validates the configuration, which queuesync.yaml(5) describes field
by field. The peer API and its XML documents are described in
queuesync-peer-api(7).

Settings come from the config file, then QUEUESYNC_* environment variables,
then flags: a flag overrides a variable, which overrides the file.`

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
		Version:           build.Read().Version,
		// An argument that names no command is a usage error (exit 2).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownCommand(cmd, args[0])
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return d.setup(cmd)
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.Flags().Bool("version", false, "print the version and exit, as 'queuesync version' does")
	root.SetVersionTemplate(versionLine(build.Read()) + "\n")
	root.SetOut(d.IO.Out)
	root.SetErr(d.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	root.AddCommand(
		newVersionCmd(d),
		newMigrateCmd(d),
		newPullCmd(d, nil),
		newPushCmd(d, nil),
		newResyncCmd(d, nil),
		newDaemonCmd(d),
		newStatusCmd(d, nil),
		newLogCmd(d, nil),
		newHistoryCmd(d, nil),
		newConfigCmd(d),
		newReloadCmd(d),
		newGenManCmd(),
	)
	setupBuiltinCommands(root)
	d.global.addFlagsTo(root)
	setupHelp(root)
	setupCompletion(d, root)
	return root
}

// needsConfig reports whether cmd needs the config file resolved.
func needsConfig(cmd *cobra.Command) bool {
	if !cmd.HasParent() {
		return false // the root only prints help
	}
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "help", "completion", "version", "reload", "gen-man", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false
		}
	}
	return true
}

// setup resolves logging and, for commands that need it, the config: the
// file, then QUEUESYNC_* env, then flags.
func (d *Deps) setup(cmd *cobra.Command) error {
	if err := d.setupLog(); err != nil {
		if needsConfig(cmd) {
			return err
		}
		// A command that reads no config is not stopped by a bad
		// QUEUESYNC_LOG_LEVEL meant for the others.
		d.Log = slog.New(slog.NewTextHandler(d.IO.ErrOut, nil))
	}
	if err := d.setupClock(); err != nil {
		return err
	}
	if config.HasPassword(d.global.DatabaseURL) {
		d.Log.Warn("--database-url holds a password, which every user of this host can read in the process list; " +
			"put it in database.password_file (chmod 600) or PGPASSFILE instead")
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

// setupLog builds the logger from --log-level and --log-format, or else
// QUEUESYNC_LOG_LEVEL and QUEUESYNC_LOG_FORMAT: a flag beats a variable.
func (d *Deps) setupLog() error {
	level, levelSrc := d.setting(d.global.LogLevel, "--log-level", "QUEUESYNC_LOG_LEVEL", "info")
	format, formatSrc := d.setting(d.global.LogFormat, "--log-format", "QUEUESYNC_LOG_FORMAT", "text")
	var lv slog.Level
	if !validChoice(level, logLevels) || lv.UnmarshalText([]byte(level)) != nil {
		return &FlagError{Err: fmt.Errorf("%s %q: want debug, info, warn or error", levelSrc, level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		d.Log = slog.New(slog.NewTextHandler(d.IO.ErrOut, opts))
	case "json":
		d.Log = slog.New(slog.NewJSONHandler(d.IO.ErrOut, opts))
	default:
		return &FlagError{Err: fmt.Errorf("%s %q: want text or json", formatSrc, format)}
	}
	return nil
}

// Values of the enumerated flags (also offered by completion).
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

func validChoice(v string, choices []string) bool {
	for _, c := range choices {
		if strings.EqualFold(v, c) {
			return true
		}
	}
	return false
}

// setting returns the flag's value when set, else the variable's, else def,
// and names where it came from.
func (d *Deps) setting(flagValue, flag, env, def string) (value, source string) {
	if flagValue != "" {
		return flagValue, flag
	}
	if v := d.Getenv(env); v != "" {
		return v, env
	}
	return def, flag
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
	missing := errors.Is(err, fs.ErrNotExist)
	switch {
	case missing && explicit:
		return cfg, errors.New(missingConfigProblem(path, true))
	case missing:
		cfg, err = config.Default(), nil
	case err != nil:
		return cfg, fmt.Errorf("load config: %w", err)
	}
	if err := cfg.ApplyEnv(d.Getenv); err != nil {
		return cfg, fmt.Errorf("config from environment: %w", err)
	}
	d.applyFlags(&cfg)
	if err := cfg.Validate(); err != nil {
		if missing {
			return cfg, fmt.Errorf("%s; without it, the defaults, QUEUESYNC_* variables and flags leave these problems:\n%w",
				missingConfigProblem(path, false), indentedError{err})
		}
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
