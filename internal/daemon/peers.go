package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/peer"
)

// startPeers starts one deliverer per configured peer.
func (d *Daemon) startPeers(cfg config.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	hc, err := PeerHTTPClient(cfg.TLS)
	if err != nil {
		d.opts.Log.Error("peer delivery disabled", "err", err)
		cancel()
		return
	}
	var ds []*deliverer
	for _, pc := range cfg.Peers {
		p, cl, err := NewPeer(cfg, pc, hc, d.opts.Now)
		if err != nil {
			d.opts.Log.Error("peer delivery disabled", "peer", pc.Name, "err", err)
			continue
		}
		ds = append(ds, newDeliverer(d, p, func(ctx context.Context) error { _, err := cl.Health(ctx); return err }))
	}
	d.mu.Lock()
	d.peers, d.stopPeer = ds, cancel
	d.mu.Unlock()
	for _, p := range ds {
		d.peerWG.Add(1)
		go func() { defer d.peerWG.Done(); p.run(ctx) }()
	}
}

// stopPeers stops intake of new batches and waits for batches in flight.
func (d *Daemon) stopPeers() {
	d.mu.Lock()
	stop := d.stopPeer
	d.peers, d.stopPeer = nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
	d.peerWG.Wait()
}

// wakeAll tells every deliverer that the journal has news.
func (d *Daemon) wakeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.peers {
		p.poke()
	}
}

// NewPeer builds the signed client of a configured peer.
func NewPeer(cfg config.Config, pc config.Peer, hc *http.Client, now func() time.Time) (engine.Peer, *peer.Client, error) {
	secret, err := config.ReadSecret(pc.SecretFile)
	if err != nil {
		return engine.Peer{}, nil, err
	}
	cl, err := peer.NewClient(peer.ClientOptions{Name: pc.Name, URL: pc.URL, Node: cfg.Node, Secret: secret, HTTP: hc, Now: now})
	if err != nil {
		return engine.Peer{}, nil, fmt.Errorf("peer %s: %w", pc.Name, err)
	}
	return engine.Peer{Name: pc.Name, Client: cl, Shares: pc.Shares}, cl, nil
}

// PeerHTTPClient returns the HTTP client for peers: it trusts the configured
// client CA for peers served over TLS and presents our certificate.
func PeerHTTPClient(t config.TLS) (*http.Client, error) {
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
