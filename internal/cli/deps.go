package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/node"
)

// IOStreams are the command's standard streams. Commands write only here.
type IOStreams struct {
	In      io.Reader
	Out     io.Writer
	ErrOut  io.Writer
	IsTTY   bool // Out is a terminal: print tables for people instead of TSV
	Borders bool // the terminal draws box borders (UTF-8, not TERM=dumb)
}

// StdIO returns the process's standard streams.
func StdIO() IOStreams {
	tty := term.IsTerminal(int(os.Stdout.Fd()))
	return IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, IsTTY: tty, Borders: tty && drawsBorders(os.Getenv)}
}

// Deps is what commands need from the outside world, injected so that tests
// can replace it. Config and Log are set once the config is resolved.
type Deps struct {
	IO     IOStreams
	Now    func() time.Time
	Getenv func(string) string
	Config config.Config
	Log    *slog.Logger
	// Node assembles the node's parts (journal, AMI, peers, engine); it is
	// called lazily, by the commands that need them, and tests replace it.
	Node func(ctx context.Context, o node.Options) (*node.Node, error)

	global globalOptions
}

func newDeps(io IOStreams) *Deps {
	d := &Deps{IO: io, Now: time.Now, Getenv: os.Getenv, Log: slog.New(slog.DiscardHandler)}
	d.Node = d.openNodeFromConfig
	return d
}
