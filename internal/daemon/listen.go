package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/queuesync/queuesync/internal/config"
	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
)

// listen binds the peer API (with TLS when configured) and the metrics
// endpoint.
func (d *Daemon) listen() error {
	cfg := d.cfg()
	ln, err := listenTLS(cfg.Listen, "listen", cfg.TLS, false)
	if err != nil {
		return err
	}
	d.ln = ln
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serveHTTP), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: peer.MaxHeaderBytes}
	if cfg.MetricsListen == "" {
		return nil
	}
	mln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen on %s (metrics_listen:): %w", cfg.MetricsListen, err)
	}
	d.mln = mln
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics.handler())
	if cfg.MetricsPprof {
		servePprof(mux)
	}
	// Scrapers keep connections alive; an idle one is closed after a
	// minute instead of being held forever.
	d.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	return nil
}

// listenTLS binds addr, the value of the config key key, with the node's
// TLS certificate when t configures one. forBrowsers asks no client for a
// certificate: a browser has none to give.
func listenTLS(addr, key string, t config.TLS, forBrowsers bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s:): %w", addr, key, err)
	}
	tc, err := node.ServerTLS(t)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if tc == nil {
		return ln, nil
	}
	if forBrowsers {
		tc = tc.Clone()
		tc.ClientAuth, tc.ClientCAs = tls.NoClientCert, nil
	}
	return tls.NewListener(ln, tc), nil
}
