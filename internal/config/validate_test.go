package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validConfig returns a configuration that passes Validate, its files in dir.
func validConfig(t *testing.T, dir string) Config {
	t.Helper()
	c := Default()
	c.Node = "sop1"
	c.AMI.Username = "queuesync"
	c.AMI.SecretFile = writeFile(t, dir, "ami.secret", "amisecret\n", 0o600)
	c.Database = Database{URL: "postgres://queuesync@127.0.0.1:5432/cdrdb", PasswordFile: writeFile(t, dir, "db.password", "pw\n", 0o640)}
	c.MetricsListen = "127.0.0.1:9038"
	c.TLS = TLS{
		CertFile:     writeFile(t, dir, "cert.pem", "-----BEGIN CERTIFICATE-----\n", 0o644),
		KeyFile:      writeFile(t, dir, "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0o600),
		ClientCAFile: writeFile(t, dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0o644),
	}
	c.Peers = []Peer{
		{Name: "sop2", URL: "http://10.0.0.2:8038", SecretFile: writeFile(t, dir, "sop2.secret", "0123456789abcdef-x", 0o600), Queues: AllQueues},
		{Name: "sop3", URL: "https://sop3.example:8038/", SecretFile: writeFile(t, dir, "sop3.secret", "0123456789abcdef-y", 0o400),
			Queues: Queues{Names: []string{"support", "sales"}}},
	}
	return c
}

// problems returns the messages of a joined validation error, checking
// that each is a *ConfigValidationError.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate returned %T, want a joined error", err)
	}
	var out []string
	for _, e := range j.Unwrap() {
		var ve *ConfigValidationError
		if !errors.As(e, &ve) {
			t.Fatalf("problem %T %q is not a *ConfigValidationError", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestValidateOK(t *testing.T) {
	t.Parallel()
	c := validConfig(t, t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.TLS, c.Database, c.MetricsListen = TLS{}, Database{}, "" // all optional
	c.Listen = "127.0.0.1:0"
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate without optional parts: %v", err)
	}
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.secret")
	empty := writeFile(t, dir, "empty.secret", "\n", 0o600)
	open := writeFile(t, dir, "open.secret", "s3cret", 0o644)
	short := writeFile(t, dir, "short.secret", "k\n", 0o600)
	ca := writeFile(t, dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0o644)
	tests := []struct {
		name   string
		mutate func(c *Config)
		is     error
		want   string
	}{
		{"node empty", func(c *Config) { c.Node = "" }, ErrRequired,
			`node: is required; set node: to this node's name, e.g. sop1`},
		{"node bad", func(c *Config) { c.Node = "sop 1" }, ErrBadName,
			`node: "sop 1" is not a valid node name; use only letters, digits, '_', '.' and '-'`},
		{"ami address", func(c *Config) { c.AMI.Address = "localhost" }, ErrBadAddress,
			`ami.address: "localhost" is not a host:port address; write it as HOST:PORT, e.g. 127.0.0.1:5038`},
		{"ami port zero", func(c *Config) { c.AMI.Address = "127.0.0.1:0" }, ErrBadAddress,
			`ami.address: "127.0.0.1:0" is not a host:port address; write it as HOST:PORT, e.g. 127.0.0.1:5038`},
		{"ami username", func(c *Config) { c.AMI.Username = "" }, ErrRequired,
			`ami.username: is required; set it to the manager.conf user (read=agent, write=agent)`},
		{"ami secret unset", func(c *Config) { c.AMI.SecretFile = "" }, ErrRequired,
			`ami.secret_file: is required; give the path of a file holding the AMI user's secret (chmod 600)`},
		{"ami secret missing", func(c *Config) { c.AMI.SecretFile = missing }, ErrFileMissing,
			fmt.Sprintf(`ami.secret_file: %q does not exist; create it holding the AMI user's secret and chmod 600 it, or fix the path`, missing)},
		{"ami secret empty", func(c *Config) { c.AMI.SecretFile = empty }, ErrFileEmpty,
			fmt.Sprintf(`ami.secret_file: %q is empty; write the AMI user's secret into it`, empty)},
		{"ami secret world-readable", func(c *Config) { c.AMI.SecretFile = open }, ErrFileInsecure,
			fmt.Sprintf(`ami.secret_file: %q can be read or changed by every user (mode 0644); run chmod 600 %s`, open, open)},
		{"ami secret directory", func(c *Config) { c.AMI.SecretFile = dir }, ErrFileUnreadable,
			fmt.Sprintf(`ami.secret_file: %q cannot be read; it is a directory; give the path of the file holding the AMI user's secret`, dir)},
		{"database url", func(c *Config) { c.Database.URL = "mysql://u:hunter2@h/db" }, ErrBadDatabaseURL,
			`database.url: "mysql://u:xxxxx@h/db" is not a PostgreSQL URL; write it as postgres://USER@HOST:5432/DBNAME or host=HOST dbname=DBNAME`},
		{"database password file", func(c *Config) { c.Database.PasswordFile = missing }, ErrFileMissing,
			fmt.Sprintf(`database.password_file: %q does not exist; create it holding the database password and chmod 600 it, or fix the path`, missing)},
		{"listen", func(c *Config) { c.Listen = "8038" }, ErrBadAddress,
			`listen: "8038" is not a host:port address; write it as HOST:PORT, e.g. 0.0.0.0:8038`},
		{"metrics on listen", func(c *Config) { c.MetricsListen = c.Listen }, ErrDuplicate,
			`metrics_listen: "0.0.0.0:8038" is used twice; listen serves the peer API there; pick another port`},
		{"profiler without metrics", func(c *Config) { c.MetricsListen, c.MetricsPprof = "", true }, ErrRequired,
			`metrics_listen: is required; metrics_pprof serves the profiler there: set it, e.g. 127.0.0.1:9838, or remove metrics_pprof`},
		{"tls cert without key", func(c *Config) { c.TLS.KeyFile = "" }, ErrRequired,
			`tls.key_file: is required; tls.cert_file is set: give its private key too, or remove tls.cert_file`},
		{"tls key without cert", func(c *Config) { c.TLS.CertFile = "" }, ErrRequired,
			`tls.cert_file: is required; tls.key_file is set: give its certificate too, or remove tls.key_file`},
		{"tls key world-readable", func(c *Config) { c.TLS.KeyFile = open }, ErrFileInsecure,
			fmt.Sprintf(`tls.key_file: %q can be read or changed by every user (mode 0644); run chmod 600 %s`, open, open)},
		{"tls ca missing", func(c *Config) { c.TLS.ClientCAFile = missing }, ErrFileMissing,
			fmt.Sprintf(`tls.client_ca_file: %q does not exist; create it holding the PEM data, or fix the path`, missing)},
		{"peer name", func(c *Config) { c.Peers[0].Name = "sop/2" }, ErrBadName,
			`peers[0].name: "sop/2" is not a valid node name; use only letters, digits, '_', '.' and '-'`},
		{"peer name empty", func(c *Config) { c.Peers[1].Name = "" }, ErrRequired,
			`peers[1].name: is required; set it to the peer's node name`},
		{"peer duplicate", func(c *Config) { c.Peers[1].Name = "SOP2" }, ErrDuplicate,
			`peers[1].name: "SOP2" is used twice; peers[0] has the same name; list each peer once`},
		{"peer is node", func(c *Config) { c.Peers[0].Name = "sop1" }, ErrSelfPeer,
			`peers[0].name: "sop1" is this node's own name; a node does not sync with itself; remove this entry or fix node:`},
		{"peer url no scheme", func(c *Config) { c.Peers[0].URL = "10.0.0.2:8038" }, ErrNotHTTPURL,
			`peers[0].url: "10.0.0.2:8038" is not an http(s) URL; write it as http://10.0.0.2:8038`},
		{"peer url hostname no scheme", func(c *Config) { c.Peers[0].URL = "sop2:8038" }, ErrNotHTTPURL,
			`peers[0].url: "sop2:8038" is not an http(s) URL; write it as http://sop2:8038`},
		{"peer url ftp", func(c *Config) { c.Peers[0].URL = "ftp://10.0.0.2" }, ErrNotHTTPURL,
			`peers[0].url: "ftp://10.0.0.2" is not an http(s) URL; write it as http://HOST:PORT or https://HOST:PORT`},
		{"peer url empty", func(c *Config) { c.Peers[0].URL = "" }, ErrRequired,
			`peers[0].url: is required; write the peer API's URL, e.g. http://10.0.0.2:8038`},
		{"peer url with credentials", func(c *Config) { c.Peers[0].URL = "http://admin:hunter2@10.0.0.2:8038" }, ErrURLCredentials,
			`peers[0].url: "http://10.0.0.2:8038" carries credentials; remove the user:password@ part; peers authenticate with the secret in secret_file`},
		{"peer url with unparsable credentials", func(c *Config) { c.Peers[0].URL = "http://admin:hunter2@10.0.0.2:bad" }, ErrURLCredentials,
			`peers[0].url: "http://…" carries credentials; remove the user:password@ part; peers authenticate with the secret in secret_file`},
		{"peer secret too short", func(c *Config) { c.Peers[0].SecretFile = short }, ErrSecretTooShort,
			fmt.Sprintf(`peers[0].secret_file: %q holds a secret too short; it holds 1 bytes, want at least 16: write a random one, e.g. openssl rand -hex 32 > %s, on both nodes`, short, short)},
		{"tls client ca without a server certificate", func(c *Config) { c.TLS = TLS{ClientCAFile: ca} }, ErrNoServerCert,
			fmt.Sprintf(`tls.client_ca_file: %q needs a server certificate; peers' certificates are checked only over TLS, but the peer API serves plain HTTP: set tls.cert_file and tls.key_file, or remove tls.client_ca_file`, ca)},
		{"peer secret", func(c *Config) { c.Peers[1].SecretFile = "" }, ErrRequired,
			`peers[1].secret_file: is required; give the path of a file holding the secret shared with sop3 (chmod 600)`},
		{"peer queues empty", func(c *Config) { c.Peers[1].Queues = Queues{Names: []string{}} }, ErrBadQueues,
			`peers[1].queues: is not a valid queue list; write queues: all, or list the shared queues, e.g. [support, sales]`},
		{"peer queue name", func(c *Config) { c.Peers[1].Queues = Queues{Names: []string{"a", "b\r\nAction: Logoff"}} }, ErrBadQueues,
			`peers[1].queues[1]: "b\r\nAction: Logoff" is not a valid queue list; write the queue's name as in queues.conf`},
		{"log file", func(c *Config) { c.LogFile = "" }, ErrRequired,
			`log_file: is required; set it to the sync log's path, e.g. /var/log/queue_sync.log`},
		{"health interval", func(c *Config) { c.HealthInterval = 0 }, ErrBadDuration,
			`health_interval: "0s" is not a positive duration; write it like 2s, 1m or 720h`},
		{"clock skew", func(c *Config) { c.MaxClockSkew = -time.Second }, ErrBadDuration,
			`max_clock_skew: "-1s" is not a positive duration; write it like 2s, 1m or 720h`},
		{"tombstone ttl", func(c *Config) { c.TombstoneTTL = 0 }, ErrBadDuration,
			`tombstone_ttl: "0s" is not a positive duration; write it like 2s, 1m or 720h`},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, ErrBadDuration,
			`shutdown_timeout: "0s" is not a positive duration; write it like 2s, 1m or 720h`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig(t, t.TempDir())
			tt.mutate(&c)
			err := c.Validate()
			got := problems(t, err)
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Validate problems:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v", tt.is)
			}
			if strings.Contains(err.Error(), "amisecret") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	t.Parallel()
	c := validConfig(t, t.TempDir())
	c.Node = ""
	c.Peers[0].URL = "nope"
	c.HealthInterval = 0
	c.AMI.Username = ""
	got := problems(t, c.Validate())
	if len(got) != 4 {
		t.Fatalf("Validate reported %d problems, want 4:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, f := range []string{"node:", "ami.username:", "peers[0].url:", "health_interval:"} {
		if !strings.HasPrefix(got[i], f) {
			t.Errorf("problem %d = %q, want it about %s", i, got[i], f)
		}
	}
}

func TestValidateUnreadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	c := validConfig(t, t.TempDir())
	c.AMI.SecretFile = writeFile(t, t.TempDir(), "locked", "x", 0o000)
	got := problems(t, c.Validate())
	if len(got) != 1 || !strings.Contains(got[0], "cannot be read; make it readable by the user queuesync runs as") {
		t.Fatalf("Validate = %q", got)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := validConfig(t, dir)
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "peers[0].url: http://10.0.0.2:8038 is plain http to another host") {
		t.Errorf("Warnings = %q, want the plain-http peer only", w)
	}
	c.Peers[0].URL = "http://127.0.0.1:8038"
	c.Peers[1].SecretFile = c.Peers[0].SecretFile
	c.Database.URL = `host=h password=hunter2\ x`
	w := c.Warnings()
	want := []string{"peers[1].secret_file: " + c.Peers[0].SecretFile + " is also the secret file of sop2",
		"database.url: holds a password"}
	if len(w) != len(want) {
		t.Fatalf("Warnings = %q, want %d", w, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(w[i], want[i]) || strings.Contains(w[i], "hunter2") {
			t.Errorf("warning %d = %q, want it to start with %q and hold no password", i, w[i], want[i])
		}
	}
}
