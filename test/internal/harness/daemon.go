//go:build e2e || chaos || bench

package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ReconciledMsg is what a daemon logs after each full reconcile.
const ReconciledMsg = "reconciled live state"

// Wait says when Start returns.
type Wait int

const (
	WaitListen    Wait = iota // the peer API accepts connections (default)
	WaitReconcile             // the first full reconcile is logged (up to 5 minutes)
	NoWait                    // at once
)

// StartOptions vary one daemon start.
type StartOptions struct {
	Config Override      // the config written before the start
	Offset time.Duration // QUEUESYNC_CLOCK_OFFSET: the daemon's clock skew
	Wait   Wait
	Bin    string // another queuesync binary to run (default: the cluster's)
}

// Daemon is a running queuesync daemon.
type Daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error         // how it exited, once exited is closed
	Offset time.Duration // its clock offset
	Mark   int64         // the offset in the node's LogFile at which its lines start
}

// Pid returns the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Exited is closed once the daemon's process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Pause stops the daemon's process (SIGSTOP) until Resume: it holds its
// connections but answers nothing.
func (d *Daemon) Pause() error { return d.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused daemon (SIGCONT).
func (d *Daemon) Resume() error { return d.cmd.Process.Signal(syscall.SIGCONT) }

// Start starts n's daemon and returns when o.Wait says.
func (n *Node) Start(o StartOptions) (*Daemon, error) {
	if n.daemon != nil {
		return nil, fmt.Errorf("daemon %s already running", n.Name)
	}
	n.c.WriteConfig(n, o.Config)
	bin := n.c.Bin
	if o.Bin != "" {
		bin = o.Bin
	}
	cmd := exec.Command(bin, "daemon", "--config", n.Config, "--log-level", n.c.opts.LogLevel)
	cmd.Env = append(os.Environ(), "QUEUESYNC_CLOCK_OFFSET="+o.Offset.String())
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d := &Daemon{cmd: cmd, exited: make(chan struct{}), Offset: o.Offset, Mark: fileSize(n.LogFile)}
	fmt.Fprintf(logf, "=== harness: %s start daemon offset=%s\n", time.Now().Format("15:04:05.000"), o.Offset)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.err = cmd.Wait(); close(d.exited) }()
	n.daemon = d
	switch o.Wait {
	case WaitListen:
		err = n.waitListen(20 * time.Second)
	case WaitReconcile:
		err = n.WaitLog(d.Mark, ReconciledMsg, 5*time.Minute)
	}
	return d, err
}

func (n *Node) waitListen(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := n.checkRunning(); err != nil {
			return err
		}
		if conn, err := net.DialTimeout("tcp", n.Listen, 200*time.Millisecond); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("daemon %s did not listen on %s; see %s", n.Name, n.Listen, n.LogFile)
}

// checkRunning returns an error, and forgets the daemon, once it has exited.
func (n *Node) checkRunning() error {
	d := n.daemon
	if d == nil {
		return fmt.Errorf("daemon %s is not running", n.Name)
	}
	select {
	case <-d.exited:
		n.daemon = nil
		return fmt.Errorf("daemon %s exited: %v; see %s", n.Name, d.err, n.LogFile)
	default:
		return nil
	}
}

// Daemon returns n's running daemon, or nil.
func (n *Node) Daemon() *Daemon { return n.daemon }

// Running reports whether n's daemon was started and not stopped or killed
// since (it may have exited on its own).
func (n *Node) Running() bool { return n.daemon != nil }

// Stop stops n's daemon cleanly (SIGINT, then SIGKILL after 20 s) and
// waits for it. A paused daemon is resumed to take the signal.
func (n *Node) Stop() {
	n.halt(os.Interrupt)
}

// Kill kills n's daemon (SIGKILL) and waits for it.
func (n *Node) Kill() {
	n.halt(syscall.SIGKILL)
}

func (n *Node) halt(sig os.Signal) {
	d := n.daemon
	if d == nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	_ = d.Resume()
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	n.daemon = nil
}

// WaitLog waits until n's daemon log, past offset mark, holds needle; it
// fails early when the daemon exits.
func (n *Node) WaitLog(mark int64, needle string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := n.checkRunning(); err != nil {
			return err
		}
		if n.LogHas(mark, needle) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("daemon %s: no %q in its log within %s; see %s", n.Name, needle, timeout, n.LogFile)
}

// LogHas reports whether n's daemon log, past offset mark, holds needle.
func (n *Node) LogHas(mark int64, needle string) bool {
	f, err := os.Open(n.LogFile)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		return false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			return true
		}
	}
	return false
}

// LogCount counts needle in n's whole daemon log.
func (n *Node) LogCount(needle string) int {
	b, _ := os.ReadFile(n.LogFile)
	return bytes.Count(b, []byte(needle))
}

// LogSize returns the length of n's daemon log: a mark for LogHas.
func (n *Node) LogSize() int64 { return fileSize(n.LogFile) }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
