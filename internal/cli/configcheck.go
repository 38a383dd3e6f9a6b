package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/config"
)

func newConfigCmd(d *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration file",
		Long: `The config commands work on queuesync's configuration: the file
(--config, env QUEUESYNC_CONFIG, default ` + defaultConfigPath + `), then the
QUEUESYNC_* environment variables, then the command-line flags, over the
defaults.`,
		Example: `  queuesync config check`,
		Args:    cobra.ArbitraryArgs,
		// The config is what these commands check: do not load it first.
		PersistentPreRunE: func(*cobra.Command, []string) error { return d.setupLog() },
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &FlagError{Err: fmt.Errorf("unknown command %q for %q; try %q", args[0], cmd.CommandPath(), "queuesync config check")}
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newConfigCheckCmd(d, nil))
	return cmd
}

func newConfigCheckCmd(d *Deps, runF func(context.Context) error) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and its secret files",
		Long: `Check reads the configuration as every command does (the file, then
QUEUESYNC_* variables, then flags) and validates all of it: names, addresses,
URLs, durations, and that every secret file (ami.secret_file,
database.password_file, peers[].secret_file, tls.key_file) exists, is
readable by the user running the check, is not empty and is not open to
every user. It prints every problem, one per line, naming the field and the
fix, and connects to nothing.

When the configuration is valid it prints "config OK: <path>" and a short
summary: node, AMI address, database, listen address and peers.

Run it as the user the daemon runs as (sudo -u queuesync queuesync config
check), so that the secret files are checked with that user's rights. It
exits 0 when the configuration is valid, 2 when it is not.`,
		Example: `  queuesync config check
  sudo -u queuesync queuesync config check --config /etc/queuesync/queuesync.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context())
			}
			return runConfigCheck(d)
		},
	}
}

// runConfigCheck prints every problem of the configuration on its own line
// and exits 2, or prints a summary.
func runConfigCheck(d *Deps) error {
	path, explicit := d.configPath()
	cfg, found, problems := d.checkConfig(path, explicit)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(d.IO.Out, p)
		}
		what := "problems"
		if len(problems) == 1 {
			what = "problem"
		}
		if !found {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("config %s does not exist (%d %s)", path, len(problems), what)}
		}
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("config %s is not valid: %d %s", path, len(problems), what)}
	}
	if err := printConfigSummary(d.IO.Out, path, found, cfg); err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		if _, err := fmt.Fprintln(d.IO.Out, "warning: "+w); err != nil {
			return err
		}
	}
	return nil
}

// checkConfig resolves the config like loadConfig and returns every
// problem as one line.
func (d *Deps) checkConfig(path string, explicit bool) (cfg config.Config, found bool, problems []string) {
	cfg, err := config.Load(path)
	found = true
	switch {
	case errors.Is(err, fs.ErrNotExist):
		found = false
		problems = []string{missingConfigProblem(path, explicit)}
		if explicit {
			return cfg, found, problems
		}
		cfg = config.Default()
	case err != nil:
		// Every YAML problem, each line naming the file.
		msg := strings.TrimPrefix(err.Error(), "parse config "+path+": ")
		for _, l := range problemLines(errors.New(msg)) {
			problems = append(problems, path+": "+l)
		}
		return cfg, found, problems
	}
	problems = append(problems, problemLines(cfg.ApplyEnv(d.Getenv))...)
	d.applyFlags(&cfg)
	problems = append(problems, problemLines(cfg.Validate())...)
	if p := logDirProblem(cfg.LogFile); p != "" {
		problems = append(problems, p)
	}
	if !found && len(problems) == 1 {
		// The defaults, variables and flags make a valid config alone.
		problems = nil
	}
	return cfg, found, problems
}

// missingConfigProblem says that the config file does not exist, and
// where its name came from.
func missingConfigProblem(path string, explicit bool) string {
	if explicit {
		return fmt.Sprintf("%s: the config file does not exist (named by --config or QUEUESYNC_CONFIG); check the path", path)
	}
	return fmt.Sprintf("%s: the config file does not exist; create it (the package installs an annotated example, see queuesync.yaml(5)) or name another with --config", path)
}

// problemLines flattens joined errors into one line each.
func problemLines(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, problemLines(e)...)
		}
		return out
	}
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func printConfigSummary(w io.Writer, path string, found bool, c config.Config) error {
	if !found {
		path = "no file at " + path + "; defaults, QUEUESYNC_* variables and flags"
	}
	scheme := "http"
	if c.TLS.Enabled() {
		scheme = "https"
	}
	db := config.RedactURL(c.Database.URL)
	if db == "" {
		db = "(from the PG* environment variables)"
	}
	lines := [][2]string{
		{"node", c.Node},
		{"ami", c.AMI.Username + "@" + c.AMI.Address},
		{"database", db},
		{"listen", c.Listen + " (" + scheme + ")"},
	}
	if c.MetricsListen != "" {
		lines = append(lines, [2]string{"metrics", c.MetricsListen})
	}
	if c.WebListen != "" {
		auth := "no password"
		if c.WebPasswordFile != "" {
			auth = "password from " + c.WebPasswordFile
		}
		lines = append(lines, [2]string{"status page", scheme + "://" + c.WebListen + "/ (" + auth + ")"})
	}
	if len(c.Peers) == 0 {
		lines = append(lines, [2]string{"peers", "none: this node syncs with nobody"})
	}
	for i, p := range c.Peers {
		key := ""
		if i == 0 {
			key = "peers"
		}
		lines = append(lines, [2]string{key, fmt.Sprintf("%s %s (queues: %s)", p.Name, p.URL, p.Queues)})
	}
	logFile := c.LogFile
	if logFile == "-" {
		logFile += " (no sync log)"
	}
	lines = append(lines, [2]string{"log_file", logFile})
	if _, err := fmt.Fprintf(w, "config OK: %s\n", path); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "  %-9s %s\n", l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}

// logDirProblem reports a sync log whose directory does not exist: the
// daemon and resync could not open it.
func logDirProblem(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Sprintf("log_file: %q: directory %s does not exist; create it, or the daemon and resync cannot start", path, dir)
	}
	return ""
}

// resolveConfig reads the config as loadConfig does (a missing default
// file means the defaults), without validating it, for commands that need
// only part of it.
func (d *Deps) resolveConfig() (config.Config, bool, error) {
	path, explicit := d.configPath()
	cfg, err := config.Load(path)
	found := true
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		cfg, err, found = config.Default(), nil, false
	}
	if err != nil {
		return cfg, found, fmt.Errorf("load config: %w", err)
	}
	if err := cfg.ApplyEnv(d.Getenv); err != nil {
		return cfg, found, fmt.Errorf("config from environment: %w", err)
	}
	d.applyFlags(&cfg)
	return cfg, found, nil
}
