package cli

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/testkit"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// syncBuffer is a buffer a command writes while the test reads (log -f).
type syncBuffer = testkit.Buffer

// testDeps returns Deps writing to buffers, with a fixed clock and an empty
// environment (env may add variables).
func testDeps(env map[string]string) (*Deps, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	d := &Deps{
		IO:     IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Now:    fixedNow,
		Getenv: func(k string) string { return env[k] },
		Log:    slog.New(slog.DiscardHandler),
	}
	d.Node = d.openNodeFromConfig
	return d, out, errOut
}

// runCmd runs queuesync with args on d as Main does, without its signal
// handling, and returns the exit code.
func runCmd(ctx context.Context, d *Deps, args ...string) int {
	return run(ctx, d, args)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, name, []byte(got))
}

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	return testkit.WriteFile(t, dir, name, content, mode)
}
