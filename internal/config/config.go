package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where the config file lives unless --config or
// QUEUESYNC_CONFIG say otherwise.
const DefaultPath = "/etc/queuesync/queuesync.yaml"

// Config is the whole configuration of a node. The YAML names are a
// contract: fields may be added, never renamed.
type Config struct {
	// Node is this node's name (default: the host name).
	Node string `yaml:"node"`
	// AMI is the local Asterisk manager connection.
	AMI AMI `yaml:"ami"`
	// Database is the journal's PostgreSQL.
	Database Database `yaml:"database"`
	// Listen is the peer API's address (default 0.0.0.0:8038).
	Listen string `yaml:"listen"`
	// MetricsListen is the Prometheus metrics address; empty disables it.
	MetricsListen string `yaml:"metrics_listen,omitempty"`
	// MetricsPprof also serves Go's profiler on MetricsListen.
	MetricsPprof bool `yaml:"metrics_pprof,omitempty"`
	// TLS configures HTTPS for the peer API; empty serves plain HTTP.
	TLS TLS `yaml:"tls,omitempty"`
	// Peers are the nodes this node syncs with.
	Peers []Peer `yaml:"peers"`
	// LogFile is the sync log (default /var/log/queue_sync.log).
	LogFile string `yaml:"log_file"`
	// HealthInterval is how often each peer is checked (default 2s).
	HealthInterval time.Duration `yaml:"health_interval"`
	// MaxClockSkew is how far in the future a peer stamp may be (default 60s).
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
	// TombstoneTTL is how long removals are remembered (default 720h).
	TombstoneTTL time.Duration `yaml:"tombstone_ttl"`
	// ShutdownTimeout bounds the daemon's drain on stop (default 10s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// LocalPauseReasons are pause reasons that stay on this node (e.g.
	// Asterisk's automatic "Auto-Pause"): such a pause is neither
	// replicated nor undone. Empty by default: every pause is replicated.
	LocalPauseReasons []string `yaml:"local_pause_reasons,omitempty"`
	// HistoryRetention is how long the history of changes is kept
	// (default 2160h, 90 days).
	HistoryRetention time.Duration `yaml:"history_retention"`
	// HistoryMaxRows caps the history's rows, oldest collected first
	// (default 1000000; 0: no cap).
	HistoryMaxRows int `yaml:"history_max_rows"`
	// WebListen is the status page's address; empty disables it.
	WebListen string `yaml:"web_listen,omitempty"`
	// WebPasswordFile, when set, holds the password the status page asks
	// for (HTTP basic authentication, any user name).
	WebPasswordFile string `yaml:"web_password_file,omitempty"`
}

// AMI is the connection to the local Asterisk manager interface.
type AMI struct {
	// Address is host:port of the manager (default 127.0.0.1:5038).
	Address string `yaml:"address"`
	// Username is the manager.conf user (read=agent, write=agent).
	Username string `yaml:"username"`
	// SecretFile holds the user's secret.
	SecretFile string `yaml:"secret_file"`
	// UserEvents makes the daemon announce peer and agreement changes as
	// AMI UserEvents (the user then needs write = user too).
	UserEvents bool `yaml:"user_events,omitempty"`
}

// Database is the journal's PostgreSQL connection.
type Database struct {
	// URL is a postgres:// URL or key=value DSN; PG* environment variables
	// fill what it leaves out, so it may be empty.
	URL string `yaml:"url"`
	// PasswordFile, when set, holds the password; it overrides the URL's.
	PasswordFile string `yaml:"password_file,omitempty"`
}

// TLS is the peer API's TLS configuration.
type TLS struct {
	// CertFile is the server certificate (PEM).
	CertFile string `yaml:"cert_file,omitempty"`
	// KeyFile is the server certificate's private key (PEM).
	KeyFile string `yaml:"key_file,omitempty"`
	// ClientCAFile is the CA that signs peers' certificates (PEM).
	ClientCAFile string `yaml:"client_ca_file,omitempty"`
}

// Enabled reports whether the peer API is served over TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Peer is a node this node syncs with.
type Peer struct {
	// Name is the peer's node name.
	Name string `yaml:"name"`
	// URL is the peer API's base URL, http:// or https://.
	URL string `yaml:"url"`
	// SecretFile holds the HMAC secret shared with this peer.
	SecretFile string `yaml:"secret_file"`
	// Queues are the queues shared with this peer: `all` (the default when
	// omitted) or a list.
	Queues Queues `yaml:"queues"`
}

// Shares reports whether queue is synced with p, comparing names
// case-insensitively.
func (p Peer) Shares(queue string) bool { return p.Queues.Contains(queue) }

// Default returns the configuration used where the file and the
// environment are silent.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		Node:             host,
		AMI:              AMI{Address: "127.0.0.1:5038"},
		Listen:           "0.0.0.0:8038",
		LogFile:          "/var/log/queue_sync.log",
		HealthInterval:   2 * time.Second,
		MaxClockSkew:     60 * time.Second,
		TombstoneTTL:     720 * time.Hour,
		ShutdownTimeout:  10 * time.Second,
		HistoryRetention: 90 * 24 * time.Hour,
		HistoryMaxRows:   1000000,
	}
}

// Peer returns the peer called name.
func (c Config) Peer(name string) (Peer, bool) {
	for _, p := range c.Peers {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

// Parse reads a YAML config over the defaults. It is strict: an unknown
// field is an error naming it and its line. An empty document yields the
// defaults; an omitted peers[].queues means all. Parse does not validate;
// call Validate.
func Parse(r io.Reader) (Config, error) {
	c, err := parse(r)
	if err != nil {
		return c, fmt.Errorf("parse config: %w", err)
	}
	return c, nil
}

// Load reads and parses the config file at path. A missing file is an
// error wrapping fs.ErrNotExist.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once
		}
		return Default(), fmt.Errorf("read config %s: %w", path, err)
	}
	defer f.Close()
	c, err := parse(f)
	if err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	return c, nil
}

func parse(r io.Reader) (Config, error) {
	c := Default()
	data, err := io.ReadAll(r)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Default(), friendlyYAMLError(err, fieldLines(data))
	}
	for i := range c.Peers {
		if q := &c.Peers[i].Queues; !q.All && q.Names == nil {
			*q = AllQueues // omitted or null: every queue
		}
	}
	return c, nil
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found in type config\.(\w+)`)
	badDuration  = regexp.MustCompile("cannot unmarshal !!\\w+ (`[^`]*`) into time\\.Duration")
	badType      = regexp.MustCompile("cannot unmarshal !!(\\w+) (?:(`[^`]*`) )?into (\\S+)")
	lineNumber   = regexp.MustCompile(`^line (\d+): `)
)

// sections names a struct type of this package as it appears in the file.
var sections = map[string]string{
	"Config": "at the top level", "AMI": "in ami", "Database": "in database",
	"TLS": "in tls", "Peer": "in a peers entry",
}

// wants says, for a Go type of the config, what the file must hold there.
var wants = map[string]string{
	"config.Config":   "fields like node:, ami: and peers: (a mapping)",
	"config.AMI":      "the fields address:, username: and secret_file: (a mapping)",
	"config.Database": "the fields url: and password_file: (a mapping)",
	"config.TLS":      "the fields cert_file:, key_file: and client_ca_file: (a mapping)",
	"config.Peer":     "the fields name:, url:, secret_file: and queues: (a mapping)",
	"[]config.Peer":   "a list of peers, each with name:, url:, secret_file: and queues:",
	"string":          "a single value",
	"[]string":        "a list",
}

// yamlKinds names YAML's node tags as an operator reads them.
var yamlKinds = map[string]string{"seq": "a list", "map": "a mapping", "int": "a number", "str": "text", "bool": "true or false", "float": "a number", "null": "nothing"}

// yamlError rewords yaml.v3's type errors for an operator.
type yamlError struct {
	msg string
	err error
}

func (e *yamlError) Error() string { return e.msg }
func (e *yamlError) Unwrap() error { return e.err }

// friendlyYAMLError rewrites every problem yaml.v3 found into operator
// language, naming the field of each line (from lines): "field x not found
// in type config.AMI" becomes `unknown field "x" in ami`, "cannot
// unmarshal !!int `2` into time.Duration" becomes "health_interval: `2` is
// not a duration; ...". The original stays in the chain.
func friendlyYAMLError(err error, lines map[int]string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	out := make([]string, len(te.Errors))
	for i, l := range te.Errors {
		l = unknownField.ReplaceAllStringFunc(l, func(m string) string {
			sub := unknownField.FindStringSubmatch(m)
			return fmt.Sprintf("unknown field %q %s (check its spelling and indentation)", sub[1], sections[sub[2]])
		})
		l = badDuration.ReplaceAllString(l, "$1 is not a duration; write it with a unit, like 60s, 1m or 720h")
		l = badType.ReplaceAllStringFunc(l, func(m string) string {
			sub := badType.FindStringSubmatch(m)
			want, ok := wants[sub[3]]
			if !ok {
				want = "another kind of value"
			}
			got := yamlKinds[sub[1]]
			if sub[2] != "" {
				got += " " + sub[2]
			}
			return fmt.Sprintf("%s is not what belongs here: want %s", got, want)
		})
		if m := lineNumber.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if f := lines[n]; f != "" && !strings.Contains(l, "unknown field") {
				l = m[0] + f + ": " + l[len(m[0]):]
			}
		}
		out[i] = l
	}
	return &yamlError{msg: strings.Join(out, "\n"), err: err}
}

// fieldLines maps each line of a YAML document that holds a value to the
// field it sets, as written in the file (health_interval, peers[0].url).
func fieldLines(data []byte) map[int]string {
	var doc yaml.Node
	out := map[int]string{}
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if path != "" && out[n.Line] == "" {
			out[n.Line] = path
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if path != "" {
					k = path + "." + k
				}
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(doc.Content[0], "")
	return out
}
