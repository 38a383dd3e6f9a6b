package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// linePrinter writes sync log lines as they are, or as JSON objects.
type linePrinter struct {
	w    io.Writer
	json bool
}

// logLine is the --json form of a sync log line.
type logLine struct {
	Time    *time.Time        `json:"time,omitempty"`
	Node    string            `json:"node,omitempty"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"` // op, result, queue, interface, peer, actions, error, ...
}

func (p *linePrinter) print(line string) error {
	if !p.json {
		_, err := fmt.Fprintln(p.w, line)
		return err
	}
	l := logLine{Message: line}
	if t, ok := lineTime(line); ok {
		parts := strings.SplitN(line, " ", 3)
		l.Time, l.Message = &t, ""
		if len(parts) > 1 {
			l.Node = parts[1]
		}
		if len(parts) > 2 {
			l.Message = parts[2]
			l.Fields = logFields(parts[2])
		}
	}
	return printJSONLine(p.w, l)
}

// follower prints the lines appended to the sync log, like tail -F: it
// polls, reopens the file when logrotate renamed it and a new one appeared,
// and starts over when it was truncated (logrotate's copytruncate).
type follower struct {
	path    string
	f       *os.File
	partial []byte // the text after the last newline read
	out     *linePrinter
	poll    time.Duration
}

func (fl *follower) close() {
	if fl.f != nil {
		_ = fl.f.Close()
	}
}

// run prints new lines until ctx is cancelled, and returns ctx's error.
func (fl *follower) run(ctx context.Context) error {
	t := time.NewTicker(fl.poll)
	defer t.Stop()
	for {
		if err := fl.drain(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := fl.checkRotation(); err != nil {
			return err
		}
	}
}

// drain prints every complete line from the current position to the end.
func (fl *follower) drain() error {
	buf := make([]byte, 32<<10)
	for {
		n, err := fl.f.Read(buf)
		if n > 0 {
			fl.partial = append(fl.partial, buf[:n]...)
			if perr := fl.flushLines(); perr != nil {
				return perr
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read sync log %s: %w", fl.path, err)
		}
	}
}

func (fl *follower) flushLines() error {
	for {
		i := bytes.IndexByte(fl.partial, '\n')
		if i < 0 {
			return nil
		}
		line := string(fl.partial[:i])
		fl.partial = fl.partial[i+1:]
		if err := fl.out.print(line); err != nil {
			return err
		}
	}
}

// checkRotation reopens the path when it names another file than the one
// open, and rewinds when the open file shrank below the read position.
func (fl *follower) checkRotation() error {
	cur, err := fl.f.Stat()
	if err != nil {
		return fmt.Errorf("read sync log %s: %w", fl.path, err)
	}
	fi, err := os.Stat(fl.path)
	switch {
	case err != nil:
		return nil // renamed, not yet recreated: keep reading the old file
	case !os.SameFile(fi, cur):
		return fl.reopen()
	}
	pos, err := fl.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("read sync log %s: %w", fl.path, err)
	}
	if cur.Size() < pos {
		fl.partial = nil
		if _, err := fl.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("read sync log %s after truncation: %w", fl.path, err)
		}
	}
	return nil
}

// reopen finishes the rotated file, then switches to the new one. If the
// new one cannot be opened yet, it keeps the old one and tries again at
// the next poll.
func (fl *follower) reopen() error {
	if err := fl.drain(); err != nil {
		return err
	}
	nf, err := os.Open(fl.path)
	if err != nil {
		return nil
	}
	if len(fl.partial) > 0 {
		if err := fl.out.print(string(fl.partial)); err != nil {
			nf.Close()
			return err
		}
		fl.partial = nil
	}
	fl.f.Close()
	fl.f = nf
	return nil
}
