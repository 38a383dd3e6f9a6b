//go:build e2e || chaos || bench

package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// CLIOptions vary one run of the queuesync CLI.
type CLIOptions struct {
	DaemonConfig bool          // use the daemon's config (through the gates), as cron on the node would
	Offset       time.Duration // QUEUESYNC_CLOCK_OFFSET
	Timeout      time.Duration // default Options.CLITimeout
}

// CLIResult is what one CLI run printed and how it ended.
type CLIResult struct {
	Stdout, Stderr string
	Err            error // an *exec.ExitError for a non-zero exit
}

// Output returns stdout followed by stderr.
func (r CLIResult) Output() string { return r.Stdout + r.Stderr }

// Code returns the exit code (-1 when the binary did not run to an exit).
func (r CLIResult) Code() int { return ExitCode(r.Err) }

// CLI runs the queuesync binary with args and n's config.
func (c *Cluster) CLI(n *Node, o CLIOptions, args ...string) CLIResult {
	if o.Timeout == 0 {
		o.Timeout = c.opts.CLITimeout
	}
	cfg := n.CLIConfig
	if o.DaemonConfig {
		cfg = n.Config
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, append(args, "--config", cfg)...)
	if o.Offset != 0 {
		cmd.Env = append(os.Environ(), "QUEUESYNC_CLOCK_OFFSET="+o.Offset.String())
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return CLIResult{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// Run runs the queuesync binary with args and n's direct CLI config, and
// returns its Output.
func (c *Cluster) Run(n *Node, args ...string) (string, error) {
	r := c.CLI(n, CLIOptions{}, args...)
	return r.Output(), r.Err
}

// ExitCode returns the exit code err reports: 0 for nil, -1 when the
// process did not run to an exit.
func ExitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
