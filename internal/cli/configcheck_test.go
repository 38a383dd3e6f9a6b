package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/config"
)

// checkDir holds secret files for config check tests.
func checkDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "ami.secret", "queuesync\n", 0o600)
	writeFile(t, dir, "peer-sop2.secret", "s3cret-0123456789abcdef\n", 0o600)
	writeFile(t, dir, "world.secret", "s3cret-0123456789abcdef\n", 0o644)
	return dir
}

func validConfig(dir string) string {
	return `node: sop1
ami:
  address: 127.0.0.1:5038
  username: queuesync
  secret_file: ` + dir + `/ami.secret
database:
  url: postgres://queuesync:hunter2@127.0.0.1:5432/cdrdb
listen: 0.0.0.0:8038
peers:
  - name: sop2
    url: http://10.0.0.2:8038
    secret_file: ` + dir + `/peer-sop2.secret
    queues: [support, sales]
log_file: ` + dir + `/queue_sync.log
`
}

func TestConfigCheck(t *testing.T) {
	dir := checkDir(t)
	tests := []struct {
		name     string
		config   string // "" : no file
		env      map[string]string
		args     []string
		wantCode int
		wantOut  []string // lines, in order, of stdout
		wantErr  string   // in stderr
	}{
		{
			name:     "valid",
			config:   validConfig(dir),
			wantCode: ExitOK,
			wantOut: []string{
				"config OK: {config}",
				"  node      sop1",
				"  ami       queuesync@127.0.0.1:5038",
				"  database  postgres://queuesync:xxxxx@127.0.0.1:5432/cdrdb",
				"  listen    0.0.0.0:8038 (http)",
				"  peers     sop2 http://10.0.0.2:8038 (queues: support,sales)",
				"  log_file  {dir}/queue_sync.log",
				"warning: peers[0].url: http://10.0.0.2:8038 is plain http to another host: requests and answers are signed but readable on the network; serve the peer API over https (tls: in its config)",
				"warning: database.url: holds a password; put it in database.password_file (chmod 600) instead",
			},
		},
		{
			name: "every-problem-one-per-line",
			config: strings.NewReplacer(
				"node: sop1", "node: sop 1",
				"username: queuesync", `username: ""`,
				dir+"/ami.secret", dir+"/missing.secret",
				dir+"/peer-sop2.secret", dir+"/world.secret",
				"http://10.0.0.2:8038", "10.0.0.2:8038",
			).Replace(validConfig(dir)),
			wantCode: ExitUsage,
			wantOut: []string{
				`node: "sop 1" is not a valid node name; use only letters, digits, '_', '.' and '-'`,
				`ami.username: is required; set it to the manager.conf user (read=agent, write=agent)`,
				`ami.secret_file: "{dir}/missing.secret" does not exist; create it holding the AMI user's secret and chmod 600 it, or fix the path`,
				`peers[0].url: "10.0.0.2:8038" is not an http(s) URL; write it as http://10.0.0.2:8038`,
				`peers[0].secret_file: "{dir}/world.secret" can be read or changed by every user (mode 0644); run chmod 600 {dir}/world.secret`,
			},
			wantErr: "queuesync: config {config} is not valid: 5 problems",
		},
		{
			name:     "environment-and-flags",
			config:   validConfig(dir),
			env:      map[string]string{"QUEUESYNC_HEALTH_INTERVAL": "often"},
			args:     []string{"--ami-address", "localhost"},
			wantCode: ExitUsage,
			wantOut: []string{
				`QUEUESYNC_HEALTH_INTERVAL: "often" is not a positive duration; write it like 2s, 1m or 720h`,
				`ami.address: "localhost" is not a host:port address; write it as HOST:PORT, e.g. 127.0.0.1:5038`,
			},
			wantErr: "is not valid: 2 problems",
		},
		{
			name:     "unknown-fields",
			config:   "nodee: sop1\nami:\n  adress: x\n",
			wantCode: ExitUsage,
			wantOut: []string{
				`{config}: line 1: unknown field "nodee" at the top level (check its spelling and indentation)`,
				`{config}: line 3: unknown field "adress" in ami (check its spelling and indentation)`,
			},
			wantErr: "is not valid: 2 problems",
		},
		{
			name:     "missing-file",
			wantCode: ExitUsage,
			wantOut:  []string{`{config}: the config file does not exist (named by --config or QUEUESYNC_CONFIG); check the path`},
			wantErr:  "queuesync: config {config} does not exist (1 problem)",
		},
		{
			name:     "missing-log-directory",
			config:   strings.Replace(validConfig(dir), dir+"/queue_sync.log", "/nonexistent/dir/queue_sync.log", 1),
			wantCode: ExitUsage,
			wantOut:  []string{`log_file: "/nonexistent/dir/queue_sync.log": directory /nonexistent/dir does not exist; create it, or the daemon and resync cannot start`},
			wantErr:  "is not valid: 1 problem",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "queuesync.yaml")
			if tt.config != "" {
				writeFile(t, filepath.Dir(path), "queuesync.yaml", tt.config, 0o644)
			}
			expand := strings.NewReplacer("{config}", path, "{dir}", dir).Replace
			d, out, errOut := testDeps(tt.env)
			args := append([]string{"config", "check", "--config", path}, tt.args...)
			if code := runCmd(context.Background(), d, args...); code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			want := expand(strings.Join(tt.wantOut, "\n") + "\n")
			if out.String() != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			if !strings.Contains(errOut.String(), expand(tt.wantErr)) {
				t.Errorf("stderr %q lacks %q", errOut, expand(tt.wantErr))
			}
			if strings.Contains(out.String()+errOut.String(), "hunter2") {
				t.Error("the database password was printed")
			}
		})
	}
}

// TestConfigCheckDefaultPath: with no --config and no file at the default
// path, check validates the defaults plus environment, like every command.
func TestConfigCheckDefaultPath(t *testing.T) {
	if _, err := os.Stat(config.DefaultPath); err == nil {
		t.Skip(config.DefaultPath + " exists on this machine")
	}
	d, out, _ := testDeps(nil)
	if code := runCmd(context.Background(), d, "config", "check"); code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(out.String(), "ami.username: is required") {
		t.Errorf("stdout: %s", out)
	}
}

func TestConfigUnknownSubcommand(t *testing.T) {
	d, _, errOut := testDeps(nil)
	if code := runCmd(context.Background(), d, "config", "chek"); code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errOut.String(), `unknown command "chek"`) {
		t.Errorf("stderr: %s", errOut)
	}
}

// TestExampleConfig: the packaged example config uses only real fields and
// validates once its secret files exist.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("../../packaging/queuesync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("packaging/queuesync.yaml: %v", err)
	}
	dir := checkDir(t)
	cfg.AMI.SecretFile = filepath.Join(dir, "ami.secret")
	cfg.Database.PasswordFile = ""
	for i := range cfg.Peers {
		cfg.Peers[i].SecretFile = filepath.Join(dir, "peer-sop2.secret")
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("packaging/queuesync.yaml, with its secret files present:\n%v", err)
	}
}
