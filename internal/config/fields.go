package config

import (
	"strconv"
	"strings"
	"time"
)

// FieldDoc documents one field of the config file: the man page
// queuesync.yaml(5) and the help texts are generated from Fields.
type FieldDoc struct {
	// Key is the field as written in the file: ami.address, peers[].url.
	Key string
	// Env is the QUEUESYNC_* variable that overrides it, or "".
	Env string
	// Default is the value used when the file and environment are silent,
	// or "" when there is none.
	Default string
	// Doc says what the field is, in one or two sentences.
	Doc string
}

// fieldDocs holds what Fields cannot derive from the code: the prose.
var fieldDocs = []struct{ key, doc string }{
	{"node", "This node's name, as its peers know it: letters, digits, '_', '.' and '-'. Default: the host name."},
	{"ami.address", "HOST:PORT of the local Asterisk manager interface."},
	{"ami.username", "The manager.conf user; it needs read = agent and write = agent only."},
	{"ami.secret_file", "A file holding that user's secret (mode 0600, owned by queuesync)."},
	{"ami.user_events", "true to announce a peer going down or coming back, a drift found and its repair as AMI UserEvents (QueuesyncPeerDown, QueuesyncPeerUp, QueuesyncDrift, QueuesyncRepaired); the user then needs write = agent,user."},
	{"database.url", "The journal's PostgreSQL, as postgres://USER@HOST:PORT/DBNAME, postgres:///DBNAME?host=/var/run/postgresql for the Unix socket, or host=... dbname=...; the PG* variables of libpq (PGHOST, PGUSER, PGDATABASE, ...) fill what it leaves out."},
	{"database.password_file", "A file holding the database password; it overrides a password in the URL. Optional: peer authentication over the Unix socket needs none."},
	{"listen", "HOST:PORT the peer API listens on; every peer must reach it."},
	{"metrics_listen", "HOST:PORT of the Prometheus metrics (GET /metrics); empty disables them."},
	{"metrics_pprof", "true also serves Go's profiler on metrics_listen (GET /debug/pprof/), to see where the daemon spends CPU or memory; off by default. Whoever reaches metrics_listen can then read profiles and stack traces: keep it on a loopback address while it is on."},
	{"tls.cert_file", "The peer API's TLS certificate (PEM); with tls.key_file, the API is served over HTTPS."},
	{"tls.key_file", "The certificate's private key (PEM, mode 0600)."},
	{"tls.client_ca_file", "A CA (PEM) that signs the peers' certificates; when set, peers must present one."},
	{"peers", "The nodes this node syncs with: a list of entries with the four fields below. Peers are set in the file only."},
	{"peers[].name", "The peer's node name (its node:)."},
	{"peers[].url", "The peer API's base URL, http://HOST:PORT or https://HOST:PORT."},
	{"peers[].secret_file", "A file holding the secret shared with this peer: the same bytes on both nodes (mode 0600)."},
	{"peers[].queues", "The queues shared with this peer: all (every queue both nodes define; the default) or a list, like [support, sales]."},
	{"log_file", "The sync log: one line per change pushed, applied, stale or failed, and per resync; - for none. Its directory must exist."},
	{"health_interval", "How often each peer's health is checked; a peer that answers again gets its backlog and a resync at once."},
	{"max_clock_skew", "How far in the future a peer's stamp may be; a stamp further ahead is refused (check NTP)."},
	{"tombstone_ttl", "How long removals (tombstones) are remembered."},
	{"shutdown_timeout", "How long a stopping daemon lets the peer API's requests in flight finish (a delivery in flight gets one health_interval more: a peer that does not answer is sent it again after the restart)."},
	{"history_retention", "How long the history of changes (queuesync history, the status page) is kept."},
	{"history_max_rows", "The most changes the history keeps; the oldest are collected first. 0: no cap. Default: 1000000."},
	{"web_listen", "HOST:PORT of the read-only status page (GET /, and /api/v1/queues for wallboards); empty (the default) disables it. It is served over HTTPS with the tls: certificate when one is set. Prefer a loopback address or a management network. A change needs a restart of the daemon."},
	{"web_password_file", "A file holding the password the status page asks for (HTTP basic authentication, any user name; mode 0600). Empty: no password. Read when the daemon starts."},
	{"local_pause_reasons", "Pause reasons that stay on this node, like [Auto-Pause] for Asterisk's automatic pauses: such a pause is neither replicated to the peers nor undone by them. Empty (the default): every pause is replicated."},
}

// Fields documents every field of the config file, in the file's order,
// with its variable and default.
func Fields() []FieldDoc {
	def := Default()
	env := map[string]envField{}
	for _, f := range def.envFields() {
		env[f.key] = f
	}
	out := make([]FieldDoc, 0, len(fieldDocs))
	for _, fd := range fieldDocs {
		doc := FieldDoc{Key: fd.key, Doc: fd.doc}
		if f, ok := env[fd.key]; ok {
			doc.Env = f.name
			switch {
			case fd.key == "node":
				doc.Default = "the host name"
			case f.str != nil:
				doc.Default = *f.str
			case f.flag != nil:
				doc.Default = strconv.FormatBool(*f.flag)
			default:
				doc.Default = formatDuration(*f.dur)
			}
		}
		if fd.key == "peers[].queues" {
			doc.Default = "all"
		}
		out = append(out, doc)
	}
	return out
}

// formatDuration writes d as a config file would: 2s, 1m, 720h.
func formatDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"0s", "0m"} {
		if strings.HasSuffix(s, "m"+z) || strings.HasSuffix(s, "h"+z) {
			s = strings.TrimSuffix(s, z)
		}
	}
	return s
}
