package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDesignExample(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "design.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Node:          "sop1",
		AMI:           AMI{Address: "127.0.0.1:5038", Username: "queuesync", SecretFile: "/etc/queuesync/ami.secret"},
		Database:      Database{URL: "postgres://queuesync@127.0.0.1:5432/cdrdb", PasswordFile: "/etc/queuesync/db.password"},
		Listen:        "0.0.0.0:8038",
		MetricsListen: "127.0.0.1:9038",
		TLS:           TLS{CertFile: "...", KeyFile: "...", ClientCAFile: "..."},
		Peers: []Peer{{Name: "sop2", URL: "http://10.0.0.2:8038",
			SecretFile: "/etc/queuesync/peer-sop2.secret", Queues: AllQueues}},
		LogFile:          "/var/log/queue_sync.log",
		HealthInterval:   2 * time.Second,
		MaxClockSkew:     time.Minute,
		TombstoneTTL:     720 * time.Hour,
		ShutdownTimeout:  10 * time.Second, // default: not in the example
		HistoryRetention: 90 * 24 * time.Hour,
		HistoryMaxRows:   1000000,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load(design.yaml):\n got %+v\nwant %+v", c, want)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want defaults", in, c)
		}
	}
	d := Default()
	host, _ := os.Hostname()
	if d.Node != host || d.AMI.Address != "127.0.0.1:5038" || d.Listen != "0.0.0.0:8038" ||
		d.LogFile != "/var/log/queue_sync.log" || d.HealthInterval != 2*time.Second ||
		d.MaxClockSkew != 60*time.Second || d.TombstoneTTL != 720*time.Hour || d.ShutdownTimeout != 10*time.Second {
		t.Errorf("Default() = %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown top-level", "node: a\nnod: b\n", []string{`line 2: unknown field "nod" at the top level`}},
		{"unknown in ami", "ami:\n  secrt_file: /x\n", []string{`line 2: unknown field "secrt_file" in ami`}},
		{"unknown in peer", "peers:\n  - name: b\n    queue: all\n", []string{`line 3: unknown field "queue" in a peers entry`}},
		{"two unknown", "foo: 1\ntls:\n  ca: x\n", []string{`unknown field "foo"`, `unknown field "ca" in tls`}},
		{"integer duration", "node: a\nmax_clock_skew: 60\n", []string{"line 2: max_clock_skew: `60` is not a duration; write it with a unit, like 60s, 1m or 720h"}},
		{"bad duration", "health_interval: 2x\n", []string{"line 1: health_interval: `2x` is not a duration"}},
		{"every problem", "node: [a]\nhealth_interval: 2\npeers:\n  - name: b\n    queues: x\n    url: [1]\n", []string{
			"line 1: node: a list is not what belongs here: want a single value",
			"line 2: health_interval: `2` is not",
			"line 5: peers[0].queues: \"x\" is neither",
			"line 6: peers[0].url: a list is not what belongs here"}},
		{"top-level list", "- a\n- b\n", []string{"line 1: a list is not what belongs here: want fields like node:, ami: and peers: (a mapping)"}},
		{"queues scalar", "peers:\n  - name: b\n    queues: support\n", []string{"line 3", `"support" is neither`, "queues: [support]"}},
		{"queues map", "peers:\n  - name: b\n    queues: {a: b}\n", []string{"line 3", "neither `all` nor a list"}},
		{"not yaml", "node: [\n", []string{"parse config"}},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in))
		if err == nil {
			t.Errorf("%s: Parse succeeded", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

func TestQueues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		yaml string
		want Queues
	}{
		{"queues: all", AllQueues},
		{"queues: ALL", AllQueues},
		{"queues:", AllQueues},
		{"", AllQueues},
		{"queues: [support, Sales]", Queues{Names: []string{"support", "Sales"}}},
		{"queues:\n      - support", Queues{Names: []string{"support"}}},
		{"queues: []", Queues{Names: []string{}}},
	}
	for _, tt := range tests {
		c, err := Parse(strings.NewReader("peers:\n  - name: b\n    " + tt.yaml + "\n"))
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if got := c.Peers[0].Queues; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: Queues = %#v, want %#v", tt.yaml, got, tt.want)
		}
	}

	list := Peer{Queues: Queues{Names: []string{"support", "Sales"}}}
	for q, want := range map[string]bool{"support": true, "SUPPORT": true, "sales": true, "billing": false, "": false} {
		if got := list.Shares(q); got != want {
			t.Errorf("list.Shares(%q) = %v, want %v", q, got, want)
		}
	}
	if all := (Peer{Queues: AllQueues}); !all.Shares("anything") {
		t.Error("all.Shares = false")
	}
	if (Peer{}).Shares("support") {
		t.Error("zero Queues shares a queue")
	}
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"QUEUESYNC_NODE":                   "sop9",
		"QUEUESYNC_AMI_ADDRESS":            "10.1.1.1:5039",
		"QUEUESYNC_AMI_USERNAME":           "qs",
		"QUEUESYNC_AMI_SECRET_FILE":        "/run/ami",
		"QUEUESYNC_DATABASE_URL":           "postgres://x@db/cdrdb",
		"QUEUESYNC_DATABASE_PASSWORD_FILE": "/run/db",
		"QUEUESYNC_LISTEN":                 "127.0.0.1:9000",
		"QUEUESYNC_METRICS_LISTEN":         "127.0.0.1:9001",
		"QUEUESYNC_LOG_FILE":               "/tmp/qs.log",
		"QUEUESYNC_HEALTH_INTERVAL":        "500ms",
		"QUEUESYNC_MAX_CLOCK_SKEW":         "5s",
		"QUEUESYNC_TOMBSTONE_TTL":          "48h",
		"QUEUESYNC_SHUTDOWN_TIMEOUT":       "3s",
		"QUEUESYNC_TLS_CERT_FILE":          "/c",
		"QUEUESYNC_TLS_KEY_FILE":           "/k",
		"QUEUESYNC_TLS_CLIENT_CA_FILE":     "/ca",
		"QUEUESYNC_HISTORY_RETENTION":      "24h",
		"QUEUESYNC_WEB_LISTEN":             "127.0.0.1:9002",
		"QUEUESYNC_WEB_PASSWORD_FILE":      "/run/web",
		"QUEUESYNC_AMI_USER_EVENTS":        "true",
	}
	c := Default()
	c.Peers = []Peer{{Name: "sop2"}}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Node:     "sop9",
		AMI:      AMI{Address: "10.1.1.1:5039", Username: "qs", SecretFile: "/run/ami", UserEvents: true},
		Database: Database{URL: "postgres://x@db/cdrdb", PasswordFile: "/run/db"},
		Listen:   "127.0.0.1:9000", MetricsListen: "127.0.0.1:9001",
		TLS:     TLS{CertFile: "/c", KeyFile: "/k", ClientCAFile: "/ca"},
		Peers:   []Peer{{Name: "sop2"}},
		LogFile: "/tmp/qs.log", HealthInterval: 500 * time.Millisecond, MaxClockSkew: 5 * time.Second,
		TombstoneTTL: 48 * time.Hour, ShutdownTimeout: 3 * time.Second,
		HistoryRetention: 24 * time.Hour, HistoryMaxRows: 1000000, WebListen: "127.0.0.1:9002",
		WebPasswordFile: "/run/web",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("ApplyEnv:\n got %+v\nwant %+v", c, want)
	}
	if n := len(EnvVars()); n != len(env) {
		t.Errorf("EnvVars lists %d variables, the test sets %d", n, len(env))
	}

	// Unset and empty variables change nothing.
	d := Default()
	if err := d.ApplyEnv(func(string) string { return "" }); err != nil || !reflect.DeepEqual(d, Default()) {
		t.Errorf("empty env changed the config: %+v, %v", d, err)
	}
}

func TestApplyEnvBadDurations(t *testing.T) {
	t.Parallel()
	env := map[string]string{"QUEUESYNC_HEALTH_INTERVAL": "2", "QUEUESYNC_TOMBSTONE_TTL": "-1h", "QUEUESYNC_NODE": "ok"}
	c := Default()
	err := c.ApplyEnv(func(k string) string { return env[k] })
	want := []string{
		`QUEUESYNC_HEALTH_INTERVAL: "2" is not a positive duration; write it like 2s, 1m or 720h`,
		`QUEUESYNC_TOMBSTONE_TTL: "-1h" is not a positive duration; write it like 2s, 1m or 720h`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("ApplyEnv error = %v\nwant %s", err, strings.Join(want, "\n"))
	}
	var ve *ConfigValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrBadDuration) {
		t.Errorf("error is not a *ConfigValidationError wrapping ErrBadDuration")
	}
	if c.Node != "ok" || c.HealthInterval != 2*time.Second {
		t.Errorf("good values not applied or bad ones applied: %+v", c)
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(p)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load(missing) = %v; want fs.ErrNotExist naming the file", err)
	}
}

func TestDatabaseSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{`host=h password=ab\ cd`, []string{`ab\ cd`, "ab cd"}},
		{`password='a b'`, []string{`'a b'`, "a b"}},
		{"postgres://u:p%40ss@h/db?password=q", []string{"p@ss", "q", "p%40ss", "p@ss"}},
	}
	for _, tt := range tests {
		got := DatabaseSecrets(tt.in)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("DatabaseSecrets(%q) = %q, lacks %q", tt.in, got, w)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:p%40ss@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgresql://u@h/db?sslmode=disable&password=zz", "postgresql://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db?password=zz", "postgres://u@h/db?password=xxxxx"},
		{"host=h password=zz user=u", "host=h password=xxxxx user=u"},
		{"host=h password='z z' user=u", "host=h password=xxxxx user=u"},
		{"postgres://u:zz@h:bad/db", "postgres://u:xxxxx@h:bad/db"},
		{"postgres://u:zz@h:bad/db?sslpassword=k&x=1", "postgres://u:xxxxx@h:bad/db?sslpassword=xxxxx&x=1"},
		{`host=h password=ab\ cd user=u`, "host=h password=xxxxx user=u"},
		{`host=h password = 'it\'s secret' sslpassword=k dbname=d`, "host=h password = xxxxx sslpassword=xxxxx dbname=d"},
		{"host=h PASSWORD=zz", "host=h PASSWORD=xxxxx"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
