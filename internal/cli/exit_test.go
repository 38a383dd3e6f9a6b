package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestExitCodes is the documented exit status of every kind of mistake an
// operator makes at the shell, run through the whole command tree. The
// database here is down (nothing listens on port 1): usage errors must be
// found before anything connects.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "s.secret", "0123456789abcdef\n", 0o600)
	cfg := writeFile(t, dir, "q.yaml", fmt.Sprintf(`node: sop1
ami: {address: 127.0.0.1:1, username: qs, secret_file: %s}
database: {url: "postgres://qs@127.0.0.1:1/cdrdb?connect_timeout=1"}
peers:
  - {name: sop2, url: http://127.0.0.1:1, secret_file: %s}
log_file: %s/sync.log
`, secret, secret, dir), 0o644)
	for _, tt := range []struct {
		env  map[string]string
		args string
		code int
		want string // in stderr
	}{
		{nil, "", ExitOK, ""},
		{nil, "nosuch", ExitUsage, `unknown command "nosuch"`},
		{nil, "resyncc", ExitUsage, "did you mean resync?"},
		{nil, "help nosuch", ExitUsage, `unknown command "nosuch"`},
		{nil, "completion nosuch", ExitUsage, `unknown shell "nosuch"`},
		{nil, "config nosuch", ExitUsage, `unknown command "nosuch"`},
		{nil, "--version", ExitOK, ""},
		{nil, "version extra", ExitUsage, "unknown command"},
		{nil, "version --listen :1", ExitUsage, "unknown flag: --listen"},
		{map[string]string{"QUEUESYNC_LOG_LEVEL": "loud"}, "version", ExitOK, ""},
		{map[string]string{"QUEUESYNC_LOG_LEVEL": "loud"}, "status --config " + cfg, ExitUsage, `QUEUESYNC_LOG_LEVEL "loud"`},
		{map[string]string{"QUEUESYNC_LOG_LEVEL": "loud"}, "log --log-level warn --config " + cfg, ExitOK, ""},
		{nil, "log --log-level loud --config " + cfg, ExitUsage, `--log-level "loud"`},
		{nil, "resync --peer nosuch --config " + cfg, ExitUsage, "--peer nosuch: no such peer in the config (peers: sop2)"},
		{nil, "status --peer nosuch --config " + cfg, ExitUsage, "--peer nosuch: no such peer"},
		{nil, "resync --config " + cfg, ExitFailure, "journal database"},
		{nil, "config check --config " + dir + "/missing.yaml", ExitUsage, "does not exist"},
		{nil, "status --config " + dir + "/missing.yaml", ExitUsage, "does not exist"},
	} {
		t.Run(tt.args, func(t *testing.T) {
			env := map[string]string{"QUEUESYNC_CONFIG": dir + "/none.yaml"}
			for k, v := range tt.env {
				env[k] = v
			}
			d, _, errOut := testDeps(env)
			writeFile(t, dir, "sync.log", "", 0o644)
			if code := runCmd(context.Background(), d, strings.Fields(tt.args)...); code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
		})
	}
}

// TestLogLevelFlagBeatsEnvironment: a flag overrides a variable.
func TestLogLevelFlagBeatsEnvironment(t *testing.T) {
	d, _, _ := testDeps(map[string]string{"QUEUESYNC_LOG_LEVEL": "debug", "QUEUESYNC_LOG_FORMAT": "json"})
	d.global.LogLevel = "error"
	if err := d.setupLog(); err != nil {
		t.Fatal(err)
	}
	if d.Log.Enabled(context.Background(), -4) || d.Log.Enabled(context.Background(), 4) {
		t.Error("--log-level error did not win over QUEUESYNC_LOG_LEVEL=debug")
	}
	d.global.LogLevel = ""
	if err := d.setupLog(); err != nil {
		t.Fatal(err)
	}
	if !d.Log.Enabled(context.Background(), -4) {
		t.Error("QUEUESYNC_LOG_LEVEL=debug was not applied without the flag")
	}
}
