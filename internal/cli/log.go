package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// logOptions are the flags of log.
type logOptions struct {
	Follow bool
	Lines  int
	Since  time.Duration
	JSON   bool
	poll   time.Duration // how often -f looks for new lines; tests shorten it
}

func (o *logOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVarP(&o.Follow, "follow", "f", false, "keep printing lines as they are appended (survives logrotate)")
	f.IntVarP(&o.Lines, "lines", "n", 50, "print the last N lines; 0 prints every line (the default with --since)")
	f.Var(sinceValue{&o.Since}, "since", "only lines logged within this duration, like 30m, 1h, 7d or 2w (rotated copies of the log are read too)")
	f.BoolVar(&o.JSON, "json", false, "print one JSON object per line: time, node, message")
}

// defaultLogPoll is how often log -f checks the file.
const defaultLogPoll = 500 * time.Millisecond

func newLogCmd(d *Deps, runF func(context.Context, *logOptions) error) *cobra.Command {
	opts := logOptions{poll: defaultLogPoll}
	cmd := &cobra.Command{
		Use:   "log [flags]",
		Short: "Show the sync log: every change pushed, applied, stale or failed",
		Long: `Log prints the sync log (log_file, default /var/log/queue_sync.log): one line
per change this node pushed to a peer, applied from a peer, found stale or
failed to apply, and one line per resync summary. Each line starts with the
time in RFC 3339 (UTC) and the node's name.

This is the "View queue synchronization log" menu entry. With -f it keeps
printing new lines until interrupted, and follows the file across logrotate
(whether it renames the file or truncates it).

Log only needs log_file from the config: it runs even when other parts of
the config are not valid, and --log-file reads another file. It exits 1 when
the file cannot be read; log -f runs until interrupted (130).`,
		Example: `  # the last 50 lines
  queuesync log

  # everything from the last hour, then keep watching
  queuesync log --since 1h -f

  # the failures of the last week, from the rotated copies too
  queuesync log --since 7d | grep failed`,
		Args: noArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return d.setupForLog()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Lines < 0 {
				return &FlagError{Err: fmt.Errorf("--lines %d: want 0 (every line) or more", opts.Lines)}
			}
			if opts.Since < 0 {
				return &FlagError{Err: fmt.Errorf("--since %s: want a positive duration, like 1h", opts.Since)}
			}
			if opts.Since > 0 && !cmd.Flags().Changed("lines") {
				opts.Lines = 0
			}
			if runF != nil {
				return runF(cmd.Context(), &opts)
			}
			return runLog(cmd.Context(), d, &opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// setupForLog sets up logging and reads the config without validating it:
// log needs nothing but log_file.
func (d *Deps) setupForLog() error {
	if err := d.setupLog(); err != nil {
		return err
	}
	cfg, _, err := d.resolveConfig()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	d.Config = cfg
	return nil
}

func runLog(ctx context.Context, d *Deps, o *logOptions) error {
	path := d.Config.LogFile
	if path == "" || path == "-" {
		cfgPath, _ := d.configPath()
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("log_file is not set, so there is no sync log to show: set log_file in %s or pass --log-file", cfgPath)}
	}
	f, err := os.Open(path)
	if err != nil {
		return d.logFileError(path, err)
	}
	p := &linePrinter{w: d.IO.Out, json: o.JSON}
	fl := &follower{path: path, f: f, out: p, poll: o.poll}
	defer fl.close()
	var cutoff time.Time
	if o.Since > 0 {
		cutoff = d.Now().Add(-o.Since)
	}
	var src io.Reader = f
	if !cutoff.IsZero() {
		older, err := rotatedReaders(path, cutoff)
		if err != nil {
			return fmt.Errorf("read rotated sync log: %w", err)
		}
		defer closeAll(older)
		rs := make([]io.Reader, 0, len(older)+1)
		for _, r := range older {
			rs = append(rs, r)
		}
		src = io.MultiReader(append(rs, f)...)
	}
	lines, partial, err := tailLines(src, o.Lines, cutoff)
	if err != nil {
		return fmt.Errorf("read sync log %s: %w", path, err)
	}
	for _, l := range lines {
		if err := p.print(l); err != nil {
			return err
		}
	}
	if !o.Follow {
		if partial != "" {
			return p.print(partial)
		}
		return nil
	}
	fl.partial = []byte(partial)
	return fl.run(ctx)
}

// logFileError explains why the sync log cannot be opened.
func (d *Deps) logFileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	cfgPath, _ := d.configPath()
	switch {
	case errors.Is(err, fs.ErrNotExist) && d.global.LogFile != "":
		return fmt.Errorf("sync log %s (--log-file) does not exist: %w; check the path", path, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sync log %s (log_file) does not exist: %w; nothing was synced on this node yet, or log_file in %s points elsewhere (or pass --log-file)", path, err, cfgPath)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("read sync log %s (log_file): %w; run as root, as the queuesync user or as a member of the file's group (adm)", path, err)
	}
	return fmt.Errorf("read sync log %s (log_file): %w", path, err)
}

// tailLines reads r to the end and returns its last n complete lines (all
// when n is 0) logged at or after cutoff (when not zero), and the text after
// the last newline. A line without a leading timestamp goes with the line
// before it.
func tailLines(r io.Reader, n int, cutoff time.Time) (lines []string, partial string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	keep := cutoff.IsZero()
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return tail(lines, n), line, nil
		}
		if err != nil {
			return nil, "", err
		}
		line = strings.TrimSuffix(line, "\n")
		if t, ok := lineTime(line); ok {
			keep = cutoff.IsZero() || !t.Before(cutoff)
		}
		if !keep {
			continue
		}
		lines = append(lines, line)
		if n > 0 && len(lines) >= 2*n {
			lines = append([]string(nil), lines[len(lines)-n:]...)
		}
	}
}

// tail returns the last n of lines (all when n is 0).
func tail(lines []string, n int) []string {
	if n > 0 && len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// lineTime parses the RFC 3339 timestamp a sync log line starts with.
func lineTime(line string) (time.Time, bool) {
	ts, _, _ := strings.Cut(line, " ")
	t, err := time.Parse(time.RFC3339, ts)
	return t, err == nil
}
