package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestReloadWaitsForTheOutcome: reload signals the daemon and reports what
// the daemon recorded: exit 0 when it took the config, 1 with the reason
// when it refused it, 1 when it does not answer.
func TestReloadWaitsForTheOutcome(t *testing.T) {
	for _, tt := range []struct {
		name, result, msg string
		answer            bool
		code              int
		want              string
	}{
		{"ok", "ok", "reloaded", true, ExitOK, "config reloaded"},
		{"refused", "refused", "reload: node, listen and ami settings change only with a restart", true, ExitFailure, "refused the new config and runs on with the previous one: reload: node"},
		{"no answer", "", "", false, ExitFailure, "did not answer the reload within"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"RUNTIME_DIRECTORY": dir, "MAINPID": "4242"}
			rl := newReloadOutcome(func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
			rl.write("ok", "started")
			d, out, errOut := testDeps(env)
			var signalled int
			o := &reloadOptions{PID: 4242, Timeout: 300 * time.Millisecond, poll: time.Millisecond, signal: func(pid int) error {
				signalled = pid
				if tt.answer {
					rl.write(tt.result, tt.msg)
				}
				return nil
			}}
			err := runReload(context.Background(), d, o)
			if signalled != 4242 {
				t.Errorf("signalled pid %d", signalled)
			}
			if got := exitCode(err); got != tt.code {
				t.Errorf("exit %d, want %d (%v)", got, tt.code, err)
			}
			text := out.String() + errOut.String()
			if err != nil {
				text += err.Error()
			}
			if !strings.Contains(text, tt.want) {
				t.Errorf("output %q lacks %q", text, tt.want)
			}
		})
	}
}

// TestReloadWithoutDaemon: no record means no daemon under systemd.
func TestReloadWithoutDaemon(t *testing.T) {
	d, _, errOut := testDeps(map[string]string{"RUNTIME_DIRECTORY": t.TempDir(), "MAINPID": "1"})
	if code := runCmd(context.Background(), d, "reload"); code != ExitFailure || !strings.Contains(errOut.String(), "is 'queuesync daemon' running under systemd") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	d, _, errOut = testDeps(nil)
	if code := runCmd(context.Background(), d, "reload"); code != ExitUsage {
		t.Errorf("no pid: exit %d: %s", code, errOut)
	}
}
