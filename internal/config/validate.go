package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// validator collects the problems of a configuration.
type validator struct{ errs []error }

func (v *validator) add(e *ConfigValidationError) { v.errs = append(v.errs, e) }

// Validate checks the whole configuration and returns every problem found,
// joined (errors.Join), each a *ConfigValidationError naming the field and
// the fix. It reads (but never reveals) the secret files to check that they
// exist, are readable and non-empty, and are not open to every user.
func (c Config) Validate() error {
	var v validator
	v.name("node", c.Node, "set node: to this node's name, e.g. sop1")
	v.ami(c.AMI)
	v.database(c.Database)
	v.address("listen", c.Listen, true)
	if c.MetricsListen != "" {
		v.address("metrics_listen", c.MetricsListen, false)
		if c.MetricsListen == c.Listen {
			v.add(invalid("metrics_listen", c.MetricsListen, ErrDuplicate, "listen serves the peer API there; pick another port"))
		}
	} else if c.MetricsPprof {
		v.add(invalid("metrics_listen", "", ErrRequired, "metrics_pprof serves the profiler there: set it, e.g. 127.0.0.1:9838, or remove metrics_pprof"))
	}
	v.tls(c.TLS)
	v.peers(c.Node, c.Peers)
	if c.LogFile == "" {
		v.add(invalid("log_file", "", ErrRequired, "set it to the sync log's path, e.g. /var/log/queue_sync.log"))
	}
	v.duration("health_interval", c.HealthInterval)
	v.duration("max_clock_skew", c.MaxClockSkew)
	v.duration("tombstone_ttl", c.TombstoneTTL)
	v.duration("shutdown_timeout", c.ShutdownTimeout)
	v.duration("history_retention", c.HistoryRetention)
	v.web(c)
	v.pauseReasons(c.LocalPauseReasons)
	return errors.Join(v.errs...)
}

func (v *validator) name(field, name, hint string) {
	switch {
	case name == "":
		v.add(invalid(field, "", ErrRequired, hint))
	case !validName.MatchString(name):
		v.add(invalid(field, name, ErrBadName, "use only letters, digits, '_', '.' and '-'"))
	}
}

func (v *validator) ami(a AMI) {
	v.address("ami.address", a.Address, false)
	if a.Username == "" {
		v.add(invalid("ami.username", "", ErrRequired, "set it to the manager.conf user (read=agent, write=agent)"))
	}
	v.secretFile("ami.secret_file", a.SecretFile, "the AMI user's secret", true)
}

func (v *validator) database(d Database) {
	if d.URL != "" && !validDatabaseURL(d.URL) {
		v.add(invalid("database.url", RedactURL(d.URL), ErrBadDatabaseURL,
			"write it as postgres://USER@HOST:5432/DBNAME or host=HOST dbname=DBNAME"))
	}
	v.secretFile("database.password_file", d.PasswordFile, "the database password", false)
}

func validDatabaseURL(s string) bool {
	if !strings.Contains(s, "://") {
		return strings.Contains(s, "=")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}

// address checks host:port; a listen address may leave the host empty
// (every interface) and use port 0 (any free port).
func (v *validator) address(field, addr string, listen bool) {
	example := "127.0.0.1:5038"
	if listen {
		example = "0.0.0.0:8038"
	}
	if addr == "" {
		v.add(invalid(field, "", ErrRequired, "write it as HOST:PORT, e.g. "+example))
		return
	}
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil, perr != nil, n < 0, n > 65535, n == 0 && !listen, host == "" && !listen:
		v.add(invalid(field, addr, ErrBadAddress, "write it as HOST:PORT, e.g. "+example))
	}
}

func (v *validator) duration(field string, d time.Duration) {
	if d <= 0 {
		v.add(invalid(field, d.String(), ErrBadDuration, "write it like 2s, 1m or 720h"))
	}
}

func (v *validator) tls(t TLS) {
	if t.ClientCAFile != "" && t.CertFile == "" && t.KeyFile == "" {
		v.add(invalid("tls.client_ca_file", t.ClientCAFile, ErrNoServerCert,
			"peers' certificates are checked only over TLS, but the peer API serves plain HTTP: set tls.cert_file and tls.key_file, or remove tls.client_ca_file"))
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.add(invalid("tls.key_file", "", ErrRequired, "tls.cert_file is set: give its private key too, or remove tls.cert_file"))
	case t.KeyFile != "" && t.CertFile == "":
		v.add(invalid("tls.cert_file", "", ErrRequired, "tls.key_file is set: give its certificate too, or remove tls.key_file"))
	}
	v.plainFile("tls.cert_file", t.CertFile)
	v.secretFile("tls.key_file", t.KeyFile, "the certificate's private key", false)
	v.plainFile("tls.client_ca_file", t.ClientCAFile)
}

func (v *validator) peers(node string, ps []Peer) {
	seen := map[string]int{}
	for i, p := range ps {
		f := fmt.Sprintf("peers[%d].", i)
		v.name(f+"name", p.Name, "set it to the peer's node name")
		if j, dup := seen[strings.ToLower(p.Name)]; dup && p.Name != "" {
			v.add(invalid(f+"name", p.Name, ErrDuplicate, fmt.Sprintf("peers[%d] has the same name; list each peer once", j)))
		} else {
			seen[strings.ToLower(p.Name)] = i
		}
		if p.Name != "" && strings.EqualFold(p.Name, node) {
			v.add(invalid(f+"name", p.Name, ErrSelfPeer, "a node does not sync with itself; remove this entry or fix node:"))
		}
		v.peerURL(f+"url", p.URL)
		v.secretFile(f+"secret_file", p.SecretFile, "the secret shared with "+p.Name, true)
		v.secretLength(f+"secret_file", p.SecretFile)
		v.queues(f+"queues", p.Queues)
	}
}

func (v *validator) peerURL(field, s string) {
	if s == "" {
		v.add(invalid(field, "", ErrRequired, "write the peer API's URL, e.g. http://10.0.0.2:8038"))
		return
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		// Never echo the URL: it holds a password.
		v.add(invalid(field, u.Scheme+"://"+u.Host, ErrURLCredentials,
			"remove the user:password@ part; peers authenticate with the secret in secret_file"))
		return
	}
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return
	}
	if i := strings.Index(s, "://"); i >= 0 && strings.Contains(strings.SplitN(s[i+3:], "/", 2)[0], "@") {
		v.add(invalid(field, s[:i+3]+"…", ErrURLCredentials,
			"remove the user:password@ part; peers authenticate with the secret in secret_file"))
		return
	}
	hint := "write it as http://HOST:PORT or https://HOST:PORT"
	if !strings.Contains(s, "://") {
		hint = "write it as http://" + s
	}
	v.add(invalid(field, s, ErrNotHTTPURL, hint))
}

func (v *validator) queues(field string, q Queues) {
	if q.All {
		return
	}
	if len(q.Names) == 0 {
		v.add(invalid(field, "", ErrBadQueues, "write queues: all, or list the shared queues, e.g. [support, sales]"))
		return
	}
	for i, n := range q.Names {
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, "\r\n\x00") {
			v.add(invalid(fmt.Sprintf("%s[%d]", field, i), n, ErrBadQueues, "write the queue's name as in queues.conf"))
		}
	}
}

// MinPeerSecret is the shortest shared secret a peer may have, in bytes.
const MinPeerSecret = 16

// secretLength checks that a readable peer secret is at least MinPeerSecret
// bytes long (secretFile reports a file that cannot be read).
func (v *validator) secretLength(field, path string) {
	if path == "" {
		return
	}
	b, err := ReadSecret(path)
	if err == nil && len(b) < MinPeerSecret {
		v.add(invalid(field, path, ErrSecretTooShort, fmt.Sprintf(
			"it holds %d bytes, want at least %d: write a random one, e.g. openssl rand -hex 32 > %s, on both nodes", len(b), MinPeerSecret, path)))
	}
}

// secretFile checks a file holding a secret: it must exist, be readable
// and non-empty, and not be open to every user. An empty path is an error
// only when required.
func (v *validator) secretFile(field, path, what string, required bool) {
	if path == "" {
		if required {
			v.add(invalid(field, "", ErrRequired, "give the path of a file holding "+what+" (chmod 600)"))
		}
		return
	}
	fi, ok := v.statFile(field, path, what, true)
	if !ok {
		return
	}
	if _, err := ReadSecret(path); err != nil {
		v.add(fileProblem(field, path, what, true, err))
		return
	}
	if perm := fi.Mode().Perm(); perm&0o006 != 0 {
		err := fmt.Errorf("%w (mode %#o); run chmod 600 %s", ErrFileInsecure, perm, path)
		v.add(&ConfigValidationError{Field: field, Value: path, Err: err})
	}
}

// plainFile checks a file that is not secret (a certificate): it must
// exist and be readable and non-empty.
func (v *validator) plainFile(field, path string) {
	const what = "the PEM data"
	if path == "" {
		return
	}
	if _, ok := v.statFile(field, path, what, false); !ok {
		return
	}
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		v.add(fileProblem(field, path, what, false, err))
	case len(b) == 0:
		v.add(invalid(field, path, ErrFileEmpty, "write "+what+" into it"))
	}
}

// statFile returns the FileInfo of path when it is an existing regular
// file, else adds the problem.
func (v *validator) statFile(field, path, what string, secret bool) (fs.FileInfo, bool) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		v.add(fileProblem(field, path, what, secret, err))
		return nil, false
	case fi.IsDir():
		v.add(invalid(field, path, ErrFileUnreadable, "it is a directory; give the path of the file holding "+what))
		return nil, false
	}
	return fi, true
}

// fileProblem turns a stat or read error into advice.
func fileProblem(field, path, what string, secret bool, err error) *ConfigValidationError {
	mode := ""
	if secret {
		mode = " and chmod 600 it"
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return invalid(field, path, ErrFileMissing, "create it holding "+what+mode+", or fix the path")
	case errors.Is(err, ErrEmptySecret):
		return invalid(field, path, ErrFileEmpty, "write "+what+" into it")
	case errors.Is(err, fs.ErrPermission):
		if owner := fileOwner(path); owner != "" && owner != currentUser() {
			return invalid(field, path, ErrFileUnreadable, fmt.Sprintf("it is %s's: run the command as that user (sudo -u %s queuesync ...)", owner, owner))
		}
		return invalid(field, path, ErrFileUnreadable, "make it readable by the user queuesync runs as")
	}
	return &ConfigValidationError{Field: field, Value: path, Err: fmt.Errorf("%w: %w", ErrFileUnreadable, err)}
}

// web checks the status page's fields and the history cap.
func (v *validator) web(c Config) {
	if c.HistoryMaxRows < 0 {
		v.add(invalid("history_max_rows", strconv.Itoa(c.HistoryMaxRows), ErrBadNumber, "write 0 for no cap, or a positive number of rows"))
	}
	if c.WebListen == "" {
		return
	}
	v.address("web_listen", c.WebListen, false)
	if c.WebListen == c.Listen || c.WebListen == c.MetricsListen {
		v.add(invalid("web_listen", c.WebListen, ErrDuplicate, "listen and metrics_listen are served elsewhere; pick another port"))
	}
	v.secretFile("web_password_file", c.WebPasswordFile, "the status page's password", false)
}
