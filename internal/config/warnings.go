package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Warnings returns what is valid but unwise in the configuration, one
// sentence each: two peers sharing a secret file (either could then pass
// for the other), a peer reached over plain http:// on a host that is not
// this one, and a database password written in database.url instead of
// database.password_file. Values are never quoted when they may hold a
// secret.
func (c Config) Warnings() []string {
	var out []string
	files := map[string]string{}
	for i, p := range c.Peers {
		if p.SecretFile != "" {
			abs, err := filepath.Abs(p.SecretFile)
			if err != nil {
				abs = p.SecretFile
			}
			if other, dup := files[abs]; dup {
				out = append(out, fmt.Sprintf("peers[%d].secret_file: %s is also the secret file of %s; give each peer a secret of its own, or one peer can pass for the other", i, p.SecretFile, other))
			} else {
				files[abs] = p.Name
			}
		}
		if u, err := url.Parse(p.URL); err == nil && u.Scheme == "http" && !loopback(u.Hostname()) {
			out = append(out, fmt.Sprintf("peers[%d].url: %s is plain http to another host: requests and answers are signed but readable on the network; serve the peer API over https (tls: in its config)", i, u.Scheme+"://"+u.Host))
		}
	}
	if HasPassword(c.Database.URL) {
		out = append(out, "database.url: holds a password; put it in database.password_file (chmod 600) instead")
	}
	return out
}

// HasPassword reports whether a database URL or DSN holds a password.
func HasPassword(dbURL string) bool { return len(DatabaseSecrets(dbURL)) > 0 }

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
