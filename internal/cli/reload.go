package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// defaultRunDir is where the daemon tells 'queuesync reload' the outcome of
// each reload, unless systemd names another ($RUNTIME_DIRECTORY).
const defaultRunDir = "/run/queuesync"

// reloadOutcome is the file in which the daemon records the outcome of its
// last reload: "SEQ ok|refused MESSAGE", SEQ counting from 0 at start. It
// is written only where a runtime directory exists (under systemd).
type reloadOutcome struct {
	mu   sync.Mutex
	path string
	seq  int
	log  *slog.Logger
}

func runDir(getenv func(string) string) string {
	if v := getenv("RUNTIME_DIRECTORY"); v != "" {
		return strings.Split(v, ":")[0]
	}
	return defaultRunDir
}

func newReloadOutcome(getenv func(string) string, log *slog.Logger) *reloadOutcome {
	dir := runDir(getenv)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return &reloadOutcome{log: log, seq: -1}
	}
	return &reloadOutcome{path: filepath.Join(dir, "reload"), log: log, seq: -1}
}

// write records the next outcome, atomically (write and rename).
func (r *reloadOutcome) write(result, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	if r.path == "" {
		return
	}
	line := fmt.Sprintf("%d %s %s\n", r.seq, result, strings.Join(strings.Fields(msg), " "))
	tmp := r.path + ".tmp"
	err := os.WriteFile(tmp, []byte(line), 0o644)
	if err == nil {
		err = os.Rename(tmp, r.path)
	}
	if err != nil {
		r.log.Warn("cannot record the reload outcome for 'queuesync reload'", "err", err)
	}
}

// readReloadOutcome parses the outcome file.
func readReloadOutcome(path string) (seq int, result, msg string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", "", err
	}
	f := strings.SplitN(strings.TrimSpace(string(b)), " ", 3)
	if len(f) < 2 {
		return 0, "", "", fmt.Errorf("%s: unexpected content %q", path, b)
	}
	seq, err = strconv.Atoi(f[0])
	if err != nil {
		return 0, "", "", fmt.Errorf("%s: unexpected content %q", path, b)
	}
	if len(f) == 3 {
		msg = f[2]
	}
	return seq, f[1], msg, nil
}

// reloadOptions are the flags of reload.
type reloadOptions struct {
	PID     int
	Timeout time.Duration
	signal  func(pid int) error // tests replace it
	poll    time.Duration
}

func newReloadCmd(d *Deps) *cobra.Command {
	opts := reloadOptions{poll: 50 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the running daemon re-read its config, and wait for its answer",
		Long: `Reload sends SIGHUP to the running daemon and waits until it has re-read the
config file, then exits 0 if the daemon took the new config and 1 (printing
why) if it refused it and runs on with the previous one, for example because
the file is not valid or node, listen or ami changed (those need a restart).

"systemctl reload queuesync" runs it (ExecReload), so that the reload fails
visibly instead of reporting success. The daemon records each outcome in
$RUNTIME_DIRECTORY/reload (default /run/queuesync/reload, which systemd
creates from the unit's RuntimeDirectory=); the daemon's pid is $MAINPID,
which systemd sets for ExecReload, or --pid.`,
		Example: `  systemctl reload queuesync
  queuesync reload --pid "$(systemctl show -P MainPID queuesync)"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.PID <= 0 {
				pid, err := strconv.Atoi(d.Getenv("MAINPID"))
				if err != nil || pid <= 0 {
					return &FlagError{Err: errors.New("--pid: give the daemon's process id (systemd sets $MAINPID for ExecReload)")}
				}
				opts.PID = pid
			}
			if opts.signal == nil {
				opts.signal = func(pid int) error { return syscall.Kill(pid, syscall.SIGHUP) }
			}
			return runReload(cmd.Context(), d, &opts)
		},
	}
	cmd.Flags().IntVar(&opts.PID, "pid", 0, "the daemon's process id (default $MAINPID)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long to wait for the daemon's answer")
	return cmd
}

func runReload(ctx context.Context, d *Deps, o *reloadOptions) error {
	path := filepath.Join(runDir(d.Getenv), "reload")
	before, _, _, err := readReloadOutcome(path)
	if err != nil {
		return fmt.Errorf("read the daemon's reload record: %w; is 'queuesync daemon' running under systemd (RuntimeDirectory=queuesync)?", err)
	}
	if err := o.signal(o.PID); err != nil {
		return fmt.Errorf("signal the daemon (pid %d): %w", o.PID, err)
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		seq, result, msg, err := readReloadOutcome(path)
		if err == nil && seq > before {
			if result != "ok" {
				return fmt.Errorf("the daemon refused the new config and runs on with the previous one: %s", msg)
			}
			_, err := fmt.Fprintln(d.IO.Out, "config reloaded")
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon (pid %d) did not answer the reload within %s; see journalctl -u queuesync", o.PID, o.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
	}
}
