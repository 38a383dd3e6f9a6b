package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
	"github.com/queuesync/queuesync/internal/state"
)

// Peer is a configured peer as every part of a node sees it: the engine's
// view of it (name, signed client, shared queues), its health check, and
// where it stands in the config. When its client could not be built (an
// unreadable secret file, a bad URL), Err says why and the rest is empty.
type Peer struct {
	engine.Peer
	Conf  config.Peer
	Index int // position in peers:, for messages naming peers[i]
	Err   error

	client *peer.Client
}

// Health asks the peer for its health.
func (p Peer) Health(ctx context.Context) (peer.Health, error) {
	if p.Err != nil {
		return peer.Health{}, p.Err
	}
	return p.client.Health(ctx)
}

// NewPeers builds a signed client for every configured peer. Every client
// merges the peer's hybrid clock into clock and refuses far-future stamps
// in its answers (docs/architecture.md §2); log (nil: none) gets each
// request at debug level.
func NewPeers(cfg config.Config, clock *state.Clock, now func() time.Time, log *slog.Logger) []Peer {
	hc, hcErr := HTTPClient(cfg.TLS)
	out := make([]Peer, 0, len(cfg.Peers))
	for i, pc := range cfg.Peers {
		p := Peer{Conf: pc, Index: i, Err: hcErr}
		if hcErr == nil {
			p.client, p.Err = newClient(cfg.Node, pc, hc, clock, now, log)
		}
		if p.Err == nil {
			p.Peer = engine.Peer{Name: pc.Name, Client: p.client, Shares: pc.Shares}
		}
		out = append(out, p)
	}
	return out
}

func newClient(node string, pc config.Peer, hc *http.Client, clock *state.Clock, now func() time.Time, log *slog.Logger) (*peer.Client, error) {
	secret, err := config.ReadSecret(pc.SecretFile)
	if err != nil {
		return nil, err
	}
	grant := Grant(pc)
	cl, err := peer.NewClient(peer.ClientOptions{Name: pc.Name, URL: pc.URL, Node: node, Secret: secret, HTTP: hc, Now: now, Clock: clock,
		Grant: &grant, Log: log})
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", pc.Name, err)
	}
	return cl, nil
}

// Secrets reads every peer's shared secret, by peer name, for the peer API.
func Secrets(cfg config.Config) (map[string][]byte, error) {
	secrets := make(map[string][]byte, len(cfg.Peers))
	for _, p := range cfg.Peers {
		s, err := config.ReadSecret(p.SecretFile)
		if err != nil {
			return nil, err
		}
		secrets[p.Name] = s
	}
	return secrets, nil
}

// Grant returns the queues pc may read and write through the peer API.
func Grant(pc config.Peer) peer.Grant {
	return pc.Queues
}

// Grants returns every peer's Grant, by peer name, for the peer API.
func Grants(cfg config.Config) map[string]peer.Grant {
	out := make(map[string]peer.Grant, len(cfg.Peers))
	for _, p := range cfg.Peers {
		out[p.Name] = Grant(p)
	}
	return out
}

// HTTPClient returns the HTTP client for peers: it trusts the configured
// client CA for peers served over TLS and presents our certificate.
func HTTPClient(t config.TLS) (*http.Client, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if t.ClientCAFile == "" {
		return hc, nil
	}
	pool, err := loadPool(t.ClientCAFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load tls.cert_file and tls.key_file: %w", err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	hc.Transport = tr
	return hc, nil
}

// ServerTLS builds the peer API's TLS config: cert and key, and when a
// client CA is given, peers must present a certificate it signed. It is nil
// when TLS is off.
func ServerTLS(t config.TLS) (*tls.Config, error) {
	if t.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls.cert_file and tls.key_file: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pool, err := loadPool(t.ClientCAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read tls.client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.client_ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}
