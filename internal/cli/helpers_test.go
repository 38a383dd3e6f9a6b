package cli

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// update rewrites the golden files under testdata/ (go test ./internal/cli -update).
var update = flag.Bool("update", false, "rewrite the golden files")

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads (log -f).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./internal/cli -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test ./internal/cli -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}
